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
 * Cells whose screen position falls inside the lasso polygon (screen CSS px), skipping cells where `hidden[i]`
 * is non-zero and NaN positions. O(n) with a bounding-box reject before the polygon test.
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
  for (let i = 0; i < x.length; i++) {
    if (hidden && hidden[i]) continue;
    const sx = x[i] * map.ax + map.bx, sy = y[i] * map.ay + map.by;
    if (!(sx >= x0 && sx <= x1 && sy >= y0 && sy <= y1)) continue; // also rejects NaN
    if (insidePolygon(sx, sy, poly, m)) out.set(i);
  }
  return out;
}
