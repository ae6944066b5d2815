"""The Explorer API over HTTP against the real binary (`cellgate explorer`), values checked against python3-anndata
reads of the source .h5ad files. One multi-dataset server serves every shared dataset at /e/<id>/api/...; a
single-dataset server checks the cellxgene-launch layout (/api/v0.2/...)."""
import hashlib
import json
import os
import subprocess
import urllib.parse
import zlib

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import CELLGATE, DATASETS, SHARED, Server, adata
from netenc import decode

OCTET = {"Accept": "application/octet-stream"}


def base(ds, api=2):
    return "/e/%s/api/v0.%d/" % (ds, api)


def q2(v):
    """The client's double encoding of filter names and values."""
    return urllib.parse.quote(urllib.parse.quote(str(v), safe=""), safe="")


def fbs(server, path, headers=OCTET, status=200):
    st, h, body = server.get(path, headers)
    assert st == status, (path, st, body[:300])
    assert h["content-type"] == "application/octet-stream"
    return decode(body)


def jget(server, path, status=200):
    st, h, body = server.get(path, {"Accept": "application/json"})
    assert st == status, (path, st, body[:300])
    assert h["content-type"].startswith("application/json")
    return json.loads(body)


def dense_gene(a, g):
    col = a.X[:, g]
    col = col.toarray() if sp.issparse(col) else np.asarray(col)
    return np.asarray(col, dtype=np.float32).ravel()


def expected_column(series):
    """What v0.2 sends for an annotation column: (kind, values)."""
    dt = series.dtype
    if isinstance(dt, pd.CategoricalDtype):
        return "json", [None if pd.isna(v) else str(v) for v in series.astype(object)]
    if dt == bool:
        return "uint32", series.to_numpy().astype(np.uint32)
    if np.issubdtype(dt, np.integer):
        v = series.to_numpy()
        if v.min(initial=0) >= -2**31 and v.max(initial=0) < 2**31:
            return "int32", v.astype(np.int32)
        return "float32", v.astype(np.float32)
    if np.issubdtype(dt, np.floating):
        return "float32", series.to_numpy().astype(np.float32)
    return "json", [None if pd.isna(v) else str(v) for v in series.astype(object)]


def check_column(col, series):
    kind, exp = expected_column(series)
    tag = {"json": 5, "uint32": 3, "int32": 2, "float32": 1}[kind]
    assert col["tag"] == tag, (series.name, col["tag"], tag)
    if kind == "json":
        assert col["value"] == exp, series.name
    else:
        np.testing.assert_array_equal(col["value"], exp, err_msg=str(series.name))


def normalised_layout(E):
    E = np.asarray(E, dtype=np.float64)[:, :2]
    lo, hi = np.nanmin(E, axis=0), np.nanmax(E, axis=0)
    scale = np.max(hi - lo)
    return (E - lo) / scale + (0.5 - (hi - lo) / scale / 2)


# --- config / schema / colors / genesets -------------------------------------------------------------------------


@pytest.mark.parametrize("ds", DATASETS)
def test_config_and_schema(multi, ds):
    a = adata(ds)
    cfg = jget(multi, base(ds) + "config")["config"]
    layouts = [k[2:] for k in a.obsm.keys() if k.startswith("X_")]
    assert sorted(cfg["parameters"]["layout"]) == sorted(layouts)
    assert cfg["parameters"]["annotations"] is False and cfg["parameters"]["annotations_genesets"] is False
    assert cfg["limits"]["column_request_max"] == 32
    sch = jget(multi, base(ds) + "schema")["schema"]
    assert sch["dataframe"] == {"nObs": a.n_obs, "nVar": a.n_vars, "type": "float32"}
    obs = sch["annotations"]["obs"]
    assert obs["index"] == "name_0"
    cols = {c["name"]: c for c in obs["columns"]}
    assert cols["name_0"]["type"] == "string"
    assert set(cols) == {"name_0", *a.obs.columns}
    for name in a.obs.columns:
        dt = a.obs[name].dtype
        t = cols[name]["type"]
        if isinstance(dt, pd.CategoricalDtype):
            assert t == "categorical" and cols[name]["categories"] == [str(c) for c in dt.categories]
        elif dt == bool:
            assert t == "boolean"
        elif np.issubdtype(dt, np.integer):
            assert t in ("int32", "float32")
        elif np.issubdtype(dt, np.floating):
            assert t == "float32"
    assert [l["name"] for l in sch["layout"]["obs"]] == layouts
    assert all(l["dims"] == [l["name"] + "_0", l["name"] + "_1"] for l in sch["layout"]["obs"])


