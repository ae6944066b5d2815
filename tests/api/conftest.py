"""Fixtures for the Explorer API tests: bundles ingested once per session, servers started from the real binary
on 127.0.0.1 with --port 0 (the port is read from the server's stderr), every wait bounded."""
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))

CELLGATE = os.environ.get("CELLGATE", os.path.join(os.path.dirname(__file__), "../../build/cellgate"))
SHARED = os.environ.get("CG_SHARED_DATA", os.path.join(os.path.dirname(__file__), "../../../shared/data"))
DATASETS = ["pbmc68k_reduced", "pbmc3k-subset-nan", "anndata-archive-v0.11.4-no-X", "osmfish-cortex-6471",
            "t-cells-zero-level-categorical"]


class Server:
    def __init__(self, args, workdir, name):
        self.log = os.path.join(workdir, name + ".log")
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen([CELLGATE, "explorer", *args, "--host", "127.0.0.1", "--port", "0"],
                                     stdout=subprocess.DEVNULL, stderr=self.logf)
        self.port = None
        deadline = time.time() + 120
        while time.time() < deadline and self.port is None:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + open(self.log).read())
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", open(self.log).read())
            if m:
                self.port = int(m.group(1))
            else:
                time.sleep(0.02)
        if self.port is None:
            self.stop()
            raise RuntimeError("server did not start in time")

    def request(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def log_text(self):
        self.logf.flush()
        return open(self.log).read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.logf.close()
        text = open(self.log).read()
        for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            assert bad not in text, "server %s:\n%s" % (bad, text[-4000:])
        assert self.proc.returncode == 0, "server exit code %s" % self.proc.returncode


@pytest.fixture(scope="session")
def workdir():
    base = os.environ.get("CG_TMPDIR") or tempfile.gettempdir()
    os.makedirs(base, exist_ok=True)
    d = tempfile.mkdtemp(prefix="api.", dir=base)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def bundles(workdir):
    out = os.path.join(workdir, "bundles")
    os.makedirs(out)
    for name in DATASETS:
        subprocess.run([CELLGATE, "ingest", "--quiet", os.path.join(SHARED, name + ".h5ad"),
                        os.path.join(out, name + ".cgb")], check=True, timeout=300)
    return out


@pytest.fixture(scope="session")
def multi(bundles, workdir):
    s = Server(["--data", bundles, "--max-open", "3", "--cache-mb", "16"], workdir, "multi")
    yield s
    s.stop()


@pytest.fixture(scope="session")
def single(bundles, workdir):
    s = Server([os.path.join(bundles, "pbmc68k_reduced.cgb")], workdir, "single")
    yield s
    s.stop()


_adatas = {}


def adata(name):
    import anndata
    if name not in _adatas:
        _adatas[name] = anndata.read_h5ad(os.path.join(SHARED, name + ".h5ad"))
    return _adatas[name]
