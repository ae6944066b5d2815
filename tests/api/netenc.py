"""A small, independent reader of the cellxgene NetEncoding FlatBuffers Matrix (reference/cellxgene-compat.md §3),
written from the FlatBuffers binary layout: root uoffset -> table; vtable at table - soffset; union = type slot +
value slot. Returns numpy arrays / decoded JSON, for the API tests."""
import json
import struct

import numpy as np

DT = {1: np.float32, 2: np.int32, 3: np.uint32, 4: np.float64, 5: np.uint8, 6: np.int8, 7: np.int16, 8: np.int32,
      9: np.int16}


class Table:
    def __init__(self, buf, pos):
        self.buf, self.pos = buf, pos
        vt = pos - struct.unpack_from("<i", buf, pos)[0]
        vsize = struct.unpack_from("<H", buf, vt)[0]
        self.fields = [struct.unpack_from("<H", buf, vt + 4 + 2 * i)[0] for i in range((vsize - 4) // 2)]

    def off(self, slot):
        return self.fields[slot] if slot < len(self.fields) else 0

    def scalar(self, slot, fmt, default=0):
        o = self.off(slot)
        return struct.unpack_from("<" + fmt, self.buf, self.pos + o)[0] if o else default

    def table(self, slot):
        o = self.off(slot)
        if not o:
            return None
        p = self.pos + o
        return Table(self.buf, p + struct.unpack_from("<I", self.buf, p)[0])

    def vector(self, slot, dtype):
        o = self.off(slot)
        assert o, "missing vector in slot %d" % slot
        p = self.pos + o
        v = p + struct.unpack_from("<I", self.buf, p)[0]
        n = struct.unpack_from("<I", self.buf, v)[0]
        start = v + 4
        assert start % max(np.dtype(dtype).itemsize, 4) == 0 or np.dtype(dtype).itemsize == 1, "unaligned vector"
        return np.frombuffer(self.buf, dtype=np.dtype(dtype).newbyteorder("<"), count=n, offset=start)

    def tables(self, slot):
        o = self.off(slot)
        p = self.pos + o
        v = p + struct.unpack_from("<I", self.buf, p)[0]
        n = struct.unpack_from("<I", self.buf, v)[0]
        out = []
        for i in range(n):
            e = v + 4 + 4 * i
            out.append(Table(self.buf, e + struct.unpack_from("<I", self.buf, e)[0]))
        return out


def decode_typed(tag, t):
    """-> dict(tag=..., value=...) where value is an array, a JSON list, or for dict/int16 the decoded forms."""
    if tag == 5:
        return {"tag": 5, "value": json.loads(bytes(t.vector(0, np.uint8)).decode("utf-8"))}
    if tag in (6, 7, 8):
        codes = t.vector(0, DT[tag])
        d = json.loads(bytes(t.vector(1, np.uint8)).decode("utf-8"))
        return {"tag": tag, "codes": codes, "dict": d, "value": [d.get(str(int(c))) if c >= 0 else None for c in codes]}
    if tag == 9:
        codes = t.vector(0, np.int16)
        mx, mn, nb = t.scalar(1, "f"), t.scalar(2, "f"), t.scalar(3, "i")
        dec = codes.astype(np.float64) / nb * (mx - mn) + mn
        return {"tag": 9, "codes": codes, "max": mx, "min": mn, "nbins": nb, "value": dec}
    return {"tag": tag, "value": t.vector(0, DT[tag])}


def decode(buf):
    buf = bytes(buf)
    root = Table(buf, struct.unpack_from("<I", buf, 0)[0])
    n_rows, n_cols = root.scalar(0, "I"), root.scalar(1, "I")
    cols = []
    for c in root.tables(2) if root.off(2) else []:
        tag = c.scalar(0, "B")
        cols.append(decode_typed(tag, c.table(1)))
    ci_tag = root.scalar(3, "B")
    col_index = decode_typed(ci_tag, root.table(4))["value"] if ci_tag else None
    if isinstance(col_index, np.ndarray):
        col_index = [int(x) for x in col_index]
    assert len(cols) == n_cols, (len(cols), n_cols)
    for c in cols:
        n = len(c["value"])
        assert n == n_rows, ("column length", n, n_rows)
    return {"n_rows": n_rows, "n_cols": n_cols, "columns": cols, "col_index": col_index}
