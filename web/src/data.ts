/* data.ts — loads a dataset's schema, annotations and embeddings into the client's column model.
 *
 * Categorical columns become category indices (Uint16/Uint32, schema order; a "(missing)" category is appended
 * only when some cell has none) plus per-category counts. Numeric columns become Float32Array. Every value comes
 * from the server; nothing here invents data. */
import { getJSON, getMatrix, q2, type Colors, type Config, type Schema, type SchemaColumn } from './api';
import { toFloat32, colIndexNames, type Column } from './wire/netencoding';

export interface Categorical {
  kind: 'categorical';
  name: string;
  categories: string[];
  codes: Uint16Array | Uint32Array;
  counts: Uint32Array;
}
export interface Continuous { kind: 'continuous'; name: string; values: Float32Array }
export type ObsData = Categorical | Continuous;

export interface Dataset {
  title: string;
  nObs: number;
  nVar: number;
  schema: Schema;
  config: Config;
  colors: Colors;
  embeddings: string[];
  defaultEmbedding: string;
  /** Colourable obs columns in schema order (the index and free-text strings excluded). */
  obsColumns: SchemaColumn[];
}

export const isCategorical = (c: SchemaColumn) => c.type === 'categorical' || c.type === 'boolean';
export const isNumeric = (c: SchemaColumn) => c.type === 'float32' || c.type === 'int32';

export async function loadDataset(): Promise<Dataset> {
  const [config, schema, colors] = await Promise.all([
    getJSON<{ config: Config }>('config').then((r) => r.config),
    getJSON<{ schema: Schema }>('schema').then((r) => r.schema),
    getJSON<Colors>('colors').catch(() => ({}) as Colors),
  ]);
  const embeddings = schema.layout.obs.map((l) => l.name);
  const dflt = config.parameters?.default_embedding;
  const preferred = embeddings.find((e) => /umap/i.test(e)) ?? embeddings.find((e) => /tsne/i.test(e));
  const obsIndex = schema.annotations.obs.index;
  return {
    title: config.displayNames?.dataset ?? 'dataset',
    nObs: schema.dataframe.nObs,
    nVar: schema.dataframe.nVar,
    schema,
    config,
    colors,
    embeddings,
    defaultEmbedding: preferred ?? (dflt && embeddings.includes(dflt) ? dflt : embeddings[0]),
    obsColumns: schema.annotations.obs.columns.filter((c) => c.name !== obsIndex && (isCategorical(c) || isNumeric(c))),
  };
}

export async function loadLayout(name: string): Promise<[Float32Array, Float32Array]> {
  const m = await getMatrix(`layout/obs?layout-name=${q2(name)}`);
  if (m.columns.length < 2) throw new Error(`layout ${name}: ${m.columns.length} columns`);
  return [toFloat32(m.columns[0]), toFloat32(m.columns[1])];
}

function categorical(name: string, schemaCats: string[], col: Column, n: number): Categorical {
  const cats = schemaCats.slice();
  const index = new Map(cats.map((c, i) => [c, i] as [string, number]));
  let missing = -1;
  const slot = (label: unknown): number => {
    if (label === null || label === undefined) {
      if (missing < 0) { missing = cats.length; cats.push('(missing)'); }
      return missing;
    }
    const s = String(label);
    let i = index.get(s);
    if (i === undefined) { i = cats.length; cats.push(s); index.set(s, i); }
    return i;
  };
  const codes = new Uint32Array(n);
  if (col.kind === 'dict') {
    const byCode = new Map<number, number>();
    for (const [k, v] of Object.entries(col.dict)) byCode.set(Number(k), slot(v));
    for (let i = 0; i < n; i++) {
      const c = byCode.get(col.codes[i]);
      codes[i] = c === undefined ? slot(null) : c;
    }
  } else if (col.kind === 'json') {
    for (let i = 0; i < n; i++) codes[i] = slot(col.data[i]);
  } else if ('data' in col) { /* v0.2 boolean as uint32 0/1 */
    for (let i = 0; i < n; i++) codes[i] = slot(schemaCats[col.data[i] as number] ?? col.data[i]);
  } else {
    throw new Error(`column ${name}: unexpected encoding ${col.kind}`);
  }
  const counts = new Uint32Array(cats.length);
  for (let i = 0; i < n; i++) counts[codes[i]]++;
  return { kind: 'categorical', name, categories: cats, codes: cats.length <= 65535 ? Uint16Array.from(codes) : codes, counts };
}

/** Loads obs columns (≤ 32 per request, as the API allows). */
export async function loadObs(ds: Dataset, cols: SchemaColumn[]): Promise<ObsData[]> {
  const out: ObsData[] = [];
  const max = ds.config.limits?.column_request_max ?? 32;
  for (let i = 0; i < cols.length; i += max) {
    const batch = cols.slice(i, i + max);
    const qs = batch.map((c) => `annotation-name=${q2(c.name)}`).join('&');
    const m = await getMatrix(`annotations/obs?${qs}`);
    const names = colIndexNames(m);
    batch.forEach((c) => {
      const k = names.indexOf(c.name);
      if (k < 0) throw new Error(`annotations/obs: no column ${c.name}`);
      const col = m.columns[k];
      if (isCategorical(c)) {
        const cats = (c.categories ?? (c.type === 'boolean' ? ['False', 'True'] : [])).map(String);
        out.push(categorical(c.name, cats, col, ds.nObs));
      } else {
        out.push({ kind: 'continuous', name: c.name, values: toFloat32(col) });
      }
    });
  }
  return out;
}

export async function loadGeneNames(ds: Dataset): Promise<string[]> {
  const idx = ds.schema.annotations.var.index;
  const m = await getMatrix(`annotations/var?annotation-name=${q2(idx)}`);
  const c = m.columns[0];
  if (c.kind === 'json') return c.data.map(String);
  if (c.kind === 'dict') return Array.from(c.codes, (k) => c.dict[String(k)]);
  throw new Error('annotations/var: unexpected encoding of gene names');
}

/** Expression of one gene in every cell (data/var with a var:<index>=<gene> filter). */
export async function loadGene(ds: Dataset, gene: string): Promise<Float32Array> {
  const idx = ds.schema.annotations.var.index;
  const m = await getMatrix(`data/var?var:${q2(idx)}=${q2(gene)}`);
  if (m.columns.length !== 1) throw new Error(`gene ${gene}: ${m.columns.length} matches`);
  return toFloat32(m.columns[0]);
}
