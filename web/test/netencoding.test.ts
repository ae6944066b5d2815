import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMatrix, toFloat32, colIndexNames, NetEncodingError } from '../src/wire/netencoding';
import { Builder, matrix, column, table, ref, f32vec, i32vec, f64vec, i16vec, i8vec, bytesvec } from './fbbuild';

const enc = (n: Parameters<Builder['finish']>[0]) => new Builder().finish(n);

test('float32 and int32 columns with a JSON col_index; float32 is a view of the input', () => {
  const buf = enc(matrix(3, [column(1, table(ref(f32vec([0.5, -1, 2.25])))),
                             column(2, table(ref(i32vec([7, -8, 9]))))],
                          [5, table(ref(bytesvec('["umap_0","umap_1"]')))]));
  const m = decodeMatrix(buf);
  assert.equal(m.nRows, 3);
  assert.equal(m.nCols, 2);
  const c0 = m.columns[0];
  assert.equal(c0.kind, 'float32');
  if (c0.kind !== 'float32') return;
  assert.deepEqual(Array.from(c0.data), [0.5, -1, 2.25]);
  assert.equal(c0.data.buffer, buf.buffer, 'aligned float32 vector is not copied');
  assert.deepEqual(Array.from(toFloat32(m.columns[1])), [7, -8, 9]);
  assert.deepEqual(colIndexNames(m), ['umap_0', 'umap_1']);
});

test('uint32, float64, JSON strings and an Int32 col_index', () => {
  const buf = enc(matrix(2, [column(3, table(ref(i32vec([1, 0])))), column(4, table(ref(f64vec([1e300, -0.5])))),
                             column(5, table(ref(bytesvec('["a","b\\u00e9"]'))))],
                          [2, table(ref(i32vec([4, 10, 99])))]));
  const m = decodeMatrix(buf);
  assert.equal(m.columns[0].kind, 'uint32');
  const f64 = m.columns[1];
  assert.ok(f64.kind === 'float64' && f64.data[0] === 1e300 && f64.data[1] === -0.5);
  const js = m.columns[2];
  assert.ok(js.kind === 'json');
  assert.deepEqual(js.kind === 'json' && js.data, ['a', 'bé']);
  assert.deepEqual(colIndexNames(m), ['4', '10', '99']);
});

test('v0.3 dictionary columns (8/16/32-bit) and Int16EncodedX', () => {
  const dict = '{"0":"B cell","1":"T cell"}';
  const buf = enc(matrix(4, [
    column(6, table(ref(i8vec([0, 1, 1, -1])), ref(bytesvec(dict)))),
    column(7, table(ref(i16vec([1, 1, 0, 0])), ref(bytesvec(dict)))),
    column(8, table(ref(i32vec([0, 0, 0, 1])), ref(bytesvec(dict)))),
    column(9, table(ref(i16vec([0, 250, 500, 100])), { t: 'f32', v: 10 }, { t: 'f32', v: -10 }, { t: 'i32', v: 500 })),
  ]));
  const m = decodeMatrix(buf);
  const [d8, d16, d32, x] = m.columns;
  assert.ok(d8.kind === 'dict' && d8.codes instanceof Int8Array);
  assert.deepEqual(d8.kind === 'dict' && Array.from(d8.codes), [0, 1, 1, -1]);
  assert.deepEqual(d8.kind === 'dict' && d8.dict, { 0: 'B cell', 1: 'T cell' });
  assert.ok(d16.kind === 'dict' && d16.codes instanceof Int16Array);
  assert.ok(d32.kind === 'dict' && d32.codes instanceof Int32Array);
  assert.ok(x.kind === 'int16x' && x.nbins === 500 && x.min === -10 && x.max === 10);
  const xs = Array.from(toFloat32(x)).map((v) => Math.round(v * 1000) / 1000);
  assert.deepEqual(xs, [-10, 0, 10, -6]);
});

test('an unaligned vector is copied, not viewed', () => {
  const buf = enc(matrix(2, [column(1, table(ref(f32vec([1.5, 2.5]))))]));
  const shifted = new Uint8Array(buf.length + 1);
  shifted.set(buf, 1);
  const view = shifted.subarray(1);
  const m = decodeMatrix(view);
  const c = m.columns[0];
  assert.ok(c.kind === 'float32');
  if (c.kind !== 'float32') return;
  assert.deepEqual(Array.from(c.data), [1.5, 2.5]);
  assert.notEqual(c.data.buffer, shifted.buffer);
});

test('empty matrix: no columns', () => {
  const m = decodeMatrix(enc(matrix(0, [])));
  assert.equal(m.nRows, 0);
  assert.equal(m.columns.length, 0);
  assert.equal(m.colIndex, null);
});

test('malformed buffers throw NetEncodingError, never read out of range', () => {
  const good = enc(matrix(3, [column(1, table(ref(f32vec([1, 2, 3]))))]));
  assert.throws(() => decodeMatrix(new Uint8Array(2)), NetEncodingError);
  for (let cut = 0; cut < good.length; cut++) {
    assert.throws(() => decodeMatrix(good.slice(0, cut)), NetEncodingError);
  }
  // row-count mismatch
  assert.throws(() => decodeMatrix(enc(matrix(4, [column(1, table(ref(f32vec([1, 2, 3]))))]))), /rows/);
  // unknown tag
  assert.throws(() => decodeMatrix(enc(matrix(1, [column(42, table(ref(f32vec([1]))))]))), /tag 42/);
  // a bogus root offset
  const bad = good.slice();
  new DataView(bad.buffer).setUint32(0, 0xfffffff0, true);
  assert.throws(() => decodeMatrix(bad), NetEncodingError);
  // every single-byte corruption either decodes or throws a clean error
  for (let i = 0; i < good.length; i++) {
    const c = good.slice();
    c[i] ^= 0xff;
    try { decodeMatrix(c); } catch (e) {
      assert.ok(e instanceof NetEncodingError, String(e));
    }
  }
});
