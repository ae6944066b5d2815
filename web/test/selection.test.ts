import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bitset, insidePolygon, lassoSelect } from '../src/selection';
import { Camera } from '../src/scatter/camera';
import { quantiles, categoryLut, VIRIDIS_LUT, hexToRgb } from '../src/color';
import { paint, continuousSource } from '../src/paint';

test('bitset: set, count, complement, index filter runs', () => {
  const b = new Bitset(70);
  for (const i of [0, 1, 2, 5, 31, 32, 33, 69]) b.set(i);
  assert.equal(b.count(), 8);
  assert.deepEqual(b.toIndexFilter(), [[0, 3], 5, [31, 34], 69]);
  const c = b.not();
  assert.equal(c.count(), 62);
  assert.ok(!c.has(0) && c.has(3) && !c.has(69));
  assert.equal(c.words[2] >>> 6, 0, 'no bits past n');
});

test('point in polygon (even-odd), concave polygon', () => {
  const u = [0, 0, 10, 0, 10, 10, 6, 10, 6, 3, 4, 3, 4, 10, 0, 10]; // a "U"
  assert.ok(insidePolygon(1, 5, u, 8));
  assert.ok(!insidePolygon(5, 6, u, 8), 'the notch of the U is outside');
  assert.ok(insidePolygon(5, 1, u, 8));
  assert.ok(!insidePolygon(11, 5, u, 8));
});

test('camera: screen map and zoom about a fixed point', () => {
  const cam = new Camera();
  cam.resize(800, 400);
  const m = cam.screenMap({ ax: 0, bx: 0, ay: 0, by: 0 });
  assert.equal(0.5 * m.ax + m.bx, 400, 'centre of data at centre of screen');
  assert.equal(0.5 * m.ay + m.by, 200);
  const dx = cam.toDataX(100), dy = cam.toDataY(50);
  cam.zoomAt(100, 50, 3);
  assert.ok(Math.abs(cam.toDataX(100) - dx) < 1e-12 && Math.abs(cam.toDataY(50) - dy) < 1e-12);
  cam.pan(10, -5);
  assert.ok(Math.abs(cam.toDataX(110) - dx) < 1e-12 && Math.abs(cam.toDataY(45) - dy) < 1e-12);
  const xf = new Float32Array(4);
  cam.fit();
  cam.clip(xf);
  assert.ok(Math.abs(0.5 * xf[0] + xf[2]) < 1e-6 && Math.abs(0.5 * xf[1] + xf[3]) < 1e-6, 'data centre at clip 0');
});

test('lasso selects exactly the cells inside, skipping hidden and NaN', () => {
  const x = new Float32Array([0.1, 0.5, 0.52, 0.9, NaN, 0.5]);
  const y = new Float32Array([0.1, 0.5, 0.48, 0.9, 0.5, 0.5]);
  const cam = new Camera();
  cam.resize(100, 100);
  const map = cam.screenMap({ ax: 0, bx: 0, ay: 0, by: 0 });
  const poly = [40, 40, 60, 40, 60, 60, 40, 60];
  const hidden = new Uint8Array([0, 0, 0, 0, 0, 1]);
  const sel = lassoSelect(x, y, map, poly, 4, hidden);
  assert.deepEqual(sel.toIndexFilter(), [[1, 3]]);
});

test('quantiles and the 1–99 % clip', () => {
  const v = Float32Array.from({ length: 1001 }, (_, i) => i);
  v[7] = NaN;
  const [lo, mid, hi] = quantiles(v, [0.01, 0.5, 0.99]);
  assert.ok(Math.abs(lo - 10) <= 1.01 && Math.abs(mid - 500) <= 1.01 && Math.abs(hi - 990) <= 1.01, `${lo} ${mid} ${hi}`);
  const src = continuousSource(v);
  assert.ok(src.kind === 'continuous' && src.min === 0 && src.max === 1000);
  const out = new Uint8Array(v.length * 4);
  paint(out, v.length, src, null, null);
  assert.deepEqual(Array.from(out.subarray(0, 3)), Array.from(VIRIDIS_LUT.subarray(0, 3)), 'below p1 → first colour');
  assert.deepEqual(Array.from(out.subarray(4000, 4003)), Array.from(VIRIDIS_LUT.subarray(765, 768)), 'above p99 → last colour');
  assert.deepEqual(Array.from(out.subarray(28, 31)), [190, 190, 190], 'NaN is grey');
});

test('category colours: uns colours by label, palette otherwise; hidden and dimmed cells', () => {
  const lut = categoryLut(['a', 'b'], { b: '#102030', a: 'not-a-colour' });
  assert.deepEqual(Array.from(lut.subarray(3, 6)), [16, 32, 48]);
  assert.deepEqual(Array.from(lut.subarray(0, 3)), hexToRgb('#0072b2'));
  const col = { kind: 'categorical' as const, name: 'c', categories: ['a', 'b'], codes: new Uint16Array([0, 1, 1]),
                counts: new Uint32Array([1, 2]) };
  const out = new Uint8Array(12);
  const sel = new Bitset(3);
  sel.set(2);
  paint(out, 3, { kind: 'categorical', col, lut }, new Uint8Array([1, 0, 0]), sel);
  assert.equal(out[3], 0, 'hidden');
  assert.ok(out[7] > 0 && out[7] < 255, 'unselected is dimmed');
  assert.deepEqual(Array.from(out.subarray(8, 12)), [16, 32, 48, 255]);
});

test('rasterised lasso agrees with the exact polygon test at pixel centres', () => {
  // a star-shaped, self-intersecting-free concave polygon
  const m = 24, poly: number[] = [];
  for (let k = 0; k < m; k++) {
    const a = (2 * Math.PI * k) / m, r = k % 2 ? 20 : 45;
    poly.push(60.3 + r * Math.cos(a), 55.7 + r * Math.sin(a));
  }
  const xs: number[] = [], ys: number[] = [];
  for (let py = 0; py < 120; py++) for (let px = 0; px < 130; px++) { xs.push(px + 0.5); ys.push(py + 0.5); }
  const sel = lassoSelect(Float32Array.from(xs), Float32Array.from(ys), { ax: 1, bx: 0, ay: 1, by: 0 }, poly, m, null);
  let inside = 0;
  for (let i = 0; i < xs.length; i++) {
    const exact = insidePolygon(xs[i], ys[i], poly, m);
    assert.equal(sel.has(i), exact, `pixel ${xs[i]},${ys[i]}`);
    inside += exact ? 1 : 0;
  }
  assert.equal(sel.count(), inside);
  assert.ok(inside > 2000);
});

test('draw order by value: NaN first, ascending bins, a permutation', async () => {
  const { orderByValue } = await import('../src/paint');
  const v = new Float32Array([5, NaN, 1, 3, 100, -7, 3]);
  const src = continuousSource(v);
  assert.ok(src.kind === 'continuous');
  if (src.kind !== 'continuous') return;
  const order = new Uint32Array(v.length);
  orderByValue(order, src);
  assert.equal(order[0], 1, 'NaN first');
  assert.deepEqual([...order].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6]);
  const vals = Array.from(order.subarray(1), (i) => v[i]);
  for (let k = 1; k < vals.length; k++) assert.ok(Math.min(vals[k], src.hi) >= Math.min(vals[k - 1], src.hi) - 1e-9 || vals[k - 1] <= src.lo);
});
