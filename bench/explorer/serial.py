"""One request at a time: the server time of `data/var` for one random gene (cache misses: every gene once) on a
bundle, read from the server's access log (request arrival -> response queued), beside /health and schema on the
same server and a numpy memcpy of the same 4*n_obs bytes, all in the same run. Bounded: N requests, 30 s timeout
each. Prints a Markdown table.

usage: /usr/bin/python3 bench/explorer/serial.py CELLGATE BUNDLE [N] [PASSES]
The genes are requested PASSES times (default 2) with the response cache off (--cache-mb 0), so every request is
built: in the first pass a gene's CSC pages may still be on disk (new random genes each run), later passes find
them in the page cache; each pass is reported.
"""
import http.client
import json
import random
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

cellgate, bundle = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 200
passes = int(sys.argv[4]) if len(sys.argv) > 4 else 2
log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
proc = subprocess.Popen([cellgate, "explorer", bundle, "--host", "127.0.0.1", "--port", "0", "--cache-mb", "0"],
                        stdout=subprocess.DEVNULL, stderr=log)
try:
    port, deadline = None, time.time() + 60
    while port is None and time.time() < deadline:
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", open(log.name).read())
        port = int(m.group(1)) if m else time.sleep(0.02)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def req(method, path, body=None):
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
        r = conn.getresponse()
        data = r.read()
        assert r.status == 200, (path, r.status, data[:200])
        return data

    schema = json.loads(req("GET", "/api/v0.2/schema"))["schema"]["dataframe"]
    n_obs, n_var = schema["nObs"], schema["nVar"]
    genes = random.Random().sample(range(n_var), min(n, n_var))
    for _ in range(n):
        req("GET", "/health")
        req("GET", "/api/v0.2/schema")
    for p in range(passes):
        for g in genes:
            body = req("PUT", f"/api/v0.2/data/var?pass={p}", json.dumps({"filter": {"var": {"index": [g]}}}))
            assert len(body) >= 4 * n_obs
    time.sleep(0.2)
finally:
    proc.terminate()
    proc.wait(timeout=10)
lines = open(log.name).read().splitlines()


def server_ms(prefix):
    v = [float(m.group(1)) for l in lines if l.startswith(prefix) for m in [re.search(r" ([\d.]+)ms [\d.]+ms", l)] if m]
    return np.array(v)


src = np.random.default_rng(0).random(n_obs, dtype=np.float32)
dst = np.empty_like(src)
copies = []
for _ in range(50):
    t = time.perf_counter()
    np.copyto(dst, src)
    copies.append((time.perf_counter() - t) * 1e3)
rows = [(f"one gene, data/var PUT, pass {p + 1} ({'first read' if p == 0 else 'page cache warm'})",
         server_ms(f"PUT /api/v0.2/data/var?pass={p} ")) for p in range(passes)]
rows += [
        ("schema", server_ms("GET /api/v0.2/schema")), ("/health", server_ms("GET /health"))]
print(f"bundle {bundle}: {n_obs} cells x {n_var} genes; {n} sequential requests per route\n")
print("| request | server ms p50 | p99 | max | baseline: memcpy of 4·n_obs bytes (median ms) |")
print("|---|---|---|---|---|")
for name, v in rows:
    print(f"| {name} | {np.percentile(v, 50):.3f} | {np.percentile(v, 99):.3f} | {v.max():.3f} | "
          f"{np.median(copies):.3f} |")
