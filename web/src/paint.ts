/* paint.ts — fills the per-cell RGBA buffer the renderer draws from one colouring, the hidden mask and the
 * selection. One O(n) pass, into a caller-owned buffer (no allocation per repaint). */
import { VIRIDIS_LUT, categoryLut, quantiles, finiteRange } from './color';
import type { Categorical } from './data';
import type { Bitset } from './selection';

export type Source =
  | { kind: 'uniform' }
  | { kind: 'categorical'; col: Categorical; lut: Uint8Array }
  | { kind: 'continuous'; values: Float32Array; lo: number; hi: number; min: number; max: number };

const UNIFORM: [number, number, number] = [58, 87, 140];
const NAN_RGB: [number, number, number] = [190, 190, 190];
const DIM_RGB: [number, number, number] = [200, 204, 212];

export function categoricalSource(col: Categorical, uns?: Record<string, string>): Source {
  return { kind: 'categorical', col, lut: categoryLut(col.categories, uns) };
}

/** Continuous source clipped to the 1st–99th percentiles of the finite values. */
export function continuousSource(values: Float32Array): Source {
  const [lo, hi] = quantiles(values, [0.01, 0.99]);
  const [min, max] = finiteRange(values);
  return { kind: 'continuous', values, lo, hi, min, max };
}

export function paint(out: Uint8Array, n: number, src: Source, hidden: Uint8Array | null, sel: Bitset | null): void {
  const lut = src.kind === 'categorical' ? src.lut : VIRIDIS_LUT;
  let scale = 0, lo = 0;
  if (src.kind === 'continuous') {
    lo = src.lo;
    scale = src.hi > src.lo ? 255 / (src.hi - src.lo) : 0;
  }
  const words = sel ? sel.words : null;
  for (let i = 0, o = 0; i < n; i++, o += 4) {
    if (hidden && hidden[i]) { out[o + 3] = 0; continue; }
    if (words && !(words[i >>> 5] & (1 << (i & 31)))) {
      out[o] = DIM_RGB[0]; out[o + 1] = DIM_RGB[1]; out[o + 2] = DIM_RGB[2]; out[o + 3] = 140;
      continue;
    }
    out[o + 3] = 255;
    let k: number;
    if (src.kind === 'categorical') {
      k = 3 * src.col.codes[i];
    } else if (src.kind === 'continuous') {
      const v = src.values[i];
      if (v !== v) { out[o] = NAN_RGB[0]; out[o + 1] = NAN_RGB[1]; out[o + 2] = NAN_RGB[2]; continue; }
      let t = (v - lo) * scale;
      t = t < 0 ? 0 : t > 255 ? 255 : t;
      k = 3 * (t | 0);
    } else {
      out[o] = UNIFORM[0]; out[o + 1] = UNIFORM[1]; out[o + 2] = UNIFORM[2];
      continue;
    }
    out[o] = lut[k]; out[o + 1] = lut[k + 1]; out[o + 2] = lut[k + 2];
  }
}

/**
 * Draw order for a continuous colouring: cell indices sorted by colour bin, NaN first, highest values last (drawn
 * on top, so rare high expression is not buried). Counting sort over the 256 colour bins: O(n), into `order`.
 */
export function orderByValue(order: Uint32Array, src: Source & { kind: 'continuous' }): void {
  const n = src.values.length, v = src.values;
  const scale = src.hi > src.lo ? 255 / (src.hi - src.lo) : 0, lo = src.lo;
  const start = new Uint32Array(258);
  const bin = (x: number) => {
    if (x !== x) return 0;
    let t = (x - lo) * scale;
    t = t < 0 ? 0 : t > 255 ? 255 : t;
    return (t | 0) + 1;
  };
  for (let i = 0; i < n; i++) start[bin(v[i]) + 1]++;
  for (let b = 1; b < 258; b++) start[b] += start[b - 1];
  for (let i = 0; i < n; i++) order[start[bin(v[i])]++] = i;
}