def test_schema_v03_bool_is_categorical(multi):
    sch = jget(multi, base("pbmc68k_reduced", 3) + "schema")["schema"]
    hv = [c for c in sch["annotations"]["var"]["columns"] if c["name"] == "highly_variable"][0]
    assert hv["type"] == "categorical" and hv["categories"] == ["False", "True"]


@pytest.mark.parametrize("ds", ["pbmc68k_reduced", "osmfish-cortex-6471"])
def test_colors(multi, ds):
    a = adata(ds)
    got = jget(multi, base(ds) + "colors")
    exp = {}
    for k, v in a.uns.items():
        if k.endswith("_colors") and k[:-7] in a.obs.columns:
            cats = a.obs[k[:-7]].cat.categories
            exp[k[:-7]] = {str(c): str(col) for c, col in zip(cats, v)}
    assert got == exp


def test_genesets_json_and_csv(multi):
    assert jget(multi, base("pbmc68k_reduced") + "genesets") == {"genesets": [], "tid": 0}
    st, h, body = multi.get(base("pbmc68k_reduced") + "genesets", {"Accept": "text/csv"})
    assert st == 200 and h["content-type"].startswith("text/csv")
    assert body.decode().splitlines() == ["gene_set_name,gene_set_description,gene_symbol,gene_description"]
    assert h["cache-control"] == "no-store"


# --- annotations ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ds", [d for d in DATASETS if d != "t-cells-zero-level-categorical"])
@pytest.mark.parametrize("axis", ["obs", "var"])
def test_annotations_all(multi, ds, axis):
    a = adata(ds)
    df = a.obs if axis == "obs" else a.var
    m = fbs(multi, base(ds) + "annotations/" + axis)
    assert m["n_rows"] == df.shape[0]
    assert m["col_index"] == ["name_0", *df.columns]
    assert m["columns"][0]["value"] == [str(x) for x in df.index]
    for col, name in zip(m["columns"][1:], df.columns):
        check_column(col, df[name])


def test_annotations_named_and_limit(multi):
    ds = "t-cells-zero-level-categorical"
    a = adata(ds)
    names = list(a.obs.columns[:5])
    qs = "&".join("annotation-name=" + urllib.parse.quote(n) for n in names)
    m = fbs(multi, base(ds) + "annotations/obs?" + qs)
    assert m["col_index"] == names
    for col, name in zip(m["columns"], names):
        check_column(col, a.obs[name])
    # 79 columns: "all" is over the 32-column limit, and so are 33 names
    st, h, body = multi.get(base(ds) + "annotations/obs", OCTET)
    assert st == 400 and "annotation-name" in json.loads(body)["message"]
    qs = "&".join("annotation-name=" + urllib.parse.quote(n) for n in a.obs.columns[:33])
    st, h, body = multi.get(base(ds) + "annotations/obs?" + qs, OCTET)
    assert st == 400 and h["content-type"] == "application/json"
    st, h, body = multi.get(base(ds) + "annotations/obs?annotation-name=nope", OCTET)
    assert st == 400 and "nope" in json.loads(body)["message"]


