"""Differential expression over HTTP against the real binary: v0.3 `diffexp/obs2` (a diffex PDU built with the
independent reference encoder tests/unit/pdu_ref.py) must answer exactly what v0.2 `diffexp/obs` answers for the
same cell sets, and the native API (`GET /api/v1/datasets`, `POST /api/v1/datasets/<id>/diffexp`) is checked
against scipy.stats on pbmc68k_reduced (python3-scipy, python3-anndata as oracles)."""
import csv
import io
import json
import os
import socket
import struct
import sys

import numpy as np
import pytest
import scipy.stats
from conftest import DATASETS, adata

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "unit"))
import pdu_ref  # noqa: E402

DS = "pbmc68k_reduced"
OBS2 = "/e/%s/api/v0.3/diffexp/obs2" % DS
OBS = "/e/%s/api/v0.2/diffexp/obs" % DS
V1 = "/api/v1/datasets/%s/diffexp" % DS
PDU_HDRS = {"Content-Type": "application/octet-stream", "Accept": "application/json"}
JSON_HDRS = {"Content-Type": "application/json", "Accept": "application/json"}


def cells(column, value):
    a = adata(DS)
    return np.nonzero((a.obs[column].astype(str) == value).to_numpy())[0]


def v02(server, set1, set2, count):
    body = json.dumps({"mode": "topN", "count": count,
                       "set1": {"filter": {"obs": {"index": [int(i) for i in set1]}}},
                       "set2": {"filter": {"obs": {"index": [int(i) for i in set2]}}}})
    st, h, data = server.request("POST", OBS, body, JSON_HDRS)
    assert st == 200, data
    return json.loads(data)


def obs2(server, pdu, headers=PDU_HDRS, status=200):
    st, h, data = server.request("POST", OBS2, pdu, headers)
    assert st == status, (st, data[:300])
    assert h["content-type"] == "application/json"
    return json.loads(data), h


def v1(server, req, status=200, headers=JSON_HDRS, path=V1):
    body = req if isinstance(req, (bytes, str)) else json.dumps(req)
    st, h, data = server.request("POST", path, body, headers)
    assert st == status, (st, data[:300])
    return (json.loads(data) if h["content-type"] == "application/json" else data.decode()), h


def by_filter(column, value):
    return {"filter": {"obs": {"annotation_value": [{"name": column, "values": [value]}]}}}


def column(gene):
    return np.asarray(adata(DS).X[:, gene], dtype=np.float64).ravel()


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


# --- v0.3 diffexp/obs2 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("g1,g2,n", [("0", "1", 15), ("2", "5", 10), ("10", "3", 50)])
def test_obs2_equals_obs(multi, g1, g2, n):
    s1, s2 = cells("louvain", g1), cells("louvain", g2)
    pdu, _ = pdu_ref.encode(s1, s2, n)
    got, h = obs2(multi, pdu)
    want = v02(multi, s1, s2, n)
    assert got == want  # same genes, same order, same numbers
    assert len(got["positive"]) == n and len(got["negative"]) == n
    assert h["cache-control"] == "public, no-cache" and h["etag"]


def test_obs2_group_vs_rest_and_big_n(multi):
    s1 = cells("louvain", "0")
    s2 = np.setdiff1d(np.arange(adata(DS).n_obs), s1)
    pdu, types = pdu_ref.encode(s1, s2, 1000)
    got, _ = obs2(multi, pdu)
    assert got == v02(multi, s1, s2, 1000)


def test_obs2_cache_and_304(multi):
    pdu, _ = pdu_ref.encode(cells("louvain", "4"), cells("louvain", "6"), 15)
    first, h1 = obs2(multi, pdu)
    again, h2 = obs2(multi, pdu)
    assert again == first and h2["etag"] == h1["etag"]
    st, h, data = multi.request("POST", OBS2, pdu, {**PDU_HDRS, "If-None-Match": h1["etag"]})
    assert st == 304 and data == b""
    # N is part of the request: another N, another answer
    pdu2, _ = pdu_ref.encode(cells("louvain", "4"), cells("louvain", "6"), 5)
    other, h3 = obs2(multi, pdu2)
    assert h3["etag"] != h1["etag"] and len(other["positive"]) == 5


def raw_post(port, path, head_lines, body=b""):
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (path, "".join(l + "\r\n" for l in head_lines))).encode()
                  + body)
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return int(data.split(b" ", 2)[1]), data


