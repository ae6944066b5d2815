/* A tiny forward-writing FlatBuffers encoder for tests only: lays out tables and vectors front to back (vtables
 * before their tables, children after their parents, so every uoffset points forward as FlatBuffers requires),
 * with the standard alignment. Independent of src/: it writes the layout from the FlatBuffers spec. */

export type Field =
  | { t: 'u8'; v: number }
  | { t: 'u32'; v: number }
  | { t: 'i32'; v: number }
  | { t: 'f32'; v: number }
  | { t: 'ref'; v: Node };

export type Node =
  | { node: 'table'; fields: (Field | null)[] }
  | { node: 'vec'; elem: 1 | 2 | 4 | 8; write: (dv: DataView, at: number) => void; n: number }
  | { node: 'tables'; items: Node[] };

export class Builder {
  buf = new Uint8Array(1 << 16);
  dv = new DataView(this.buf.buffer);
  len = 0;
  constructor(readonly misalign = 0) {}
  pad(a: number, extra = 0) { while ((this.len + extra) % a) this.buf[this.len++] = 0; }
  finish(root: Node): Uint8Array {
    this.len = 4;
    const rootPos = this.place(root);
    this.dv.setUint32(0, rootPos, true);
    return this.buf.slice(0, this.len);
  }
  private place(n: Node): number {
    if (n.node === 'vec') {
      this.pad(Math.max(4, n.elem), 4); // length at pos, elements (aligned to elem) right after
      this.pad(4);
      while ((this.len + 4) % n.elem) { this.len += 4; this.pad(4); }
      const pos = this.len;
      this.dv.setUint32(pos, n.n, true);
      n.write(this.dv, pos + 4);
      this.len = pos + 4 + n.n * n.elem;
      return pos;
    }
    if (n.node === 'tables') {
      this.pad(4);
      const pos = this.len;
      this.dv.setUint32(pos, n.items.length, true);
      this.len += 4 + 4 * n.items.length;
      n.items.forEach((it, i) => {
        const p = this.place(it);
        const at = pos + 4 + 4 * i;
        this.dv.setUint32(at, p - at, true);
      });
      return pos;
    }
    // table: vtable, then the table (soffset + 4-byte slots), then children
    this.pad(2);
    const vt = this.len;
    const nf = n.fields.length;
    this.len += 4 + 2 * nf;
    this.pad(4);
    const tpos = this.len;
    this.dv.setInt32(tpos, tpos - vt, true);
    this.dv.setUint16(vt, 4 + 2 * nf, true);
    let off = 4;
    const refs: [number, Node][] = [];
    n.fields.forEach((f, i) => {
      if (!f) { this.dv.setUint16(vt + 4 + 2 * i, 0, true); return; }
      this.dv.setUint16(vt + 4 + 2 * i, off, true);
      const at = tpos + off;
      if (f.t === 'u8') this.dv.setUint8(at, f.v);
      else if (f.t === 'u32') this.dv.setUint32(at, f.v, true);
      else if (f.t === 'i32') this.dv.setInt32(at, f.v, true);
      else if (f.t === 'f32') this.dv.setFloat32(at, f.v, true);
      else refs.push([at, f.v]);
      off += 4;
    });
    this.dv.setUint16(vt + 2, off, true);
    this.len = tpos + off;
    for (const [at, child] of refs) {
      const p = this.place(child);
      this.dv.setUint32(at, p - at, true);
    }
    return tpos;
  }
}

export const f32vec = (a: number[]): Node => ({ node: 'vec', elem: 4, n: a.length,
  write: (dv, at) => a.forEach((x, i) => dv.setFloat32(at + 4 * i, x, true)) });
export const i32vec = (a: number[]): Node => ({ node: 'vec', elem: 4, n: a.length,
  write: (dv, at) => a.forEach((x, i) => dv.setInt32(at + 4 * i, x, true)) });
export const f64vec = (a: number[]): Node => ({ node: 'vec', elem: 8, n: a.length,
  write: (dv, at) => a.forEach((x, i) => dv.setFloat64(at + 8 * i, x, true)) });
export const i16vec = (a: number[]): Node => ({ node: 'vec', elem: 2, n: a.length,
  write: (dv, at) => a.forEach((x, i) => dv.setInt16(at + 2 * i, x, true)) });
export const i8vec = (a: number[]): Node => ({ node: 'vec', elem: 1, n: a.length,
  write: (dv, at) => a.forEach((x, i) => dv.setInt8(at + i, x)) });
export const bytesvec = (s: string): Node => {
  const b = new TextEncoder().encode(s);
  return { node: 'vec', elem: 1, n: b.length, write: (dv, at) => b.forEach((x, i) => dv.setUint8(at + i, x)) };
};
export const table = (...fields: (Field | null)[]): Node => ({ node: 'table', fields });
export const ref = (v: Node): Field => ({ t: 'ref', v });
export const column = (tag: number, member: Node): Node => table({ t: 'u8', v: tag }, ref(member));
export const matrix = (nRows: number, cols: Node[], ci?: [number, Node]): Node =>
  table({ t: 'u32', v: nRows }, { t: 'u32', v: cols.length }, ref({ node: 'tables', items: cols }),
    ci ? { t: 'u8', v: ci[0] } : null, ci ? ref(ci[1]) : null);
