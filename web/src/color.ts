/* color.ts — palettes and colour maps. Categorical default: colour-blind-aware (Okabe–Ito first, then a
 * Tableau-style extension); continuous: viridis, sampled from matplotlib's map at 9 stops and interpolated. */

const CATEGORICAL = [
  '#0072b2', '#e69f00', '#009e73', '#d55e00', '#cc79a7', '#56b4e9', '#f0e442', '#000000',
  '#8c564b', '#7f7f7f', '#bcbd22', '#17becf', '#9467bd', '#aec7e8', '#ffbb78', '#98df8a',
  '#ff9896', '#c5b0d5', '#c49c94', '#f7b6d2', '#dbdb8d', '#9edae5', '#393b79', '#637939',
];

const VIRIDIS = ['#440154', '#472d7b', '#3b528b', '#2c728e', '#21918c', '#28ae80', '#5ec962', '#addc30', '#fde725'];

export function hexToRgb(hex: string): [number, number, number] | null {
  const m = /^#?([0-9a-f]{6})$/i.exec(hex.trim());
  if (!m) return null;
  const v = parseInt(m[1], 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

export const rgbToHex = (r: number, g: number, b: number): string =>
  '#' + ((1 << 24) | (r << 16) | (g << 8) | b).toString(16).slice(1);

/** Default colour of category i (cycles, darkening each further round so colours stay distinct-ish). */
export function categoryColor(i: number): [number, number, number] {
  const base = hexToRgb(CATEGORICAL[i % CATEGORICAL.length])!;
  const round = Math.floor(i / CATEGORICAL.length);
  const f = Math.pow(0.75, round);
  return [Math.round(base[0] * f), Math.round(base[1] * f), Math.round(base[2] * f)];
}

/** RGB table (k × 3) for categories: uns colours by label when given and valid, else the default palette. */
export function categoryLut(categories: string[], uns?: Record<string, string>): Uint8Array {
  const lut = new Uint8Array(categories.length * 3);
  categories.forEach((c, i) => {
    const rgb = (uns && uns[c] && hexToRgb(uns[c])) || categoryColor(i);
    lut.set(rgb, 3 * i);
  });
  return lut;
}

/** 256-entry RGB table of viridis. */
export const VIRIDIS_LUT: Uint8Array = (() => {
  const stops = VIRIDIS.map((h) => hexToRgb(h)!);
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (stops.length - 1);
    const k = Math.min(stops.length - 2, Math.floor(t));
    const f = t - k;
    for (let c = 0; c < 3; c++) lut[3 * i + c] = Math.round(stops[k][c] * (1 - f) + stops[k + 1][c] * f);
  }
  return lut;
})();

export const VIRIDIS_CSS = `linear-gradient(to right, ${VIRIDIS.join(', ')})`;

/** Quantiles q (0..1, ascending) of the finite values, by sorting a stride sample of at most `cap` values. */
export function quantiles(values: ArrayLike<number>, qs: number[], cap = 262144): number[] {
  const n = values.length;
  const stride = Math.max(1, Math.ceil(n / cap));
  const sample = new Float64Array(Math.ceil(n / stride));
  let m = 0;
  for (let i = 0; i < n; i += stride) {
    const v = values[i];
    if (Number.isFinite(v)) sample[m++] = v;
  }
  if (m === 0) return qs.map(() => NaN);
  const s = sample.subarray(0, m).sort();
  return qs.map((q) => {
    const pos = q * (m - 1), lo = Math.floor(pos), hi = Math.min(m - 1, lo + 1);
    return s[lo] + (s[hi] - s[lo]) * (pos - lo);
  });
}

export function finiteRange(values: ArrayLike<number>): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}