def test_annotations_v03_dict_and_nbins(multi):
    ds = "pbmc68k_reduced"
    a = adata(ds)
    m = fbs(multi, base(ds, 3) + "annotations/obs?annotation-name=louvain&annotation-name=n_counts&nbins=500")
    lv, nc = m["columns"]
    assert lv["tag"] == 6 and lv["value"] == [str(x) for x in a.obs["louvain"]]
    assert nc["tag"] == 9 and nc["nbins"] == 500
    x = a.obs["n_counts"].to_numpy(np.float64)
    step = (x.max() - x.min()) / 500
    assert np.all(np.abs(nc["value"] - x) <= step * 1.001 + 1e-6)
    m = fbs(multi, base(ds, 3) + "annotations/var?annotation-name=highly_variable")
    hv = m["columns"][0]
    assert hv["tag"] == 6 and hv["value"] == [str(bool(v)) for v in a.var["highly_variable"]]


# --- data/var --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ds", ["pbmc68k_reduced", "pbmc3k-subset-nan", "osmfish-cortex-6471",
                                "t-cells-zero-level-categorical"])
def test_data_var_get_by_name(multi, ds):
    a = adata(ds)
    genes = [0, a.n_vars // 2, a.n_vars - 1]
    qs = "&".join("var:name_0=" + q2(a.var_names[g]) for g in genes)
    m = fbs(multi, base(ds) + "data/var?" + qs)
    assert m["n_rows"] == a.n_obs and m["col_index"] == sorted(set(genes))
    for col, g in zip(m["columns"], m["col_index"]):
        assert col["tag"] == 1
        np.testing.assert_array_equal(col["value"], dense_gene(a, g))


def test_data_var_put_index_and_annotation_filters(multi):
    ds = "pbmc68k_reduced"
    a = adata(ds)
    body = json.dumps({"filter": {"var": {"index": [3, [10, 12]]}}})
    st, h, data = multi.request("PUT", base(ds) + "data/var", body, {"Content-Type": "application/json", **OCTET})
    assert st == 200
    m = decode(data)
    assert m["col_index"] == [3, 10, 11]
    for col, g in zip(m["columns"], m["col_index"]):
        np.testing.assert_array_equal(col["value"], dense_gene(a, g))
    # a numeric range on a var column, query form: dispersions_norm in [5, *]
    exp = np.flatnonzero(a.var["dispersions_norm"].to_numpy() >= 5).tolist()
    m = fbs(multi, base(ds) + "data/var?var:dispersions_norm=5,*")
    assert m["col_index"] == exp and 0 < len(exp) <= 32
    # JSON annotation_value with min/max gives the same genes
    body = json.dumps({"filter": {"var": {"annotation_value": [{"name": "dispersions_norm", "min": 5}]}}})
    st, h, data = multi.request("PUT", base(ds) + "data/var", body, OCTET)
    assert st == 200 and decode(data)["col_index"] == exp


@pytest.mark.parametrize("qs,word", [("obs:louvain=1", "obs"), ("var:nope=1", "nope"),
                                     ("var:dispersions_norm=1,2&var:dispersions_norm=3", "dispersions_norm"),
                                     ("var:name_0=1,2", "name_0"), ("", "genes")])
def test_data_var_bad_filters(multi, qs, word):
    st, h, body = multi.get(base("pbmc68k_reduced") + "data/var?" + qs, OCTET)
    assert st == 400 and h["content-type"] == "application/json"
    assert word in json.loads(body)["message"]


def test_data_var_bad_json_and_no_matrix(multi):
    st, h, body = multi.request("PUT", base("pbmc68k_reduced") + "data/var", "{not json", OCTET)
    assert st == 400
    ds = "anndata-archive-v0.11.4-no-X"
    name = adata(ds).var_names[0]
    st, h, body = multi.get(base(ds) + "data/var?var:name_0=" + q2(name), OCTET)
    assert st == 404 and "matrix" in json.loads(body)["message"]


def test_data_var_v03_nbins_wire_size(multi):
    ds = "osmfish-cortex-6471"
    a = adata(ds)
    name = a.var_names[5]
    m = fbs(multi, base(ds, 3) + "data/var?nbins=500&var:name_0=" + q2(name))
    col = m["columns"][0]
    x = dense_gene(a, 5).astype(np.float64)
    assert col["tag"] == 9
    assert np.all(np.abs(col["value"] - x) <= (x.max() - x.min()) / 500 * 1.001 + 1e-6)
    st, h, body = multi.get(base(ds, 3) + "data/var?nbins=500&var:name_0=" + q2(name),
                            {**OCTET, "Accept-Encoding": "gzip"})
    assert h.get("content-encoding") == "gzip"
    assert len(body) <= a.n_obs * 4 / 4, (len(body), a.n_obs * 4)
    st, h, body = multi.get(base(ds, 3) + "data/var?nbins=0&var:name_0=" + q2(name), OCTET)
    assert st == 400 and "nbins" in json.loads(body)["message"]


# --- layout, summarize ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ds", ["pbmc68k_reduced", "pbmc3k-subset-nan", "osmfish-cortex-6471"])
def test_layout(multi, ds):
    a = adata(ds)
    m = fbs(multi, base(ds) + "layout/obs")
    names = [k[2:] for k in a.obsm.keys() if k.startswith("X_")]
    assert m["col_index"] == [n + s for n in names for s in ("_0", "_1")]
    for i, n in enumerate(names):
        exp = normalised_layout(a.obsm["X_" + n])
        np.testing.assert_allclose(m["columns"][2 * i]["value"], exp[:, 0], atol=2e-6)
        np.testing.assert_allclose(m["columns"][2 * i + 1]["value"], exp[:, 1], atol=2e-6)
    m = fbs(multi, base(ds) + "layout/obs?layout-name=umap")
    assert m["col_index"] == ["umap_0", "umap_1"]
    m = fbs(multi, base(ds, 3) + "layout/obs?layout-name=umap&nbins=5000")
    exp = normalised_layout(a.obsm["X_umap"])
    assert m["columns"][0]["tag"] == 9
    assert np.all(np.abs(m["columns"][0]["value"] - exp[:, 0]) <= 1 / 5000 + 1e-6)
    st, h, body = multi.get(base(ds) + "layout/obs?layout-name=nope", OCTET)
    assert st == 400


def test_layout_none(multi):
    m = fbs(multi, base("anndata-archive-v0.11.4-no-X") + "layout/obs")
    assert m["n_cols"] == 0


@pytest.mark.parametrize("ds", ["pbmc68k_reduced", "pbmc3k-subset-nan"])
def test_summarize_get_and_post(multi, ds):
    a = adata(ds)
    genes = list(range(0, min(a.n_vars, 60), 3))
    form = "method=mean&" + "&".join("var:name_0=" + q2(a.var_names[g]) for g in genes)
    exp = np.mean(np.stack([dense_gene(a, g).astype(np.float64) for g in genes]), axis=0)
    m = fbs(multi, base(ds) + "summarize/var?" + form)
    assert m["col_index"] == [hashlib.sha1(form.encode()).hexdigest()]
    np.testing.assert_allclose(m["columns"][0]["value"], exp, rtol=2e-6, atol=1e-6, equal_nan=True)
    key = hashlib.sha1(form.encode()).hexdigest()
    st, h, body = multi.request("POST", base(ds) + "summarize/var?key=" + key, form,
                                {"Content-Type": "application/x-www-form-urlencoded", **OCTET})
    assert st == 200
    m = decode(body)
    assert m["col_index"] == [key]
    np.testing.assert_allclose(m["columns"][0]["value"], exp, rtol=2e-6, atol=1e-6, equal_nan=True)
    st, h, body = multi.request("POST", base(ds) + "summarize/var?key=" + "0" * 40, form, OCTET)
    assert st == 400 and "key" in json.loads(body)["message"]
    st, h, body = multi.get(base(ds) + "summarize/var?method=median&var:name_0=x", OCTET)
    assert st == 400 and "method" in json.loads(body)["message"]


# --- errors, methods, negotiation -------------------------------------------------------------------------------


def test_errors(multi):
    b = base("pbmc68k_reduced")
    cases = [("GET", "/e/nope/api/v0.2/schema", 404), ("GET", "/e/../api/v0.2/schema", 404),
             ("GET", b + "nope", 404), ("GET", "/nope", 404), ("DELETE", b + "config", 405),
             ("POST", b + "schema", 405), ("GET", b + "diffexp/obs", 405), ("PUT", b + "annotations/obs", 501),
             ("PUT", b + "genesets", 501), ("GET", "/e/pbmc68k_reduced/api/v0.2/diffexp/obs2", 404),
             ("POST", "/e/pbmc68k_reduced/api/v0.3/diffexp/obs2", 415)]
    for method, path, status in cases:
        st, h, body = multi.request(method, path, "{}" if method in ("PUT", "POST") else None)
        assert st == status, (method, path, st, body)
        assert h["content-type"] == "application/json" and "message" in json.loads(body)
        if status == 405:
            assert h.get("allow")


def test_diffexp_engine(multi):  # overlapping sets are a 400 (the engine wants disjoint sets)
    body = json.dumps({"mode": "topN", "count": 10,
                       "set1": {"filter": {"obs": {"annotation_value": [{"name": "louvain", "values": ["0"]}]}}},
                       "set2": {"filter": {"obs": {"annotation_value": [{"name": "louvain", "values": ["1"]}]}}}})
    st, h, data = multi.request("POST", base("pbmc68k_reduced") + "diffexp/obs", body,
                                {"Content-Type": "application/json"})
    assert st == 200, data
    res = json.loads(data)
    assert len(res["positive"]) == 10 and len(res["negative"]) == 10
    for row in res["positive"] + res["negative"]:
        assert len(row) == 4 and isinstance(row[0], int) and 0 <= row[2] <= 1 and row[2] <= row[3] <= 1
    st, h, data = multi.request("POST", base("pbmc68k_reduced") + "diffexp/obs", '{"mode":"topN","set1":{}}')
    assert st == 400


def test_accept_406(multi):
    b = base("pbmc68k_reduced")
    for route in ["annotations/obs", "data/var?var:name_0=CD3E", "layout/obs"]:
        st, h, body = multi.get(b + route, {"Accept": "application/json"})
        assert st == 406 and h["content-type"] == "application/json"
        assert multi.get(b + route, {"Accept": "*/*"})[0] in (200,)
        assert multi.get(b + route, {"Accept": "application/*;q=0.5"})[0] == 200
        assert multi.get(b + route, {"Accept": "application/octet-stream;q=0"})[0] == 406
    assert multi.get(b + "schema", {"Accept": "application/octet-stream"})[0] == 406


def test_body_too_large(multi):
    """An announced body over the route's limit (summarize: 1,000,000 bytes) is refused before it is read."""
    import socket
    for path, n in [(base("pbmc68k_reduced") + "summarize/var?key=" + "0" * 40, 1_000_001),
                    (base("pbmc68k_reduced") + "data/var", 2_000_000)]:
        with socket.create_connection(("127.0.0.1", multi.port), timeout=30) as s:
            s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (path, n)).encode())
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        assert data.startswith(b"HTTP/1.1 413"), data[:200]