def test_obs2_errors(multi):
    s1, s2 = cells("louvain", "0"), cells("louvain", "1")
    pdu, _ = pdu_ref.encode(s1, s2, 15)
    # content type (415), length (411), size (413)
    for ct in ["application/json", "text/plain", None]:
        hdrs = {"Accept": "application/json"}
        if ct:
            hdrs["Content-Type"] = ct
        err, _ = obs2(multi, pdu, hdrs, 415)
        assert "octet-stream" in err["message"]
    assert obs2(multi, pdu, {**PDU_HDRS, "Content-Type": "Application/Octet-Stream; x=1"})[0]["positive"]
    st, data = raw_post(multi.port, OBS2, ["Content-Type: application/octet-stream", "Transfer-Encoding: chunked"],
                        b"%x\r\n" % len(pdu) + pdu + b"\r\n0\r\n\r\n")
    assert st == 411, data[:200]
    st, data = raw_post(multi.port, OBS2, ["Content-Type: application/octet-stream",
                                           "Content-Length: %d" % (100 * 1024 * 1024 + 1)])
    assert st == 413, data[:200]
    # decode errors: 400 naming the problem
    for bad in [b"", b"\xde", b"garbage!", pdu[:-1], pdu + b"\0", bytes([0xDE, 1]) + pdu[2:]]:
        err, _ = obs2(multi, bad, PDU_HDRS, 400)
        assert err["message"].startswith("diffex PDU"), err
    # sets out of this dataset's range: the PDU is well-formed but the cells are not there
    err, _ = obs2(multi, pdu_ref.encode([5], [70000], 15)[0], PDU_HDRS, 400)
    # empty and overlapping sets
    err, _ = obs2(multi, pdu_ref.encode(np.array([], dtype=np.uint32), s2, 15)[0], PDU_HDRS, 400)
    assert "set1 is empty" in err["message"]
    err, _ = obs2(multi, pdu_ref.encode(s1, np.array([], dtype=np.uint32), 15)[0], PDU_HDRS, 400)
    assert "set2 is empty" in err["message"]
    err, _ = obs2(multi, pdu_ref.encode(s1, np.union1d(s2, s1[:3]), 15)[0], PDU_HDRS, 400)
    assert "overlap" in err["message"] and "3 cells" in err["message"]
    # v0.2 has no obs2; GET is a 405
    st, h, data = multi.request("POST", "/e/%s/api/v0.2/diffexp/obs2" % DS, pdu, PDU_HDRS)
    assert st == 404
    st, h, data = multi.request("GET", OBS2)
    assert st == 405 and h["allow"] == "POST"


# --- native API: the list ------------------------------------------------------------------------------------


def test_v1_datasets_multi(multi):
    st, h, data = multi.get("/api/v1/datasets", {"Accept": "application/json"})
    assert st == 200 and h["content-type"] == "application/json"
    got = json.loads(data)
    assert [d["id"] for d in got] == sorted(DATASETS)
    for d in got:
        a = adata(d["id"])
        assert (d["n_obs"], d["n_vars"]) == (a.n_obs, a.n_vars), d
        assert len(d["bundle_id"]) == 32
    assert multi.request("POST", "/api/v1/datasets", "{}")[0] == 405
    assert multi.get("/api/v1/datasets", {"Accept": "text/csv"})[0] == 406


def test_v1_single_mode(single):
    st, h, data = single.get("/api/v1/datasets")
    got = json.loads(data)
    assert st == 200 and [(d["id"], d["n_obs"], d["n_vars"]) for d in got] == [(DS, 700, 765)]
    req = {"set1": by_filter("louvain", "1"), "set2": "rest", "top_n": 5}
    by_name, h1 = v1(single, req)
    by_id, h2 = v1(single, req, path="/api/v1/datasets/%s/diffexp" % got[0]["bundle_id"])
    assert by_name == by_id and len(by_name["genes"]) == 5
    assert h2["cache-control"] == "public, max-age=31536000, immutable"
    assert v1(single, req, 404, path="/api/v1/datasets/other/diffexp")[0]["message"]


# --- native API: values against scipy ------------------------------------------------------------------------

GROUPS = [("CD14+ Monocyte", "CD19+ B"), ("Dendritic", "CD56+ NK"), ("CD34+", None)]


def sets_of(g1, g2):
    s1 = cells("bulk_labels", g1)
    s2 = cells("bulk_labels", g2) if g2 else np.setdiff1d(np.arange(adata(DS).n_obs), s1)
    return s1, s2


