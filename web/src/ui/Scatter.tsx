/* Scatter.tsx — the embedding view: WebGL2 canvas, pan/zoom, lasso overlay, colour bar, status line. */
import { useEffect, useRef } from 'preact/hooks';
import { effect } from '@preact/signals';
import { ScatterRenderer } from '../scatter/renderer';
import { lassoSelect, type ScreenMap } from '../selection';
import { paint, orderByValue } from '../paint';
import { source } from '../derived';
import * as S from '../state';
import { setSelection } from '../actions';
import { ColorBar } from './ColorBar';

const MAX_LASSO = 4096;

export let renderer: ScatterRenderer | null = null;

export function Scatter() {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const wrapRef = useRef<HTMLDivElement>(null);
  const lassoRef = useRef<SVGPolylineElement>(null);

  useEffect(() => {
    const canvas = canvasRef.current!, wrap = wrapRef.current!, line = lassoRef.current!;
    let r: ScatterRenderer;
    try {
      r = new ScatterRenderer(canvas);
    } catch (e) {
      S.fatal.value = (e as Error).message;
      return;
    }
    renderer = r;
    const ro = new ResizeObserver(() => r.resize());
    ro.observe(wrap);
    r.resize();

    let rgba = new Uint8Array(0), order = new Uint32Array(0);
    const disposers = [
      effect(() => {
        const l = S.layout.value;
        if (l) r.setPositions(l.x, l.y);
      }),
      effect(() => {
        const src = source.value, l = S.layout.value;
        if (!l) return;
        if (src.kind !== 'continuous' || src.values.length !== l.x.length) return r.setOrder(null);
        if (order.length !== src.values.length) order = new Uint32Array(src.values.length);
        orderByValue(order, src);
        r.setOrder(order);
      }),
      effect(() => {
        const ds = S.dataset.value;
        if (!ds) return;
        const src = source.value, hid = S.hiddenMask.value, sel = S.selection.value;
        if (rgba.length !== ds.nObs * 4) rgba = new Uint8Array(ds.nObs * 4);
        const t0 = performance.now();
        paint(rgba, ds.nObs, src, hid, sel);
        S.timings.paint = performance.now() - t0;
        r.layered = sel !== null;
        r.setColors(rgba);
      }),
    ];

    /* --- pointer interaction: drag pans (or lassoes), wheel zooms about the cursor --------------------- */
    const poly = new Float64Array(2 * MAX_LASSO);
    let m = 0, mode: 'none' | 'pan' | 'lasso' = 'none', lastX = 0, lastY = 0;
    const map: ScreenMap = { ax: 0, bx: 0, ay: 0, by: 0 };
    const local = (e: PointerEvent | WheelEvent) => {
      const b = canvas.getBoundingClientRect();
      return [e.clientX - b.left, e.clientY - b.top];
    };
    const drawLasso = () => {
      let pts = '';
      for (let k = 0; k < m; k++) pts += `${poly[2 * k].toFixed(1)},${poly[2 * k + 1].toFixed(1)} `;
      line.setAttribute('points', pts);
    };
    const down = (e: PointerEvent) => {
      if (e.button !== 0) return;
      canvas.setPointerCapture(e.pointerId);
      [lastX, lastY] = local(e);
      mode = S.tool.value === 'lasso' || e.shiftKey ? 'lasso' : 'pan';
      if (mode === 'lasso') { m = 0; poly[0] = lastX; poly[1] = lastY; m = 1; drawLasso(); }
      wrap.classList.toggle('dragging', mode === 'pan');
    };
    const move = (e: PointerEvent) => {
      if (mode === 'none') return;
      const [x, y] = local(e);
      if (mode === 'pan') {
        r.camera.pan(x - lastX, y - lastY);
        r.requestRender();
        lastX = x; lastY = y;
      } else if (m < MAX_LASSO && Math.hypot(x - poly[2 * m - 2], y - poly[2 * m - 1]) >= 2) {
        poly[2 * m] = x; poly[2 * m + 1] = y; m++;
        drawLasso();
      }
    };
    const up = () => {
      if (mode === 'lasso') {
        const l = S.layout.value;
        const t0 = performance.now();
        const sel = l && m >= 3 ? lassoSelect(l.x, l.y, r.camera.screenMap(map), poly, m, S.hiddenMask.value) : null;
        S.timings.lasso = performance.now() - t0;
        setSelection(sel);
        m = 0;
        drawLasso();
      }
      mode = 'none';
      wrap.classList.remove('dragging');
    };
    const wheel = (e: WheelEvent) => {
      e.preventDefault();
      const [x, y] = local(e);
      const dy = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
      r.camera.zoomAt(x, y, Math.exp(-dy * 0.0015));
      r.requestRender();
    };
    canvas.addEventListener('pointerdown', down);
    canvas.addEventListener('pointermove', move);
    canvas.addEventListener('pointerup', up);
    canvas.addEventListener('pointercancel', up);
    canvas.addEventListener('wheel', wheel, { passive: false });
    return () => {
      disposers.forEach((d) => d());
      ro.disconnect();
      canvas.removeEventListener('pointerdown', down);
      canvas.removeEventListener('pointermove', move);
      canvas.removeEventListener('pointerup', up);
      canvas.removeEventListener('pointercancel', up);
      canvas.removeEventListener('wheel', wheel);
      renderer = null;
    };
  }, []);

  const tool = S.tool.value;
  return (
    <div class={`stage tool-${tool}`} ref={wrapRef}>
      <canvas ref={canvasRef} class="scatter" aria-label="embedding scatter plot" data-testid="scatter" />
      <svg class="lasso" aria-hidden="true"><polyline ref={lassoRef} points="" /></svg>
      <div class="toolbar" role="toolbar" aria-label="scatter tools">
        <button class={tool === 'pan' ? 'on' : ''} title="Pan and zoom (P)" aria-pressed={tool === 'pan'}
                onClick={() => (S.tool.value = 'pan')}>
          <svg viewBox="0 0 16 16"><path d="M8 1v14M1 8h14M8 1 6 3m2-2 2 2M8 15l-2-2m2 2 2-2M1 8l2-2M1 8l2 2m12-2-2-2m2 2-2 2" /></svg>
        </button>
        <button class={tool === 'lasso' ? 'on' : ''} title="Lasso selection (L; or shift-drag)" aria-pressed={tool === 'lasso'}
                data-testid="tool-lasso" onClick={() => (S.tool.value = 'lasso')}>
          <svg viewBox="0 0 16 16"><path d="M3 9c-2-3 1-7 6-7s6 3 4 6-6 3-8 2M5 10c-1 2 0 4 2 4" /></svg>
        </button>
        <span class="sep" />
        <button title="Fit to view (F)" onClick={() => { renderer?.camera.fit(); renderer?.requestRender(); }}>
          <svg viewBox="0 0 16 16"><path d="M2 6V2h4M10 2h4v4M14 10v4h-4M6 14H2v-4" /></svg>
        </button>
      </div>
      <ColorBar />
      <StatusLine />
    </div>
  );
}

function StatusLine() {
  const ds = S.dataset.value;
  if (!ds) return null;
  const hid = S.hiddenCount.value, sel = S.selectionCount.value;
  const fmt = (n: number) => n.toLocaleString('en-US');
  return (
    <div class="statusline">
      <span>{fmt(ds.nObs - hid)} of {fmt(ds.nObs)} cells shown</span>
      {sel > 0 && <span class="sel">{fmt(sel)} selected</span>}
      {S.busy.value && <span class="busy">{S.busy.value}…</span>}
    </div>
  );
}
