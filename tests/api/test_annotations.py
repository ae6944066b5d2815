"""User annotations and gene sets (issue 6) against the real binary: cellxgene v0.2 PUT/GET of label columns,
validation errors, genesets tid, ETag / If-Match / 412, a bounded concurrency test and a kill -9 crash test.

PUT bodies are built by a small FlatBuffers writer of our own (below), independent of the server's encoder, that
places vtables AFTER their tables (negative soffsets), as other FlatBuffers builders may."""
import json
import os
import re
import signal
import struct
import subprocess
import tempfile
import threading
import time
import zlib

import numpy as np
import pytest

from conftest import Server
from netenc import decode

DS = "pbmc68k_reduced"
N_OBS = 700
OCTET = {"Accept": "application/octet-stream"}


# --- a minimal NetEncoding Matrix writer ------------------------------------------------------------------------

class W:
    def __init__(self):
        self.b = bytearray(4)  # root uoffset, patched

    def align(self, n):
        while len(self.b) % n:
            self.b.append(0)

    def table(self, nslots, slots):
        """A table whose listed slots each take 4 bytes; returns (pos, {slot: field pos}). Vtable after it."""
        self.align(4)
        t = len(self.b)
        self.b += bytes(4 + 4 * len(slots))
        where = {s: t + 4 + 4 * i for i, s in enumerate(slots)}
        vt = len(self.b)
        offs = [where[s] - t if s in where else 0 for s in range(nslots)]
        self.b += struct.pack("<%dH" % (2 + nslots), 4 + 2 * nslots, 4 + 4 * len(slots), *offs)
        struct.pack_into("<i", self.b, t, t - vt)
        return t, where

    def uoff(self, at, target):
        struct.pack_into("<I", self.b, at, target - at)

    def vector(self, data, elsize):
        while (len(self.b) + 4) % max(4, elsize):
            self.b.append(0)
        v = len(self.b)
        self.b += struct.pack("<I", len(data) // elsize) + data
        return v


def typed(w, at_type, at_val, kind, values):
    tag, elsize, data = {"json": (5, 1, None), "f32": (1, 4, np.float32), "i32": (2, 4, np.int32)}[kind]
    raw = json.dumps(values).encode() if kind == "json" else np.asarray(values, data).tobytes()
    struct.pack_into("<B", w.b, at_type, tag)
    arr, f = w.table(1, [0])
    w.uoff(at_val, arr)
    w.uoff(f[0], w.vector(raw, elsize))


def matrix(n_rows, cols, names=None):
    """cols: [(name, kind, values)] -> zlib-deflated Matrix bytes, as cellxgene's client sends them."""
    w = W()
    m, f = w.table(5, [0, 1, 2, 3, 4])
    w.uoff(0, m)
    struct.pack_into("<II", w.b, f[0], n_rows, 0)
    struct.pack_into("<I", w.b, f[1], len(cols))
    w.align(4)
    vec = len(w.b)
    w.b += struct.pack("<I", len(cols)) + bytes(4 * len(cols))
    w.uoff(f[2], vec)
    for i, (_, kind, values) in enumerate(cols):
        c, cf = w.table(2, [0, 1])
        w.uoff(vec + 4 + 4 * i, c)
        typed(w, cf[0], cf[1], kind, values)
    typed(w, f[3], f[4], "json", names if names is not None else [c[0] for c in cols])
    return zlib.compress(bytes(w.b))


# --- helpers ------------------------------------------------------------------------------------------------------

def start(bundles, workdir, adir, name="annot"):
    return Server([os.path.join(bundles, DS + ".cgb"), "--annotations-dir", adir, "--quiet"], workdir, name)


@pytest.fixture
def srv(bundles, workdir):
    adir = tempfile.mkdtemp(prefix="annot.", dir=workdir)
    s = start(bundles, workdir, adir)
    yield s
    s.stop()


def put_labels(s, cols, if_match=None, coll=None, n_rows=N_OBS, names=None):
    h = {"Content-Type": "application/octet-stream"}
    if if_match is not None:
        h["If-Match"] = '"%d"' % if_match
    path = "/api/v0.2/annotations/obs" + ("?annotation-collection-name=" + coll if coll else "")
    return s.request("PUT", path, body=matrix(n_rows, cols, names), headers=h)


def version(h):
    return int(h["etag"].strip('"'))


def get_json(s, path, headers=None):
    st, h, body = s.get(path, headers or {"Accept": "application/json"})
    assert st == 200, (path, st, body)
    return json.loads(body), h


def user_columns(s, coll=None):
    sch, h = get_json(s, "/api/v0.2/schema" + ("?annotation-collection-name=" + coll if coll else ""))
    return [c for c in sch["schema"]["annotations"]["obs"]["columns"] if c["writable"]], version(h)


def labels(i):
    return ["a" if (k + i) % 3 == 0 else "b" if (k + i) % 3 == 1 else "c" for k in range(N_OBS)]


# --- tests --------------------------------------------------------------------------------------------------------

def test_config_and_empty_state(srv):
    cfg, _ = get_json(srv, "/api/v0.2/config")
    p = cfg["config"]["parameters"]
    assert p["annotations"] is True and p["annotations_genesets"] is True
    assert p["annotations_genesets_readonly"] is False
    cols, v = user_columns(srv)
    assert cols == [] and v == 0
    # no label columns saved: "all columns" is pure dataset data, on the cached content-addressed path
    st, h, _ = srv.get("/api/v0.2/annotations/obs", OCTET)
    assert st == 200 and h["cache-control"] != "no-store" and len(h["etag"]) > 10


def test_no_annotations(bundles, workdir):
    s = Server([os.path.join(bundles, DS + ".cgb"), "--no-annotations", "--quiet"], workdir, "noannot")
    try:
        cfg, _ = get_json(s, "/api/v0.2/config")
        assert cfg["config"]["parameters"]["annotations"] is False
        assert put_labels(s, [("x", "json", labels(0))])[0] == 501
        assert s.request("PUT", "/api/v0.2/genesets", body=b'{"genesets":[],"tid":1}')[0] == 501
        _, h = get_json(s, "/api/v0.2/schema")
        assert h["cache-control"] != "no-store"
    finally:
        s.stop()


def test_roundtrip_values(srv):
    a, b = labels(0), labels(1)
    b[5] = None
    st, h, body = put_labels(srv, [("mine", "json", a), ("other", "json", b)])
    assert st == 200 and json.loads(body) == {"status": "OK"} and version(h) == 1
    cols, v = user_columns(srv)
    assert v == 1 and [c["name"] for c in cols] == ["mine", "other"]
    assert cols[0]["type"] == "categorical" and sorted(cols[0]["categories"]) == ["a", "b", "c"]
    st, h, body = srv.get("/api/v0.2/annotations/obs?annotation-name=mine&annotation-name=other", OCTET)
    assert st == 200 and h["cache-control"] == "no-store" and version(h) == 1
    m = decode(body)
    assert m["col_index"] == ["mine", "other"]
    assert list(m["columns"][0]["value"]) == a and list(m["columns"][1]["value"]) == b
    # all columns: the bundle's, then the user's
    st, h, body = srv.get("/api/v0.2/annotations/obs", OCTET)
    assert st == 200 and decode(body)["col_index"][-2:] == ["mine", "other"]
    # v0.3: dictionary-encoded like other categoricals
    st, h, body = srv.get("/api/v0.3/annotations/obs?annotation-name=mine", OCTET)
    assert st == 200 and version(h) == 1
    # bundle columns by name stay on the cached, content-addressed path
    st, h, _ = srv.get("/api/v0.2/annotations/obs?annotation-name=louvain", OCTET)
    assert st == 200 and h["cache-control"] != "no-store" and len(h["etag"]) > 10
    # a new full set replaces the old one (cellxgene PUTs all label columns)
    st, h, _ = put_labels(srv, [("other", "json", a)])
    assert st == 200 and version(h) == 2
    cols, v = user_columns(srv)
    assert [c["name"] for c in cols] == ["other"] and v == 2
    st, _, _ = srv.get("/api/v0.2/annotations/obs?annotation-name=mine", OCTET)
    assert st == 400


def test_int_labels_and_collections(srv):
    st, _, _ = put_labels(srv, [("n", "i32", [k % 4 for k in range(N_OBS)])], coll="team-1")
    assert st == 200
    cols, v = user_columns(srv, "team-1")
    assert [c["name"] for c in cols] == ["n"] and sorted(cols[0]["categories"]) == ["0", "1", "2", "3"]
    assert user_columns(srv)[0] == []  # another collection


@pytest.mark.parametrize("case,cols,kw", [
    ("rows", [("x", "json", ["a"] * (N_OBS - 1))], {"n_rows": N_OBS - 1}),
    ("duplicate", [("x", "json", ["a"] * N_OBS), ("x", "json", ["b"] * N_OBS)], {}),
    ("clash", [("louvain", "json", ["a"] * N_OBS)], {}),
    ("index", [("name_0", "json", ["a"] * N_OBS)], {}),
    ("float", [("x", "f32", [0.5] * N_OBS)], {}),
    ("short", [("x", "json", ["a"] * 3)], {}),
    ("names", [("x", "json", ["a"] * N_OBS)], {"names": ["x", "y"]}),
])
def test_validation(srv, case, cols, kw):
    st, h, body = put_labels(srv, cols, **kw)
    assert st == 400, (case, body)
    assert json.loads(body)["status"] == "error"
    assert user_columns(srv)[1] == 0


def test_malformed_bodies(srv):
    for body in (b"", b"not deflated", zlib.compress(b"\x04\x00\x00\x00garbage"), zlib.compress(bytes(64))):
        st, _, resp = srv.request("PUT", "/api/v0.2/annotations/obs", body=body)
        assert st == 400, (body, resp)
    st, _, _ = srv.request("PUT", "/api/v0.2/annotations/obs?annotation-collection-name=bad/name",
                           body=matrix(N_OBS, []))
    assert st == 400


def test_if_match(srv):
    st, h, _ = put_labels(srv, [("x", "json", labels(0))], if_match=0)
    assert st == 200 and version(h) == 1
    st, h, body = put_labels(srv, [("x", "json", labels(1))], if_match=0)
    assert st == 412 and json.loads(body)["version"] == 1 and version(h) == 1
    st, h, _ = put_labels(srv, [("x", "json", labels(1))], if_match=1)
    assert st == 200 and version(h) == 2
    st, h, _ = put_labels(srv, [("x", "json", labels(2))])  # no If-Match: last writer wins
    assert st == 200 and version(h) == 3


def test_genesets_tid(srv):
    g, h = get_json(srv, "/api/v0.2/genesets")
    assert g == {"genesets": [], "tid": 0} and h["cache-control"] == "no-store"
    sets = {"genesets": [{"geneset_name": "t cells", "geneset_description": "d, with comma",
                          "genes": [{"gene_symbol": "CD3E", "gene_description": ""}]}], "tid": 1}
    st, h, body = srv.request("PUT", "/api/v0.2/genesets", body=json.dumps(sets),
                              headers={"Content-Type": "application/json", "Accept": "application/json"})
    assert st == 200 and version(h) == 1, body
    g, _ = get_json(srv, "/api/v0.2/genesets")
    assert g == sets
    st, _, body = srv.request("PUT", "/api/v0.2/genesets", body=json.dumps(sets),
                              headers={"Content-Type": "application/json", "Accept": "application/json"})
    assert st == 404 and "stale" in json.loads(body)["message"]
    st, _, body = srv.get("/api/v0.2/genesets", {"Accept": "text/csv"})
    assert st == 200 and body.decode().splitlines() == [
        "gene_set_name,gene_set_description,gene_symbol,gene_description", 't cells,"d, with comma",CD3E,']
    bad = {"genesets": [{"genes": []}], "tid": 5}
    st, _, _ = srv.request("PUT", "/api/v0.2/genesets", body=json.dumps(bad), headers={"Accept": "application/json"})
    assert st == 400


def test_concurrent_read_modify_write(srv):
    """4 clients x 10 cycles: read (ETag), add one column, PUT with If-Match; retry on 412."""
    acked, conflicts, errors = [], [], []
    lock = threading.Lock()

    def client(k):
        for i in range(10):
            for _ in range(200):
                cols, v = user_columns(srv)
                mine = [(c["name"], "json", [c["categories"][0]] * N_OBS) for c in cols]
                name = "c%d_%d" % (k, i)
                st, h, body = put_labels(srv, mine + [(name, "json", [name] * N_OBS)], if_match=v)
                if st == 200:
                    with lock:
                        acked.append((version(h), name))
                    break
                if st != 412:
                    errors.append((st, body))
                    return
                with lock:
                    conflicts.append((v, json.loads(body)["version"]))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors
    assert sorted(v for v, _ in acked) == list(range(1, 41))  # every acknowledged write is its own version
    cols, v = user_columns(srv)
    assert v == 40 and sorted(c["name"] for c in cols) == sorted(n for _, n in acked)  # no lost update
    assert all(cur > seen for seen, cur in conflicts)


def test_crash_keeps_last_acknowledged(bundles, workdir):
    adir = tempfile.mkdtemp(prefix="annot-crash.", dir=workdir)
    s = start(bundles, workdir, adir, "crash1")
    acked = []
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            i += 1
            try:
                st, h, _ = put_labels(s, [("seq", "json", ["v%d" % i] * N_OBS)])
            except OSError:
                return
            if st == 200:
                acked.append((version(h), i))

    t = threading.Thread(target=writer)
    t.start()
    deadline = time.time() + 60
    while len(acked) < 25 and time.time() < deadline:
        time.sleep(0.01)
    os.kill(s.proc.pid, signal.SIGKILL)
    s.proc.wait(timeout=10)
    stop.set()
    t.join(timeout=30)
    s.logf.close()
    assert len(acked) >= 25
    last_v, last_i = acked[-1]
    s2 = start(bundles, workdir, adir, "crash2")
    try:
        st, h, body = s2.get("/api/v0.2/annotations/obs?annotation-name=seq", OCTET)
        assert st == 200
        v, values = version(h), list(decode(body)["columns"][0]["value"])
        # the last acknowledged version, or the one in flight when the server died if it had committed; never
        # a torn or partial one
        assert v in (last_v, last_v + 1)
        expect = last_i if v == last_v else last_i + 1
        assert values == ["v%d" % expect] * N_OBS
    finally:
        s2.stop()
