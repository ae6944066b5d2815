#!/usr/bin/python3
"""bench.py — measures one running `cellgate explorer` on a bundle (run.sh drives it; see bench/README.md).

Every figure stands beside a baseline from the same run:
  latency (wrk, CONNS connections, DURATION s each): schema, one gene (a different random gene per request, so
    the body cache misses), one gene repeated (cache hit), ten genes (random), annotations/obs (all columns),
    layout/obs — baseline: /health through the same server and client (the HTTP floor), and the time to copy the
    response's bytes in memory once (numpy).
  server time: the /metrics histogram (time from request to queued response), mean per route.
  throughput at 64 connections, one gene (random) — baseline /health at 64 connections.
  peak RssAnon of the server over the whole run (sampled every 20 ms) — baseline: RssAnon right after start.
  cold start: spawn → first 200 from schema (best of 3) — baseline: spawn → exit of `cellgate --version`.
  wire bytes: one gene with v0.3 nbins=500 and zstd / gzip — baseline: the raw float32 column (4 · n_obs).
"""
import argparse
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

CELLGATE = os.environ.get("CELLGATE", "build/cellgate")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def get(port, path, headers=None, timeout=60):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        c.close()


def start(bundle, port):
    t0 = time.perf_counter()
    p = subprocess.Popen([CELLGATE, "explorer", bundle, "--port", str(port), "--quiet"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if get(port, "/api/v0.2/schema", timeout=5)[0] == 200:
                return p, time.perf_counter() - t0
        except OSError:
            time.sleep(0.001)
    p.kill()
    raise RuntimeError("server did not answer")


def stop(p):
    p.terminate()
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=10)


def rss_anon_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


class Sampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0, False

    def run(self):
        while not self.done:
            try:
                self.peak = max(self.peak, rss_anon_kib(self.pid))
            except OSError:
                return
            time.sleep(0.02)


LUA_RANDOM = """
math.randomseed(%d)
local n, k = %d, %d
request = function()
  local parts = {}
  for i = 1, k do parts[i] = "var:name_0=" .. names[math.random(n)] end
  return wrk.format("GET", "%s?" .. table.concat(parts, "&"), {["Accept"] = "application/octet-stream"})
end
"""


def wrk(port, path, conns, duration, script=None, headers=()):
    cmd = ["wrk", "-t", str(min(2, conns)), "-c", str(conns), "-d", "%ds" % duration, "--latency", "--timeout", "30s"]
    for h in headers:
        cmd += ["-H", h]
    if script:
        cmd += ["-s", script]
    cmd.append("http://127.0.0.1:%d%s" % (port, path))
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60).stdout

    def ms(label):
        m = re.search(r"^\s+%s\s+([\d.]+)(us|ms|s)\s*$" % re.escape(label), out, re.M)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3}[m.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"p50": ms("50%"), "p99": ms("99%"), "rps": float(rps.group(1)) if rps else float("nan"),
            "errors": int(non2xx.group(1)) if non2xx else 0}


def gene_script(tmp, names, k, path):
    p = os.path.join(tmp, "genes%d.lua" % k)
    with open(p, "w") as f:
        f.write("names = {" + ",".join('"%s"' % n for n in names) + "}\n")
        f.write(LUA_RANDOM % (k, len(names), k, path))
    return p


def metrics_mean_ms(port):
    text = get(port, "/metrics")[2].decode()
    out = {}
    for m in re.finditer(r'cellgate_http_request_duration_seconds_sum\{route="([^"]+)"\} ([\d.e+-]+)', text):
        c = re.search(r'cellgate_http_request_duration_seconds_count\{route="%s"\} (\d+)' % re.escape(m.group(1)), text)
        if c and int(c.group(1)):
            out[m.group(1)] = float(m.group(2)) / int(c.group(1)) * 1e3
    return out


