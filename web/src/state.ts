/* state.ts — the client's state as Preact signals. Large arrays live in plain objects referenced by signals;
 * a signal changes only when its reference changes (updates are copy-on-write on small things, never on
 * per-cell arrays). */
import { signal, computed } from '@preact/signals';
import type { Dataset, ObsData } from './data';
import type { Bitset } from './selection';
import type { DeRow } from './api';

export type ColorBy = { kind: 'none' } | { kind: 'obs'; name: string } | { kind: 'gene'; name: string };
export type Tool = 'pan' | 'lasso';

export const dataset = signal<Dataset | null>(null);
export const fatal = signal<string | null>(null);
export const busy = signal<string | null>(null);

export const embedding = signal<string>('');
export const layout = signal<{ name: string; x: Float32Array; y: Float32Array } | null>(null);
export const obs = signal<Map<string, ObsData>>(new Map());
export const geneNames = signal<string[]>([]);
export const genes = signal<Map<string, Float32Array>>(new Map()); // loaded gene columns, insertion = recency
export const geneError = signal<string | null>(null);

export const colorBy = signal<ColorBy>({ kind: 'none' });
/** Hidden category indices per categorical column. */
export const hidden = signal<Map<string, ReadonlySet<number>>>(new Map());
export const tool = signal<Tool>('pan');

export const selection = signal<Bitset | null>(null);
export const selectionCount = computed(() => selection.value?.count() ?? 0);
export const set1 = signal<Bitset | null>(null);
export const set2 = signal<Bitset | null>(null);

export type DeState =
  | { status: 'idle' }
  | { status: 'running' }
  | { status: 'error'; message: string; httpStatus?: number }
  | { status: 'done'; positive: DeRow[]; negative: DeRow[]; n1: number; n2: number; ms: number };
export const de = signal<DeState>({ status: 'idle' });

/** Cells hidden by any category checkbox (1 = hidden), or null when nothing is hidden. */
export const hiddenMask = computed<Uint8Array | null>(() => {
  const ds = dataset.value, h = hidden.value, o = obs.value;
  if (!ds) return null;
  let mask: Uint8Array | null = null;
  for (const [name, set] of h) {
    const col = o.get(name);
    if (!set.size || !col || col.kind !== 'categorical') continue;
    mask ??= new Uint8Array(ds.nObs);
    const off = new Uint8Array(col.categories.length);
    for (const k of set) off[k] = 1;
    const codes = col.codes;
    for (let i = 0; i < codes.length; i++) if (off[codes[i]]) mask[i] = 1;
  }
  return mask;
});
export const hiddenCount = computed(() => {
  const m = hiddenMask.value;
  if (!m) return 0;
  let c = 0;
  for (let i = 0; i < m.length; i++) c += m[i];
  return c;
});

/** Last measured client-side costs (ms), for benchmarks and the e2e log; not reactive. */
export const timings = { lasso: 0, paint: 0 };
