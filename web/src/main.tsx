/* main.tsx — entry point: mounts the app, starts loading, and exposes a small read-only hook for the
 * end-to-end tests (window.__cellgate). */
import { render } from 'preact';
import { App } from './ui/App';
import { init } from './actions';
import { renderer } from './ui/Scatter';
import * as S from './state';
import './app.css';

render(<App />, document.getElementById('app')!);
const ready = init();

declare global {
  interface Window { __cellgate: unknown }
}
window.__cellgate = {
  ready: () => ready.then(() => ({ nObs: S.dataset.value?.nObs ?? 0, fatal: S.fatal.value })),
  readback: () => renderer?.readback() ?? null,
  timeFrames: (k: number) => renderer?.timeFrames(k) ?? NaN,
  selected: () => S.selectionCount.value,
  colorBy: () => S.colorBy.value,
  timings: () => ({ ...S.timings }),
};