def memcpy_ms(nbytes):
    a = np.ones(max(nbytes // 4, 1), dtype=np.float32)
    best = 1e9
    for _ in range(5):
        t = time.perf_counter()
        b = a.copy()
        best = min(best, time.perf_counter() - t)
        del b
    return best * 1e3


def gene_names(port, n):
    # one decode of annotations/var name_0: JSONEncodedArray, parsed crudely (the only JSON array in the buffer)
    st, h, body = get(port, "/api/v0.2/annotations/var?annotation-name=name_0")
    start = body.index(b'["')
    end = body.index(b'"]', start) + 2
    return json.loads(body[start:end])[:n]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--conns", type=int, default=8)
    a = ap.parse_args()
    rows = []
    # cold start, best of 3 (page cache warm after the first)
    colds = []
    for _ in range(3):
        port = free_port()
        p, t = start(a.bundle, port)
        colds.append(t)
        stop(p)
    t0 = time.perf_counter()
    subprocess.run([CELLGATE, "--version"], capture_output=True)
    exec_ms = (time.perf_counter() - t0) * 1e3
    port = free_port()
    p, _ = start(a.bundle, port)
    base_anon = rss_anon_kib(p.pid)
    sampler = Sampler(p.pid)
    sampler.start()
    schema = json.loads(get(port, "/api/v0.2/schema")[2])["schema"]
    n_obs, n_var = schema["dataframe"]["nObs"], schema["dataframe"]["nVar"]
    names = gene_names(port, 2000)
    tmp = tempfile.mkdtemp(prefix="bench-explorer.")
    s1, s10 = gene_script(tmp, names, 1, "/api/v0.2/data/var"), gene_script(tmp, names, 10, "/api/v0.2/data/var")
    octet = ["Accept: application/octet-stream"]
    sizes = {}
    for route, path in [("schema", "/api/v0.2/schema"), ("annotations/obs", "/api/v0.2/annotations/obs"),
                        ("layout/obs", "/api/v0.2/layout/obs"),
                        ("one gene", "/api/v0.2/data/var?var:name_0=" + names[0])]:
        sizes[route] = len(get(port, path, {"Accept": "application/octet-stream" if route != "schema" else "*/*"})[2])
    sizes["ten genes"] = sizes["one gene"] * 10
    d, c = a.duration, a.conns
    health = wrk(port, "/health", c, d)
    peaks = {}

    def phase(name, *args):
        sampler.peak = 0
        r = wrk(port, *args)
        time.sleep(0.05)
        peaks[name] = sampler.peak
        return r

    res = {
        "schema": phase("schema", "/api/v0.2/schema", c, d),
        "one gene (random: cache miss)": phase("g1", "/", c, d, s1),
        "one gene (repeated: cache hit)": phase("g1hit", "/api/v0.2/data/var?var:name_0=" + names[0], c, d, None, octet),
        "ten genes (random)": phase("g10", "/", c, d, s10),
        "annotations/obs (all columns)": phase("ann", "/api/v0.2/annotations/obs", c, d, None, octet),
        "layout/obs": phase("lay", "/api/v0.2/layout/obs", c, d, None, octet),
    }
    server_ms = metrics_mean_ms(port)
    tp_health = wrk(port, "/health", 64, d)
    tp_gene = phase("tp", "/", 64, d, s1)
    overall = max(peaks.values())
    # wire bytes for one gene, nbins=500, compressed
    wire = {}
    gpath = "/api/v0.3/data/var?nbins=500&var:name_0=" + names[1]
    for enc in ["zstd", "gzip"]:
        wire[enc] = len(get(port, gpath, {"Accept": "application/octet-stream", "Accept-Encoding": enc})[2])
    wire["identity"] = len(get(port, gpath, {"Accept": "application/octet-stream"})[2])
    sampler.done = True
    sampler.join()
    peak = overall
    stop(p)

    size_of = {"schema": "schema", "one gene (random: cache miss)": "one gene", "one gene (repeated: cache hit)":
               "one gene", "ten genes (random)": "ten genes", "annotations/obs (all columns)": "annotations/obs",
               "layout/obs": "layout/obs"}
    L = []
    L.append("# Explorer server benchmark — %d cells × %d genes (%s)\n" % (n_obs, n_var, time.strftime("%Y-%m-%d %H:%M")))
    L.append("wrk: 2 threads, %d connections, %d s per row; server defaults: 2 connection threads, 2 workers, 64 MiB body cache inside a 160 MiB body budget (--body-mb).\n" % (c, d))
    L.append("| request | body bytes | p50 ms | p99 ms | req/s | non-2xx | peak RssAnon MB | baseline: /health p50 / p99 ms | baseline: memcpy of the body ms |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    pk = dict(zip(res, ["schema", "g1", "g1hit", "g10", "ann", "lay"]))
    for k, r in res.items():
        L.append("| %s | %d | %.2f | %.2f | %.0f | %d | %.1f | %.2f / %.2f | %.3f |" % (
            k, sizes[size_of[k]], r["p50"], r["p99"], r["rps"], r["errors"], peaks[pk[k]] / 1024, health["p50"],
            health["p99"], memcpy_ms(sizes[size_of[k]])))
    L.append("\nServer time (request → response queued), mean over the run, from /metrics:\n")
    L.append("| route | mean server ms |")
    L.append("|---|---|")
    for k in ["schema", "data/var", "annotations/obs", "layout/obs", "health"]:
        if k in server_ms:
            L.append("| %s | %.3f |" % (k, server_ms[k]))
    L.append("\n| figure | value | baseline (same run) | target |")
    L.append("|---|---|---|---|")
    L.append("| throughput, one random gene, 64 connections | %.0f req/s (p99 %.1f ms, non-2xx %d; peak RssAnon %.1f MB) | /health at 64 connections: %.0f req/s | — |" % (
        tp_gene["rps"], tp_gene["p99"], tp_gene["errors"], peaks["tp"] / 1024, tp_health["rps"]))
    L.append("| peak RssAnon of the server over the run (max of the rows) | %.1f MB | right after start: %.1f MB | ≤ 200 MB |" % (
        peak / 1024, base_anon / 1024))
    L.append("| cold start: spawn → first schema 200 (best of 3) | %.1f ms | spawn → exit of `cellgate --version`: %.1f ms | ≤ 100 ms |" % (
        min(colds) * 1e3, exec_ms))
    L.append("| one gene, v0.3 nbins=500, zstd | %d B (%.3f of raw) | raw float32 column: %d B; identity nbins body %d B | ≤ 1/4 of raw |" % (
        wire["zstd"], wire["zstd"] / (4 * n_obs), 4 * n_obs, wire["identity"]))
    L.append("| one gene, v0.3 nbins=500, gzip | %d B (%.3f of raw) | raw float32 column: %d B | ≤ 1/4 of raw |" % (
        wire["gzip"], wire["gzip"] / (4 * n_obs), 4 * n_obs))
    text = "\n".join(L) + "\n"
    print(text)
    with open(a.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())