@pytest.mark.parametrize("g1,g2", GROUPS)
def test_v1_welch_vs_scipy(multi, g1, g2):
    res, h = v1(multi, {"set1": by_filter("bulk_labels", g1), "set2": by_filter("bulk_labels", g2) if g2 else "rest",
                        "method": "welch", "top_n": "all"})
    assert res["method"] == "welch" and len(res["genes"]) == adata(DS).n_vars
    assert h["cache-control"] == "public, no-cache" and h["etag"]
    s1, s2 = sets_of(g1, g2)
    genes = {g["index"]: g for g in res["genes"]}
    for gi in [0, 1, 7, 100, 457, 600, 764] + [g["index"] for g in res["genes"][:5]]:
        x = column(gi)
        t = scipy.stats.ttest_ind(x[s1], x[s2], equal_var=False)
        g = genes[gi]
        assert g["name"] == adata(DS).var_names[gi]
        assert rel(g["statistic"], t.statistic) < 1e-6, (gi, g["statistic"], t.statistic)
        if t.pvalue > 1e-300:
            assert rel(g["p"], t.pvalue) < 1e-6, (gi, g["p"], t.pvalue)
        assert abs(g["mean1"] - x[s1].mean()) < 1e-6 and abs(g["mean2"] - x[s2].mean()) < 1e-6
    ps = [g["log_p"] for g in res["genes"]]
    known = [p for p in ps if p is not None]
    assert known == sorted(known) and ps[:len(known)] == known  # rank order, NaN p last


@pytest.mark.parametrize("g1,g2", GROUPS[:2])
def test_v1_wilcoxon_vs_scipy(multi, g1, g2):
    s1, s2 = sets_of(g1, g2)
    res, _ = v1(multi, {"set1": [int(i) for i in s1], "set2": [int(i) for i in s2], "method": "wilcoxon",
                        "top_n": "all"})
    genes = {g["index"]: g for g in res["genes"]}
    for gi in [0, 3, 250, 457, 764] + [g["index"] for g in res["genes"][:3]]:
        x = column(gi)
        u = scipy.stats.mannwhitneyu(x[s1], x[s2], alternative="two-sided", method="asymptotic", use_continuity=True)
        assert rel(genes[gi]["statistic"], u.statistic) < 1e-6, (gi, genes[gi]["statistic"], u.statistic)
        if u.pvalue > 1e-300:
            assert rel(genes[gi]["p"], u.pvalue) < 1e-6, (gi, genes[gi]["p"], u.pvalue)


