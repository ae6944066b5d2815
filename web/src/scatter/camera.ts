/* camera.ts — a 2-D orthographic camera over normalised embedding coordinates ([0,1]², y up).
 *
 * At zoom 1 the unit square fills the shorter side of the viewport with a margin; `center` is the data point at
 * the viewport centre. Screen coordinates are CSS pixels from the top-left. Every mapping is affine per axis:
 *   sx = (x − cx)·k + w/2,   sy = h/2 − (y − cy)·k,   k = zoom · FIT · min(w, h)
 */
import type { ScreenMap } from '../selection';

const FIT = 0.92;
export const MIN_ZOOM = 0.25, MAX_ZOOM = 400;

export class Camera {
  cx = 0.5;
  cy = 0.5;
  zoom = 1;
  w = 1;
  h = 1;

  resize(w: number, h: number): void { this.w = Math.max(1, w); this.h = Math.max(1, h); }
  fit(): void { this.cx = 0.5; this.cy = 0.5; this.zoom = 1; }
  /** Pixels per data unit. */
  k(): number { return this.zoom * FIT * Math.min(this.w, this.h); }

  screenMap(out: ScreenMap): ScreenMap {
    const k = this.k();
    out.ax = k; out.bx = this.w / 2 - this.cx * k;
    out.ay = -k; out.by = this.h / 2 + this.cy * k;
    return out;
  }
  /** Writes clip-space scale and offset (clip = data·scale + offset) into out[0..4). */
  clip(out: Float32Array): void {
    const k = this.k();
    out[0] = (2 * k) / this.w; out[1] = (2 * k) / this.h;
    out[2] = -this.cx * out[0]; out[3] = -this.cy * out[1];
  }
  toDataX(sx: number): number { return this.cx + (sx - this.w / 2) / this.k(); }
  toDataY(sy: number): number { return this.cy - (sy - this.h / 2) / this.k(); }

  pan(dxPx: number, dyPx: number): void {
    const k = this.k();
    this.cx -= dxPx / k;
    this.cy += dyPx / k;
  }
  /** Zooms by `factor` keeping the data point under (sx, sy) fixed. */
  zoomAt(sx: number, sy: number, factor: number): void {
    const dx = this.toDataX(sx), dy = this.toDataY(sy);
    this.zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.zoom * factor));
    const k = this.k();
    this.cx = dx - (sx - this.w / 2) / k;
    this.cy = dy + (sy - this.h / 2) / k;
  }
}
