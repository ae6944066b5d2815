"""The Explorer serves the built web client at the dataset root: "/" in single mode, "/e/<id>/" in --data mode
("/e/<id>" redirects there, since the client finds the API relative to its page), with ETag revalidation and
gzip/zstd; without a built client "/" explains how to build it."""
import gzip
import json
import os

import pytest
from conftest import Server

FILES = {"index.html": b"<!doctype html><title>t</title><script src=app.js></script>" + b" " * 2000,
         "app.js": b"console.log('cellgate');\n" * 200, "app.css": b"body{margin:0}\n" * 100}


@pytest.fixture(scope="module")
def webdir(workdir):
    d = os.path.join(workdir, "webdist")
    os.makedirs(d, exist_ok=True)
    for name, data in FILES.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    return d


@pytest.fixture(scope="module")
def web_single(bundles, workdir, webdir):
    s = Server([os.path.join(bundles, "pbmc68k_reduced.cgb"), "--web", webdir], workdir, "web_single")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def web_multi(bundles, workdir, webdir):
    s = Server(["--data", bundles, "--web", webdir], workdir, "web_multi")
    yield s
    s.stop()


def test_single_root_and_files(web_single):
    st, h, body = web_single.get("/")
    assert st == 200 and h["content-type"].startswith("text/html") and body == FILES["index.html"]
    st, h, body = web_single.get("/app.js")
    assert st == 200 and h["content-type"].startswith("text/javascript") and body == FILES["app.js"]
    assert h["cache-control"] == "no-cache" and h["etag"].startswith('"')
    st, h2, body = web_single.get("/app.js", {"If-None-Match": h["etag"]})
    assert st == 304 and body == b""
    st, h, body = web_single.get("/app.css", {"Accept-Encoding": "gzip"})
    assert st == 200 and h.get("content-encoding") == "gzip" and gzip.decompress(body) == FILES["app.css"]
    st, _, _ = web_single.get("/nope.js")
    assert st == 404
    st, _, body = web_single.get("/api/v0.2/schema")  # the API is still there
    assert st == 200 and json.loads(body)["schema"]["dataframe"]["nObs"] == 700


def test_multi_redirect_and_files(web_multi):
    st, h, _ = web_multi.get("/e/pbmc68k_reduced")
    assert st == 301 and h["location"] == "/e/pbmc68k_reduced/"
    st, h, body = web_multi.get("/e/pbmc68k_reduced/")
    assert st == 200 and body == FILES["index.html"]
    st, h, body = web_multi.get("/e/pbmc68k_reduced/app.js")
    assert st == 200 and body == FILES["app.js"]
    st, _, body = web_multi.get("/e/pbmc68k_reduced/api/v0.2/schema")
    assert st == 200 and json.loads(body)["schema"]["dataframe"]["nObs"] == 700


def test_client_not_built(bundles, workdir):
    s = Server([os.path.join(bundles, "pbmc68k_reduced.cgb"), "--web", os.path.join(workdir, "no-such-dir")],
               workdir, "web_none")
    try:
        st, h, body = s.get("/")
        assert st == 404 and "make web" in json.loads(body)["message"]
    finally:
        s.stop()
