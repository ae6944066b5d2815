"""Explorer memory under concurrent load, over HTTP against the real binary (design: src/explorer/explorer.h notes
4-5): many concurrent identical and different large requests all get complete, correct bodies while the server
shares identical bodies (single-flight) and keeps response bodies within --body-mb; with a tiny budget held by a
client that does not read, the next large request waits --queue-timeout-ms and gets 503 + Retry-After + a JSON
error, and succeeds once the budget is free. Every wait is bounded."""
import concurrent.futures as cf
import json
import os
import re
import socket
import subprocess
import time

import pytest

from conftest import CELLGATE, Server
from netenc import decode

CELLS, GENES = 150000, 300
OCTET = {"Accept": "application/octet-stream"}


@pytest.fixture(scope="module")
def big(workdir):
    """A synthetic bundle large enough that annotations/obs (v0.2) is ~12 MB: bigger than socket buffers."""
    h5ad, cgb = os.path.join(workdir, "load.h5ad"), os.path.join(workdir, "load.cgb")
    subprocess.run([CELLGATE, "synth", "--quiet", "--cells", str(CELLS), "--genes", str(GENES), "--nnz-per-cell",
                    "30", "--compression", "none", "--out", h5ad], check=True, timeout=300)
    subprocess.run([CELLGATE, "ingest", "--quiet", h5ad, cgb], check=True, timeout=300)
    os.unlink(h5ad)
    return cgb


def metrics(s):
    text = s.get("/metrics")[2].decode()
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"^(cellgate_[a-z_]+) ([0-9.e+-]+)$", text, re.M)}


def gene_names(s):
    st, _, body = s.get("/api/v0.2/annotations/var?annotation-name=name_0", OCTET)
    assert st == 200
    return decode(body)["columns"][0]["value"]


def requests_for(names):
    """(path, headers) of the burst: identical big bodies, different big bodies, both encodings."""
    reqs = []
    for _ in range(6):
        reqs.append(("/api/v0.2/annotations/obs", OCTET))                 # ~12 MB, identical
        reqs.append(("/api/v0.2/layout/obs", OCTET))                      # identical
        reqs.append(("/api/v0.3/annotations/obs", dict(OCTET, **{"Accept-Encoding": "zstd"})))
    for i in range(12):                                                   # all different: ten genes each
        q = "&".join("var:name_0=" + names[(i * 10 + k) % len(names)] for k in range(10))
        reqs.append(("/api/v0.2/data/var?" + q, OCTET if i % 2 else dict(OCTET, **{"Accept-Encoding": "gzip"})))
    return reqs


def fetch(s, path, headers):
    st, h, body = s.get(path, headers)
    assert "content-length" not in h or int(h["content-length"]) == len(body)
    return st, h, body


def plain(h, body):
    enc = h.get("content-encoding")
    if enc == "gzip":
        import gzip
        return gzip.decompress(body)
    if enc == "zstd":
        return subprocess.run(["zstd", "-dc"], input=body, capture_output=True, check=True).stdout
    return body


def test_concurrent_identical_and_different(big, workdir):
    s = Server([big, "--cache-mb", "4", "--body-mb", "48", "--workers", "2"], workdir, "load")
    try:
        names = gene_names(s)
        reqs = requests_for(names)
        with cf.ThreadPoolExecutor(max_workers=16) as ex:
            t0 = time.time()
            got = list(ex.map(lambda r: fetch(s, *r), reqs, timeout=120))
            assert time.time() - t0 < 120
        m = metrics(s)
        # the same requests one at a time, after the burst: the reference bodies
        for (path, hdr), (st, h, body) in zip(reqs, got):
            assert st == 200, (path, st, body[:200])
            ref_st, ref_h, ref = fetch(s, path, hdr)
            assert ref_st == 200
            assert h["etag"] == ref_h["etag"]
            assert plain(h, body) == plain(ref_h, ref), path
            if "data/var" in path:
                mat = decode(plain(h, body))
                assert mat["n_rows"] == CELLS and mat["n_cols"] == 10  # decode checks every column's length
            if "annotations/obs" in path:
                assert decode(plain(h, body))["n_rows"] == CELLS
        assert m["cellgate_singleflight_joins_total"] + m["cellgate_singleflight_shares_total"] > 0
        assert m["cellgate_body_busy_total"] == 0
        # every body here is smaller than the budget, so the budget was never exceeded
        assert m["cellgate_body_bytes_peak"] <= 48 << 20
        log = s.log_text()
        assert re.search(r" 200 \d+ \S+ (joined|shared) ", log), "no request shared a body"
    finally:
        s.stop()
    time.sleep(0.1)


def wait_for(pred, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return False


def test_busy_503_then_recovers(big, workdir):
    s = Server([big, "--cache-mb", "0", "--body-mb", "1", "--queue-timeout-ms", "300"], workdir, "busy")
    try:
        names = gene_names(s)
        # a client that asks for a big body and does not read it: the body stays in flight, holding the budget
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.settimeout(30)
        slow.connect(("127.0.0.1", s.port))
        slow.sendall(b"GET /api/v0.2/annotations/obs HTTP/1.1\r\nHost: x\r\nAccept: application/octet-stream\r\n\r\n")
        assert wait_for(lambda: metrics(s)["cellgate_body_bytes"] > 1 << 20)
        t0 = time.time()
        st, h, body = s.get("/api/v0.2/data/var?var:name_0=" + names[0], OCTET)
        waited = time.time() - t0
        assert st == 503, body[:200]
        assert h.get("retry-after") == "1"
        assert h["content-type"] == "application/json"
        err = json.loads(body)
        assert err["status"] == "error" and err["code"] == 503 and "busy" in err["message"]
        assert 0.25 <= waited < 10
        # identical requests share the in-flight body instead of waiting for budget
        st, _, shared = s.get("/api/v0.2/annotations/obs", OCTET)
        assert st == 200 and decode(shared)["n_rows"] == CELLS
        # small routes do not use the budget
        assert s.get("/api/v0.2/schema")[0] == 200
        slow.close()
        assert wait_for(lambda: metrics(s)["cellgate_body_bytes"] == 0)
        st, _, body = s.get("/api/v0.2/data/var?var:name_0=" + names[0], OCTET)
        assert st == 200 and decode(body)["n_rows"] == CELLS
        m = metrics(s)
        assert m["cellgate_body_busy_total"] >= 1
        assert " 503 " in s.log_text()
    finally:
        s.stop()
