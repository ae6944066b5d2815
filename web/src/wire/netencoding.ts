/* netencoding.ts — decoder for cellxgene's FlatBuffers "NetEncoding" Matrix (reference: cellxgene-compat.md §3,
 * tests/tools/netencoding.fbs).
 *
 * Layout facts this decoder relies on (standard FlatBuffers, little-endian):
 *  1. buf[0..4) is the uoffset of the root table (Matrix).
 *  2. A table at t starts with an int32 soffset; its vtable is at t - soffset: uint16 vtable size, uint16 table size,
 *     then one uint16 field offset per slot (0 = absent; slots beyond the vtable are absent too).
 *  3. A uoffset field at p points to p + uint32(p). A vector is uint32 length followed by its elements.
 *  4. A union is two slots: a uint8 type tag and a uoffset to the member table.
 *
 * Matrix slots: 0 n_rows, 1 n_cols, 2 columns [Column], 3/4 col_index (union), 5/6 row_index (union, unused).
 * Column slots: 0/1 u (union). Members by tag: 1 Float32, 2 Int32, 3 Uint32, 4 Float64, 5 JSONEncoded (UTF-8),
 * 6/7/8 DictEncoded 8/16/32 (codes, dict JSON), 9 Int16EncodedX (codes, max, min, nbins).
 *
 * Numeric vectors are returned as typed-array *views* of the input buffer when they are aligned (the encoder
 * aligns them, so this is the normal case) and copied otherwise. Every offset is bounds-checked; a malformed
 * buffer throws NetEncodingError, never reads out of range.
 */

export class NetEncodingError extends Error {}

export type DictCodes = Int8Array | Int16Array | Int32Array;

export type Column =
  | { kind: 'float32'; data: Float32Array }
  | { kind: 'int32'; data: Int32Array }
  | { kind: 'uint32'; data: Uint32Array }
  | { kind: 'float64'; data: Float64Array }
  | { kind: 'json'; data: unknown[] }
  | { kind: 'dict'; codes: DictCodes; dict: Record<string, string> }
  | { kind: 'int16x'; codes: Int16Array; min: number; max: number; nbins: number };

export interface Matrix {
  nRows: number;
  nCols: number;
  columns: Column[];
  /** Names (JSON-encoded array) or var indices (Int32Array), or null when absent. */
  colIndex: Column | null;
}

type TypedCtor = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): ArrayBufferView & ArrayLike<number>;
  new (length: number): ArrayBufferView & ArrayLike<number>;
  BYTES_PER_ELEMENT: number;
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

class Reader {
  readonly dv: DataView;
  constructor(readonly u8: Uint8Array) {
    this.dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  }
  check(pos: number, len: number): void {
    if (!(pos >= 0 && len >= 0 && pos + len <= this.u8.byteLength)) {
      throw new NetEncodingError(`offset ${pos}+${len} outside buffer of ${this.u8.byteLength} bytes`);
    }
  }
  u8at(p: number): number { this.check(p, 1); return this.dv.getUint8(p); }
  u16(p: number): number { this.check(p, 2); return this.dv.getUint16(p, true); }
  u32(p: number): number { this.check(p, 4); return this.dv.getUint32(p, true); }
  i32(p: number): number { this.check(p, 4); return this.dv.getInt32(p, true); }
  f32(p: number): number { this.check(p, 4); return this.dv.getFloat32(p, true); }
  deref(p: number): number { return p + this.u32(p); }
}

class Table {
  private readonly vt: number;
  private readonly vsize: number;
  constructor(private readonly r: Reader, readonly pos: number) {
    this.vt = pos - r.i32(pos);
    this.vsize = r.u16(this.vt);
    if (this.vsize < 4 || this.vsize % 2) throw new NetEncodingError(`bad vtable size ${this.vsize}`);
    r.check(this.vt, this.vsize);
  }
  field(slot: number): number {
    const o = 4 + 2 * slot;
    if (o >= this.vsize) return 0;
    const f = this.r.u16(this.vt + o);
    return f ? this.pos + f : 0;
  }
  u8(slot: number, dflt = 0): number { const p = this.field(slot); return p ? this.r.u8at(p) : dflt; }
  u32(slot: number, dflt = 0): number { const p = this.field(slot); return p ? this.r.u32(p) : dflt; }
  i32(slot: number, dflt = 0): number { const p = this.field(slot); return p ? this.r.i32(p) : dflt; }
  f32(slot: number, dflt = 0): number { const p = this.field(slot); return p ? this.r.f32(p) : dflt; }
  table(slot: number): Table | null {
    const p = this.field(slot);
    return p ? new Table(this.r, this.r.deref(p)) : null;
  }
  /** -> [start, length] of a vector of elemSize-byte elements. */
  vector(slot: number, elemSize: number): [number, number] {
    const p = this.field(slot);
    if (!p) throw new NetEncodingError(`missing vector in slot ${slot}`);
    const v = this.r.deref(p);
    const n = this.r.u32(v);
    this.r.check(v + 4, n * elemSize);
    return [v + 4, n];
  }
  typed<T extends ArrayBufferView>(slot: number, Ctor: TypedCtor): T {
    const size = Ctor.BYTES_PER_ELEMENT;
    const [start, n] = this.vector(slot, size);
    const abs = this.r.u8.byteOffset + start;
    if (abs % size === 0) return new Ctor(this.r.u8.buffer, abs, n) as unknown as T;
    const copy = new Ctor(n); /* unaligned: copy the bytes */
    new Uint8Array(copy.buffer).set(this.r.u8.subarray(start, start + n * size));
    return copy as unknown as T;
  }
  bytes(slot: number): Uint8Array {
    const [start, n] = this.vector(slot, 1);
    return this.r.u8.subarray(start, start + n);
  }
  tables(slot: number): Table[] {
    const [start, n] = this.vector(slot, 4);
    const out: Table[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = new Table(this.r, this.r.deref(start + 4 * i));
    return out;
  }
}

function json(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(utf8.decode(bytes));
  } catch (e) {
    throw new NetEncodingError(`bad JSON in column: ${(e as Error).message}`);
  }
}