def test_v1_csv(multi):
    req = {"set1": by_filter("bulk_labels", "CD19+ B"), "set2": "rest", "method": "welch"}
    text, h = v1(multi, req, headers={"Accept": "text/csv"})
    assert h["content-type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == adata(DS).n_vars  # CSV defaults to the full table
    full, _ = v1(multi, {**req, "top_n": "all"})
    for row, g in zip(rows, full["genes"]):
        assert int(row["index"]) == g["index"] and row["name"] == g["name"]
        assert float(row["statistic"]) == g["statistic"] and float(row["p"]) == g["p"]
    # a JSON answer defaults to the top 100; top_n applies to CSV too
    assert len(v1(multi, req)[0]["genes"]) == 100
    assert len(v1(multi, {**req, "top_n": 3}, headers={"Accept": "text/csv"})[0].splitlines()) == 4


def test_v1_cellxgene_method_matches_v02(multi):
    s1, s2 = cells("louvain", "2"), cells("louvain", "3")
    res, _ = v1(multi, {"set1": [int(i) for i in s1], "set2": [int(i) for i in s2], "method": "cellxgene",
                        "top_n": "all"})
    genes = {g["index"]: g for g in res["genes"]}
    for idx, lfc, p, padj in v02(multi, s1, s2, 10)["positive"]:
        assert genes[idx]["lfc"] == lfc and genes[idx]["p"] == p and genes[idx]["p_adj_bonferroni"] == padj


def test_v1_canonical_requests_share_etag(multi):
    s1, s2 = cells("bulk_labels", "CD34+"), cells("bulk_labels", "CD56+ NK")
    a = '{"set1": %s, "set2": %s, "method": "welch", "top_n": 7}' % (json.dumps(s1.tolist()), json.dumps(s2.tolist()))
    b = '{ "top_n":7,"method":"welch",\n "set2":%s, "set1":%s }' % (json.dumps(s2[::-1].tolist()),
                                                                   json.dumps(s1.tolist() + s1[:2].tolist()))
    c = {"set1": by_filter("bulk_labels", "CD34+"), "set2": by_filter("bulk_labels", "CD56+ NK"), "method": "welch",
         "top_n": 7}
    ra, ha = v1(multi, a)
    rb, hb = v1(multi, b)
    rc, hc = v1(multi, c)
    assert ra == rb == rc and ha["etag"] == hb["etag"] == hc["etag"]
    st, h, data = multi.request("POST", V1, b, {**JSON_HDRS, "If-None-Match": ha["etag"]})
    assert st == 304
    # what changes the answer changes the key: method, top_n, representation
    assert v1(multi, {**c, "method": "wilcoxon"})[1]["etag"] != ha["etag"]
    assert v1(multi, {**c, "top_n": 8})[1]["etag"] != ha["etag"]
    assert v1(multi, c, headers={"Accept": "text/csv"})[1]["etag"] != ha["etag"]


def test_v1_pdu_body(multi):
    s1, s2 = cells("louvain", "5"), cells("louvain", "7")
    pdu, _ = pdu_ref.encode(s1, s2, 12)
    by_pdu, h1 = v1(multi, pdu, headers=PDU_HDRS, path=V1 + "?method=wilcoxon")
    by_json, h2 = v1(multi, {"set1": s1.tolist(), "set2": s2.tolist(), "method": "wilcoxon", "top_n": 12})
    assert by_pdu == by_json and len(by_pdu["genes"]) == 12 and h1["etag"] == h2["etag"]
    rest, _ = v1(multi, pdu_ref.encode(s1, np.array([], dtype=np.uint32), 3)[0], headers=PDU_HDRS,
                 path=V1 + "?set2=rest&top_n=all")
    assert rest["n2"] == adata(DS).n_obs - len(s1) and len(rest["genes"]) == adata(DS).n_vars


def test_v1_errors(multi):
    ok = {"set1": [0, 1, 2], "set2": [3, 4, 5]}
    assert "unknown dataset" in v1(multi, ok, 404, path="/api/v1/datasets/nope/diffexp")[0]["message"]
    assert v1(multi, ok, 404, path="/api/v1/datasets/%s/nope" % DS)[0]
    st, h, _ = multi.request("GET", V1)
    assert st == 405 and h["allow"] == "POST"
    cases = [({**ok, "method": "ttest"}, "method"), ({**ok, "method": 3}, "method"),
             ({**ok, "top_n": -1}, "top_n"), ({**ok, "top_n": "some"}, "top_n"),
             ({"set1": "all", "set2": [1]}, "set1"), ({"set1": [0, 700], "set2": [1]}, "out of range"),
             ({"set1": [0, 1.5], "set2": [2]}, "set1"), ({"set1": [0], "set2": {"cells": [1]}}, "set2"),
             ({"set1": [0]}, "set2: required"), ({"set1": [0], "set2": "others"}, "set2"),
             ({"set1": [], "set2": [1]}, "set1 is empty"), ({"set1": [0, 1], "set2": [1, 2]}, "overlap"),
             ({"set1": by_filter("louvain", "nope"), "set2": [1]}, "set1 is empty"),
             ({"set1": by_filter("no_such_column", "x"), "set2": [1]}, "set1"),
             ({"set1": list(range(700)), "set2": "rest"}, "set2 is empty"),
             ({**ok, "extra": 1}, "unknown key"), ("[1,2]", "JSON object"), ("{", "JSON object")]
    for req, word in cases:
        err, h = v1(multi, req, 400)
        assert word in err["message"], (req, err)
        assert h["cache-control"] == "no-store"
    # no matrix: the dataset exists but has nothing to test
    st, h, data = multi.request("POST", "/api/v1/datasets/anndata-archive-v0.11.4-no-X/diffexp", json.dumps(ok))
    assert st == 404 and "matrix" in json.loads(data)["message"]
    # a bad PDU in the native route is a 400 too
    assert v1(multi, b"\xde\x00", 400, headers=PDU_HDRS)[0]["message"].startswith("diffex PDU")


def test_v1_metrics_route_names(multi):
    v1(multi, {"set1": [0, 1], "set2": [2, 3], "top_n": 1})
    multi.get("/api/v1/datasets")
    text = multi.get("/metrics")[2].decode()
    assert 'route="v1/diffexp"' in text and 'route="v1/datasets"' in text
