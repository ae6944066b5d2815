/* api.ts — the explorer API client. The base is relative to the page (cellxgene's rule): a page served at
 * <origin>/e/<id>/ talks to <origin>/e/<id>/api/v0.3/. Binary routes decode with wire/netencoding.ts. */
import { decodeMatrix, type Matrix } from './wire/netencoding';

export class ApiError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

const base = (v: '0.2' | '0.3') => new URL(`api/v${v}/`, document.baseURI).toString();

async function failure(r: Response): Promise<ApiError> {
  let msg = `${r.status} ${r.statusText}`;
  try {
    const j = await r.json();
    if (j && typeof j.message === 'string') msg = j.message;
  } catch { /* not JSON: keep the status line */ }
  return new ApiError(r.status, msg);
}

export async function getJSON<T>(route: string, v: '0.2' | '0.3' = '0.2'): Promise<T> {
  const r = await fetch(base(v) + route, { headers: { Accept: 'application/json' } });
  if (!r.ok) throw await failure(r);
  return r.json() as Promise<T>;
}

export async function getMatrix(route: string, v: '0.2' | '0.3' = '0.3'): Promise<Matrix> {
  const r = await fetch(base(v) + route, { headers: { Accept: 'application/octet-stream' } });
  if (!r.ok) throw await failure(r);
  return decodeMatrix(await r.arrayBuffer());
}

export async function postJSON<T>(route: string, body: unknown, v: '0.2' | '0.3' = '0.2'): Promise<T> {
  const r = await fetch(base(v) + route, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
  });
  if (!r.ok) throw await failure(r);
  return r.json() as Promise<T>;
}

/** Query-string value as the cellxgene client sends it: URL-encoded twice (the server decodes once more). */
export const q2 = (s: string) => encodeURIComponent(encodeURIComponent(s));

/* --- response shapes ------------------------------------------------------------------------------------- */

export interface SchemaColumn { name: string; type: string; categories?: (string | number | boolean)[]; writable?: boolean }
export interface Schema {
  dataframe: { nObs: number; nVar: number; type: string };
  annotations: { obs: { index: string; columns: SchemaColumn[] }; var: { index: string; columns: SchemaColumn[] } };
  layout: { obs: { name: string; type: string; dims: string[] }[] };
}
export interface Config {
  displayNames?: { engine?: string; dataset?: string };
  parameters?: Record<string, unknown> & { default_embedding?: string; layout?: string[] };
  limits?: { column_request_max?: number; diffexp_cellcount_max?: number };
  links?: Record<string, string | null>;
}
export type Colors = Record<string, Record<string, string>>;
/** [var index, log fold change, p-value, adjusted p-value] */
export type DeRow = [number, number, number, number];
export interface DeResult { positive: DeRow[]; negative: DeRow[] }