function decodeTyped(tag: number, t: Table): Column {
  switch (tag) {
    case 1: return { kind: 'float32', data: t.typed(0, Float32Array) };
    case 2: return { kind: 'int32', data: t.typed(0, Int32Array) };
    case 3: return { kind: 'uint32', data: t.typed(0, Uint32Array) };
    case 4: return { kind: 'float64', data: t.typed(0, Float64Array) };
    case 5: {
      const v = json(t.bytes(0));
      if (!Array.isArray(v)) throw new NetEncodingError('JSONEncodedArray is not an array');
      return { kind: 'json', data: v };
    }
    case 6: case 7: case 8: {
      const Ctor = tag === 6 ? Int8Array : tag === 7 ? Int16Array : Int32Array;
      const codes = t.typed<DictCodes>(0, Ctor);
      const dict = json(t.bytes(1));
      if (!dict || typeof dict !== 'object' || Array.isArray(dict)) throw new NetEncodingError('bad dictionary');
      return { kind: 'dict', codes, dict: dict as Record<string, string> };
    }
    case 9:
      return { kind: 'int16x', codes: t.typed(0, Int16Array), max: t.f32(1), min: t.f32(2), nbins: t.i32(3) };
    default:
      throw new NetEncodingError(`unknown column type tag ${tag}`);
  }
}

export function columnLength(c: Column): number {
  return 'data' in c ? c.data.length : c.codes.length;
}

/** Decodes a NetEncoding Matrix. Typed arrays in the result may be views of `buf`: keep it alive, don't mutate. */
export function decodeMatrix(input: ArrayBuffer | Uint8Array): Matrix {
  const u8 = input instanceof Uint8Array ? input : new Uint8Array(input);
  const r = new Reader(u8);
  const root = new Table(r, r.deref(0));
  const nRows = root.u32(0), nCols = root.u32(1);
  const columns: Column[] = [];
  if (root.field(2)) {
    for (const c of root.tables(2)) {
      const tag = c.u8(0);
      const member = c.table(1);
      if (!tag || !member) throw new NetEncodingError('column without a value');
      columns.push(decodeTyped(tag, member));
    }
  }
  if (columns.length !== nCols) throw new NetEncodingError(`n_cols ${nCols} but ${columns.length} columns`);
  for (const c of columns) {
    if (columnLength(c) !== nRows) throw new NetEncodingError(`column of ${columnLength(c)} rows, n_rows ${nRows}`);
  }
  const ciTag = root.u8(3);
  const ciTable = ciTag ? root.table(4) : null;
  const colIndex = ciTable ? decodeTyped(ciTag, ciTable) : null;
  return { nRows, nCols, columns, colIndex };
}

/** Any numeric column as float32 values (views when already float32; int16x decoded as code / nbins · range + min). */
export function toFloat32(c: Column): Float32Array {
  switch (c.kind) {
    case 'float32': return c.data;
    case 'int32': case 'uint32': case 'float64': return Float32Array.from(c.data);
    case 'int16x': {
      const out = new Float32Array(c.codes.length);
      const span = c.max - c.min, scale = c.nbins > 0 ? span / c.nbins : 0;
      for (let i = 0; i < out.length; i++) out[i] = c.codes[i] * scale + c.min;
      return out;
    }
    case 'json': return Float32Array.from(c.data, (v) => (typeof v === 'number' ? v : NaN));
    case 'dict': throw new NetEncodingError('dictionary column is not numeric');
  }
}

/** Column names of a col_index (JSON array of names or integer indices) as strings. */
export function colIndexNames(m: Matrix): string[] {
  const ci = m.colIndex;
  if (!ci) return [];
  if (ci.kind === 'json') return ci.data.map(String);
  if ('data' in ci) return Array.from(ci.data as ArrayLike<number>, String);
  return [];
}