# --- HTTP caching and compression ----------------------------------------------------------------------------------


def test_etag_304_and_cache_control(multi, single):
    path = base("pbmc68k_reduced") + "data/var?var:name_0=CD3E&var:name_0=MS4A1"
    st, h, body = multi.get(path, OCTET)
    etag = h["etag"]
    assert st == 200 and etag.startswith('"') and h["cache-control"] == "public, no-cache"
    st2, h2, body2 = multi.get(path, {**OCTET, "If-None-Match": etag})
    assert st2 == 304 and body2 == b"" and h2["etag"] == etag
    # the same request with parameters in another order has the same validator
    st3, h3, _ = multi.get(base("pbmc68k_reduced") + "data/var?var:name_0=MS4A1&var:name_0=CD3E", OCTET)
    assert h3["etag"] == etag
    assert multi.get(path, {**OCTET, "If-None-Match": '"other"'})[0] == 200
    assert multi.get(path, {**OCTET, "If-None-Match": "*"})[0] == 304
    # the same dataset in the single-dataset server has the same content id, hence the same ETag
    assert single.get("/api/v0.2/data/var?var:name_0=CD3E&var:name_0=MS4A1", OCTET)[1]["etag"] == etag
    # v0.3 content-addressed URLs are immutable
    loc = jget(multi, base("pbmc68k_reduced", 3) + "s3_uri")
    st, h, body = multi.get("/s3_uri/%s/api/v0.3/schema" % q2(loc), {"Accept": "application/json"})
    assert st == 200 and h["cache-control"] == "public, max-age=31536000, immutable"
    assert multi.get("/s3_uri/%s/api/v0.3/schema" % ("0" * 32))[0] == 404


