/* actions.ts — everything that changes state in response to the user or the server. */
import { batch } from '@preact/signals';
import { ApiError, postJSON, type DeResult } from './api';
import { loadDataset, loadGene, loadGeneNames, loadLayout, loadObs } from './data';
import { Bitset } from './selection';
import * as S from './state';

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export async function init(): Promise<void> {
  try {
    S.busy.value = 'loading dataset';
    const ds = await loadDataset();
    S.dataset.value = ds;
    document.title = `${ds.title} · cellgate`;
    if (!ds.embeddings.length) throw new Error('this dataset has no embedding to draw');
    const layoutDone = setEmbedding(ds.defaultEmbedding);
    const obsDone = loadObs(ds, ds.obsColumns).then((cols) => {
      S.obs.value = new Map(cols.map((c) => [c.name, c]));
    });
    const namesDone = loadGeneNames(ds).then((n) => { S.geneNames.value = n; });
    await Promise.all([layoutDone, obsDone, namesDone]);
    S.busy.value = null;
  } catch (e) {
    S.busy.value = null;
    S.fatal.value = message(e);
  }
}

export async function setEmbedding(name: string): Promise<void> {
  S.embedding.value = name;
  const [x, y] = await loadLayout(name);
  if (S.embedding.value === name) S.layout.value = { name, x, y };
}

export function colorByObs(name: string): void {
  S.colorBy.value = { kind: 'obs', name };
}

export async function colorByGene(gene: string): Promise<void> {
  const ds = S.dataset.value;
  if (!ds) return;
  const names = S.geneNames.value;
  const exact = names.includes(gene) ? gene : names.find((g) => g.toLowerCase() === gene.toLowerCase());
  if (!exact) {
    S.geneError.value = `no gene named “${gene}”`;
    return;
  }
  S.geneError.value = null;
  try {
    let values = S.genes.value.get(exact);
    if (!values) {
      S.busy.value = `loading ${exact}`;
      values = await loadGene(ds, exact);
    }
    const m = new Map(S.genes.value);
    m.delete(exact);
    m.set(exact, values);
    while (m.size > 12) m.delete(m.keys().next().value!);
    batch(() => {
      S.genes.value = m;
      S.colorBy.value = { kind: 'gene', name: exact };
    });
  } catch (e) {
    S.geneError.value = message(e);
  } finally {
    S.busy.value = null;
  }
}

export function toggleCategory(col: string, k: number): void {
  const m = new Map(S.hidden.value);
  const s = new Set(m.get(col) ?? []);
  if (s.has(k)) s.delete(k); else s.add(k);
  m.set(col, s);
  S.hidden.value = m;
}

export function setHiddenCategories(col: string, ks: number[]): void {
  const m = new Map(S.hidden.value);
  m.set(col, new Set(ks));
  S.hidden.value = m;
}

export function setSelection(b: Bitset | null): void {
  S.selection.value = b && b.count() ? b : null;
}

export function storeSet(which: 1 | 2): void {
  const sel = S.selection.value;
  (which === 1 ? S.set1 : S.set2).value = sel;
  S.de.value = { status: 'idle' };
}

/** POSTs diffexp/obs (cellxgene v0.2 body) for set 1 against set 2, or against the rest when set 2 is empty. */
export async function compare(): Promise<void> {
  const ds = S.dataset.value, a = S.set1.value;
  if (!ds || !a) return;
  const b = S.set2.value ?? a.not();
  const body = {
    mode: 'topN',
    count: 50,
    set1: { filter: { obs: { index: a.toIndexFilter() } } },
    set2: { filter: { obs: { index: b.toIndexFilter() } } },
  };
  S.de.value = { status: 'running' };
  const t0 = performance.now();
  try {
    const r = await postJSON<DeResult>('diffexp/obs', body);
    if (!Array.isArray(r.positive) || !Array.isArray(r.negative)) throw new Error('unexpected diffexp response');
    S.de.value = { status: 'done', positive: r.positive, negative: r.negative, n1: a.count(), n2: b.count(),
                   ms: performance.now() - t0 };
  } catch (e) {
    S.de.value = { status: 'error', message: message(e), httpStatus: e instanceof ApiError ? e.status : undefined };
  }
}
