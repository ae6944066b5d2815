"""Independent oracle: what Debian's python3-anndata 0.8 reads from an .h5ad file, summarised in the same shape
as `cellgate inspect --json --checksum` (docs/CLI.md), and a comparison of the two.

usage: /usr/bin/python3 oracle.py H5AD INSPECT.json [--bundle MATRIX]
  --bundle MATRIX  the JSON is of a bundle ingested with --matrix MATRIX: compare the matrix that was chosen
                   (and raw/var for MATRIX=raw), allow float32 rounding in float columns.
Exits 1 listing every difference found.
"""
import json
import math
import sys
import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp

warnings.filterwarnings("ignore")
import anndata  # noqa: E402

FNV_OFFSET, FNV_PRIME = 0xCBF29CE484222325, 0x100000001B3


def fnv(strings):
    h = FNV_OFFSET
    for s in strings:
        for b in s.encode("utf-8") + b"\0":
            h = ((h ^ b) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def numstats(values):
    v = np.asarray(values, dtype=np.float64)
    nan = np.isnan(v)
    ok = v[~nan]
    return {"sum": float(ok.sum()), "min": float(ok.min()) if ok.size else None,
            "max": float(ok.max()) if ok.size else None, "n_nan": int(nan.sum())}


def column(name, s):
    d = s.dtype
    out = {"name": name, "n_missing": int(s.isna().sum())}
    if isinstance(d, pd.CategoricalDtype):
        cats = [str(c) for c in d.categories]
        codes = s.cat.codes.to_numpy()
        out.update(type="categorical", categories=cats, ordered=bool(d.ordered),
                   counts=[int((codes == i).sum()) for i in range(len(cats))])
    elif str(d) == "boolean" or d == np.bool_:
        out.update(type="bool", n_true=int(s.fillna(False).astype(bool).sum()))
    elif pd.api.types.is_integer_dtype(d):
        vals = s.dropna().to_numpy().astype(np.float64)
        st = numstats(vals)
        st.pop("n_nan")
        out.update(type="int", **st)
    elif pd.api.types.is_float_dtype(d):
        out.update(type="float", **numstats(s.to_numpy()))
    else:
        out.update(type="string", fnv1a=fnv([x for x in s.tolist() if isinstance(x, str)]))
    return out


def frame(df):
    return {"n_rows": int(df.shape[0]), "index_fnv1a": fnv([str(x) for x in df.index]),
            "columns": [column(str(c), df[c]) for c in df.columns]}


def matrix(x, n_rows, n_cols):
    if x is None:
        return {"format": "absent", "n_rows": n_rows, "n_cols": n_cols}
    if sp.issparse(x):
        fmt = "csr" if sp.isspmatrix_csr(x) else "csc"
        vals, nnz = x.data, int(x.nnz)
    else:
        x = np.asarray(x)
        fmt, vals, nnz = "dense", x.ravel(), int(x.size)
    v = np.asarray(vals).astype(np.float32).astype(np.float64)
    nan = np.isnan(v)
    nz = v[(~nan) & (v != 0)]
    return {"format": fmt, "n_rows": int(x.shape[0]), "n_cols": int(x.shape[1]), "nnz": nnz,
            "checksum": {"sum": float(nz.sum()), "sum_sq": float((nz * nz).sum()), "nonzero": int(nz.size),
                         "nan": int(nan.sum())}}


def embeddings(a):
    out = []
    for k in a.obsm.keys():
        e = a.obsm[k]
        if isinstance(e, pd.DataFrame) or sp.issparse(e):
            continue
        e = np.asarray(e)
        if e.ndim != 2 or e.shape[1] < 2 or not np.issubdtype(e.dtype, np.number):
            continue
        xy = e[:, :2].astype(np.float32).astype(np.float64)
        out.append({"name": k, "shape": [int(e.shape[0]), int(e.shape[1])],
                    "sum_xy": float(xy[~np.isnan(xy)].sum())})
    return out


def colors(a):
    out = {}
    for k, v in a.uns.items():
        if k.endswith("_colors"):
            out[k[: -len("_colors")]] = [str(c) for c in np.asarray(v).ravel()]
    return out


def summarise(path, bundle_matrix=None):
    a = anndata.read_h5ad(path)
    raw = a.raw
    title = a.uns.get("title")
    s = {"n_obs": int(a.n_obs), "obs": frame(a.obs), "embeddings": embeddings(a),
         "uns": {"title": str(title) if title is not None else None, "colors": colors(a)}}
    if bundle_matrix in (None, "X"):
        s.update(n_vars=int(a.n_vars), var=frame(a.var), X=matrix(a.X, a.n_obs, a.n_vars))
    elif bundle_matrix == "raw":
        s.update(n_vars=int(raw.n_vars), var=frame(raw.var), X=matrix(raw.X, a.n_obs, raw.n_vars))
    else:
        name = bundle_matrix.split(":", 1)[1]
        s.update(n_vars=int(a.n_vars), var=frame(a.var), X=matrix(a.layers[name], a.n_obs, a.n_vars))
    if bundle_matrix is None:
        if raw is not None:
            s["raw"] = {"matrix": matrix(raw.X, a.n_obs, raw.n_vars), "var": frame(raw.var)}
        s["layers"] = {k: matrix(a.layers[k], a.n_obs, a.n_vars) for k in a.layers.keys()}
    return s


class Compare:
    def __init__(self, rel):
        self.rel = rel
        self.errors = []

    def close(self, a, b):
        if a is None or b is None:
            return a is None and b is None
        if isinstance(a, float) or isinstance(b, float):
            return math.isclose(a, b, rel_tol=self.rel, abs_tol=self.rel)
        return a == b

    def check(self, where, want, got):
        if isinstance(want, dict):
            if not isinstance(got, dict):
                self.errors.append(f"{where}: expected an object, got {got!r}")
                return
            for k, v in want.items():
                if k not in got:
                    self.errors.append(f"{where}.{k}: missing (expected {v!r})")
                else:
                    self.check(f"{where}.{k}", v, got[k])
        elif isinstance(want, list):
            if not isinstance(got, list) or len(got) != len(want):
                self.errors.append(f"{where}: expected {len(want)} items, got {got!r}"[:400])
                return
            for i, (w, g) in enumerate(zip(want, got)):
                self.check(f"{where}[{i}]", w, g)
        elif not self.close(want, got):
            self.errors.append(f"{where}: expected {want!r}, got {got!r}")


def main():
    path, js = sys.argv[1], sys.argv[2]
    bundle_matrix = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--bundle" else None
    want = summarise(path, bundle_matrix)
    got = json.load(open(js))
    if bundle_matrix is not None and got.get("X", {}).get("format") != "absent":
        want["X"]["format"] = "csr"  # a bundle holds the matrix as CSR (and CSC)
        if want["X"]["nnz"] != want["X"]["checksum"]["nonzero"] + want["X"]["checksum"]["nan"]:
            want["X"].pop("nnz")  # explicit zeros and dense zeros are not stored in a bundle
    cmp = Compare(2e-6 if bundle_matrix is not None else 1e-9)
    cmp.check("$", want, got)
    if cmp.errors:
        print(f"{path}: {len(cmp.errors)} differences from python-anndata:")
        for e in cmp.errors[:40]:
            print("  " + e)
        sys.exit(1)
    print(f"{path}: matches python-anndata ({'bundle ' + bundle_matrix if bundle_matrix else 'h5ad'})")


if __name__ == "__main__":
    main()