def test_compression(multi, workdir):
    path = base("osmfish-cortex-6471") + "annotations/obs"
    st, h, plain = multi.get(path, OCTET)
    assert "content-encoding" not in h
    st, h, gz = multi.get(path, {**OCTET, "Accept-Encoding": "gzip"})
    assert h["content-encoding"] == "gzip" and "Accept-Encoding" in h["vary"]
    assert zlib.decompress(gz, 16 + zlib.MAX_WBITS) == plain and len(gz) < len(plain)
    st, h, zs = multi.get(path, {**OCTET, "Accept-Encoding": "gzip, zstd"})
    assert h["content-encoding"] == "zstd"
    out = subprocess.run(["zstd", "-dc"], input=zs, capture_output=True, check=True, timeout=30).stdout
    assert out == plain
    # the second identical request is served from the body cache, with the same bytes
    st, h, gz2 = multi.get(path, {**OCTET, "Accept-Encoding": "gzip"})
    assert gz2 == gz
    # small bodies are not compressed
    st, h, body = multi.get(base("pbmc68k_reduced") + "config", {"Accept-Encoding": "gzip"})
    assert "content-encoding" not in h


# --- health, metrics, single mode, h5ad auto-ingest --------------------------------------------------------------


def test_health_metrics_and_access_log(multi):
    st, h, body = multi.get("/health")
    assert st == 200 and h["content-type"] == "application/health+json" and json.loads(body)["status"] == "pass"
    assert h["cache-control"] == "no-store"
    multi.get(base("pbmc68k_reduced") + "schema")
    st, h, body = multi.get("/metrics")
    text = body.decode()
    assert st == 200 and h["content-type"].startswith("text/plain")
    assert 'cellgate_http_requests_total{route="schema",code="2xx"}' in text
    assert 'cellgate_http_request_duration_seconds_bucket{route="schema",le="+Inf"}' in text
    for g in ["cellgate_cache_hits_total", "cellgate_bundles_open", "cellgate_bundle_evictions_total"]:
        assert g in text
    opened = int([l for l in text.splitlines() if l.startswith("cellgate_bundles_open ")][0].split()[1])
    assert 1 <= opened <= 3  # --max-open 3
    assert "GET /e/pbmc68k_reduced/api/v0.2/schema 200" in multi.log_text()


