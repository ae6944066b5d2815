#!/usr/bin/python3
"""Decode a NetEncoding Matrix with the python3-flatbuffers runtime and compare it with an expected JSON
description written by tests/unit/test_wire_fbs.c. When flatc is installed, also convert the buffer to JSON
with flatc and the schema tests/tools/netencoding.fbs and compare again (flatc is a second, independent
reader, not a verifier: on a malformed buffer it fails or crashes, and either fails the check).

usage: fbs_check.py MATRIX.bin EXPECTED.json [SCHEMA.fbs]
Expected: {"n_rows", "n_cols", "columns": [{"tag", "data"} | {"tag": 5, "json"} |
           {"tag": 6..8, "codes", "dict"} | {"tag": 9, "codes", "max", "min", "nbins"}]}
Exit status 0 when everything matches; a message on stderr otherwise.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import flatbuffers
from flatbuffers import number_types as N
from flatbuffers.table import Table

ELEM = {1: N.Float32Flags, 2: N.Int32Flags, 3: N.Uint32Flags, 4: N.Float64Flags, 5: N.Uint8Flags,
        6: N.Int8Flags, 7: N.Int16Flags, 8: N.Int32Flags, 9: N.Int16Flags}
NAMES = {1: "Float32FBArray", 2: "Int32FBArray", 3: "Uint32FBArray", 4: "Float64FBArray",
         5: "JSONEncodedFBArray", 6: "DictEncoded8FBArray", 7: "DictEncoded16FBArray",
         8: "DictEncoded32FBArray", 9: "Int16EncodedXFBArray"}


def slot(i):
    return 4 + 2 * i


def vector(tab, i, flags):
    o = tab.Offset(slot(i))
    assert o, "missing vector field %d" % i
    start, n = tab.Vector(o), tab.VectorLen(o)
    assert start % max(flags.bytewidth, 4) == 0, "vector at %d not aligned" % start
    return [tab.Get(flags, start + k * flags.bytewidth) for k in range(n)]


def scalar(tab, i, flags):
    o = tab.Offset(slot(i))
    return tab.Get(flags, tab.Pos + o) if o else 0


def decode_array(tag, tab):
    if tag == 5:
        return {"tag": tag, "json": bytes(vector(tab, 0, ELEM[5])).decode("utf-8")}
    if tag in (6, 7, 8):
        return {"tag": tag, "codes": vector(tab, 0, ELEM[tag]),
                "dict": bytes(vector(tab, 1, N.Uint8Flags)).decode("utf-8")}
    if tag == 9:
        return {"tag": tag, "codes": vector(tab, 0, ELEM[9]), "max": scalar(tab, 1, N.Float32Flags),
                "min": scalar(tab, 2, N.Float32Flags), "nbins": scalar(tab, 3, N.Int32Flags)}
    return {"tag": tag, "data": vector(tab, 0, ELEM[tag])}


def decode(buf):
    root = flatbuffers.encode.Get(flatbuffers.packer.uoffset, buf, 0)
    m = Table(buf, root)
    out = {"n_rows": scalar(m, 0, N.Uint32Flags), "n_cols": scalar(m, 1, N.Uint32Flags), "columns": []}
    o = m.Offset(slot(2))
    base, n = m.Vector(o), m.VectorLen(o)
    for k in range(n):
        col = Table(buf, m.Indirect(base + 4 * k))
        tag = scalar(col, 0, N.Uint8Flags)
        arr = Table(buf, 0)
        col.Union(arr, col.Offset(slot(1)))
        out["columns"].append(decode_array(tag, arr))
    assert m.Offset(slot(5)) == 0 and m.Offset(slot(6)) == 0, "row_index must be unset"
    return out


def same(a, b, where, tol=0.0):
    """Exact comparison (tol = 0), or relative within tol (flatc prints doubles with 12 digits)."""
    if isinstance(a, float) or isinstance(b, float):
        ok = a == b or (a != a and b != b) or abs(a - b) <= tol * max(abs(a), abs(b), 1e-200)
    elif isinstance(a, list):
        ok = len(a) == len(b) and all(same(x, y, "%s[%d]" % (where, i), tol) for i, (x, y) in enumerate(zip(a, b)))
    elif isinstance(a, dict):
        ok = set(a) == set(b) and all(same(a[k], b[k], where + "." + k, tol) for k in a)
    else:
        ok = a == b
    if not ok:
        sys.stderr.write("fbs_check: mismatch at %s: got %r, want %r\n" % (where, a, b))
    return ok


def flatc_check(path, want, schema):
    flatc = shutil.which("flatc")
    if not flatc or not schema:
        return True
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([flatc, "--json", "--strict-json", "--raw-binary", "-o", d, schema, "--", path],
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.stderr.write("fbs_check: flatc rejected the buffer: %s%s\n" % (r.stdout, r.stderr))
            return False
        name = os.path.splitext(os.path.basename(path))[0] + ".json"
        with open(os.path.join(d, name)) as f:
            got = json.load(f)
    ok = got.get("n_rows", 0) == want["n_rows"] and got.get("n_cols", 0) == want["n_cols"]
    for k, (c, w) in enumerate(zip(got["columns"], want["columns"])):
        ok &= c["u_type"] == NAMES[w["tag"]]
        if "data" in w and w["tag"] != 5:
            ok &= same(c["u"]["data"], w["data"], "flatc columns[%d]" % k, 1e-11)
        if "codes" in w:
            ok &= same(c["u"]["codes"], w["codes"], "flatc columns[%d].codes" % k)
    if not ok:
        sys.stderr.write("fbs_check: flatc's reading differs from the expected matrix\n")
    return ok


def main():
    path, want_path = sys.argv[1], sys.argv[2]
    schema = sys.argv[3] if len(sys.argv) > 3 else None
    with open(path, "rb") as f:
        buf = bytearray(f.read())
    with open(want_path) as f:
        want = json.load(f)
    got = decode(buf)
    ok = same(got, want, "matrix")
    ok = flatc_check(path, want, schema) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
