/* selection.ts — cell sets as bitsets, lasso hit-testing in screen space, and the cellxgene index filter form. */

export class Bitset {
  readonly words: Uint32Array;
  constructor(readonly n: number, words?: Uint32Array) {
    this.words = words ?? new Uint32Array((n + 31) >>> 5);
  }
  set(i: number): void { this.words[i >>> 5] |= 1 << (i & 31); }
  has(i: number): boolean { return (this.words[i >>> 5] & (1 << (i & 31))) !== 0; }
  count(): number {
    let c = 0;
    for (let w = 0; w < this.words.length; w++) {
      let v = this.words[w];
      v = v - ((v >>> 1) & 0x55555555);
      v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
      c += (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
    }
    return c;
  }
  /** The complement over [0, n). */
  not(): Bitset {
    const out = new Bitset(this.n);
    for (let w = 0; w < this.words.length; w++) out.words[w] = ~this.words[w];
    const tail = this.n & 31;
    if (tail) out.words[out.words.length - 1] &= (1 << tail) - 1;
    return out;
  }
  /** cellxgene index filter: single indices and half-open [start, end) runs, ascending. */
  toIndexFilter(): (number | [number, number])[] {
    const out: (number | [number, number])[] = [];
    let i = 0;
    while (i < this.n) {
      if (!this.has(i)) { i++; continue; }
      let j = i + 1;
      while (j < this.n && this.has(j)) j++;
      out.push(j - i === 1 ? i : [i, j]);
      i = j;
    }
    return out;
  }
}

/** Even–odd point-in-polygon; poly is [x0,y0,x1,y1,...] with `m` vertices. */
export function insidePolygon(px: number, py: number, poly: ArrayLike<number>, m: number): boolean {
  let inside = false;
  for (let i = 0, j = m - 1; i < m; j = i++) {
    const xi = poly[2 * i], yi = poly[2 * i + 1], xj = poly[2 * j], yj = poly[2 * j + 1];
    if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Maps data coordinates to screen (CSS px): sx = x·ax + bx, sy = y·ay + by (an axis-aligned affine camera). */
export interface ScreenMap { ax: number; bx: number; ay: number; by: number }

/**
 * Even–odd scanline fill of the polygon over the integer pixel grid of its bounding box: mask[(py−y0)·w + px−x0]
 * is 1 when the pixel centre (px + ½, py + ½) is inside. Cost O(h·m + w·h), independent of the number of cells.
 */
export function rasterizePolygon(poly: ArrayLike<number>, m: number, x0: number, y0: number, w: number, h: number): Uint8Array {
  const mask = new Uint8Array(w * h);
  const xs = new Float64Array(m);
  for (let row = 0; row < h; row++) {
    const py = y0 + row + 0.5;
    let k = 0;
    for (let i = 0, j = m - 1; i < m; j = i++) {
      const yi = poly[2 * i + 1], yj = poly[2 * j + 1];
      if (yi > py !== yj > py) xs[k++] = ((poly[2 * j] - poly[2 * i]) * (py - yi)) / (yj - yi) + poly[2 * i];
    }
    const cut = xs.subarray(0, k).sort();
    for (let c = 0; c + 1 < k; c += 2) {
      // pixels whose centre lies in [cut[c], cut[c+1])
      const a = Math.max(0, Math.ceil(cut[c] - 0.5 - x0)), b = Math.min(w, Math.ceil(cut[c + 1] - 0.5 - x0));
      if (b > a) mask.fill(1, row * w + a, row * w + b);
    }
  }
  return mask;
}

/**
 * Cells whose screen position falls inside the lasso polygon (screen CSS px), skipping cells where `hidden[i]`
 * is non-zero and NaN positions. The polygon is rasterised once (pixel precision: what the user drew on
 * screen), then each cell is one bounds check and one mask lookup, O(n).
 */
export function lassoSelect(x: Float32Array, y: Float32Array, map: ScreenMap, poly: ArrayLike<number>, m: number,
                            hidden: Uint8Array | null): Bitset {
  const out = new Bitset(x.length);
  if (m < 3) return out;
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let k = 0; k < m; k++) {
    const px = poly[2 * k], py = poly[2 * k + 1];
    if (px < x0) x0 = px; if (px > x1) x1 = px;
    if (py < y0) y0 = py; if (py > y1) y1 = py;
  }
  x0 = Math.floor(x0); y0 = Math.floor(y0);
  const w = Math.ceil(x1) - x0 + 1, h = Math.ceil(y1) - y0 + 1;
  if (!(w > 0 && h > 0 && w * h <= 1 << 26)) return out;
  const mask = rasterizePolygon(poly, m, x0, y0, w, h);
  const ax = map.ax, bx = map.bx - x0, ay = map.ay, by = map.by - y0, words = out.words;
  for (let i = 0; i < x.length; i++) {
    const sx = x[i] * ax + bx, sy = y[i] * ay + by;
    if (!(sx >= 0 && sx < w && sy >= 0 && sy < h)) continue; // also rejects NaN
    if (mask[(sy | 0) * w + (sx | 0)] && !(hidden && hidden[i])) words[i >>> 5] |= 1 << (i & 31);
  }
  return out;
}