def test_single_mode(single):
    a = adata("pbmc68k_reduced")
    cfg = jget(single, "/api/v0.2/config")["config"]
    assert cfg["displayNames"]["dataset"] == "pbmc68k_reduced"
    m = fbs(single, "/api/v0.3/data/var?var:name_0=" + q2(a.var_names[7]))
    np.testing.assert_array_equal(m["columns"][0]["value"], dense_gene(a, 7))
    assert single.get("/e/pbmc68k_reduced/api/v0.2/schema")[0] == 404


def test_h5ad_is_ingested_once(workdir):
    cache = os.path.join(workdir, "cache")
    src = os.path.join(SHARED, "pbmc3k-subset-nan.h5ad")
    s = Server([src, "--cache-dir", cache], workdir, "h5ad1")
    try:
        assert s.get("/api/v0.2/schema")[0] == 200
        assert "ingesting" in s.log_text()
    finally:
        s.stop()
    files = os.listdir(cache)
    assert len(files) == 1 and files[0].startswith("pbmc3k-subset-nan-") and files[0].endswith(".cgb")
    s = Server([src, "--cache-dir", cache], workdir, "h5ad2")
    try:
        assert s.get("/api/v0.2/schema")[0] == 200
        assert "ingesting" not in s.log_text()
    finally:
        s.stop()
