"""Writes a small valid .h5ad (anndata >= 0.8 layout, written by python-anndata) and broken variants of it.

usage: /usr/bin/python3 make_bad_h5ad.py DIR
Prints one line per case: NAME<TAB>EXPECTED-SUBSTRING-OF-THE-ERROR (the HDF5 path the error must name).
"""
import os
import shutil
import sys
import warnings

import h5py
import numpy as np
import pandas as pd
import scipy.sparse as sp

warnings.filterwarnings("ignore")
import anndata  # noqa: E402

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
n_obs, n_vars = 40, 12
X = sp.random(n_obs, n_vars, density=0.3, format="csr", random_state=7, dtype=np.float32)
obs = pd.DataFrame({"cell_type": pd.Categorical(rng.choice(["B", "T", "NK"], n_obs)),
                    "n_genes": rng.integers(0, 100, n_obs)}, index=[f"c{i}" for i in range(n_obs)])
var = pd.DataFrame(index=[f"g{i}" for i in range(n_vars)])
good = anndata.AnnData(X=X, obs=obs, var=var, obsm={"X_umap": rng.normal(size=(n_obs, 2)).astype(np.float32)})
base = os.path.join(out, "good.h5ad")
good.write_h5ad(base)
cases = []


def variant(name, expect, edit):
    path = os.path.join(out, name + ".h5ad")
    shutil.copy(base, path)
    with h5py.File(path, "r+") as f:
        edit(f)
    cases.append((name, expect))


def replace(f, path, data):
    attrs = dict(f[path].attrs)
    del f[path]
    f[path] = data
    for k, v in attrs.items():
        f[path].attrs[k] = v


def duplicate(f):
    idx = f["X/indices"][...]
    ptr = f["X/indptr"][...]
    row = next(r for r in range(n_obs) if ptr[r + 1] - ptr[r] >= 2)
    idx[ptr[row] + 1] = idx[ptr[row]]
    replace(f, "X/indices", idx)


def out_of_range(f):
    idx = f["X/indices"][...]
    idx[-1] = n_vars + 5
    replace(f, "X/indices", idx)


def short_data(f):
    replace(f, "X/data", f["X/data"][:-3])


def bad_indptr(f):
    ptr = f["X/indptr"][...]
    ptr[5], ptr[6] = ptr[6] + 1, ptr[5]
    replace(f, "X/indptr", ptr)


def inf_value(f):
    d = f["X/data"][...]
    d[3] = np.inf
    replace(f, "X/data", d)


def emb_rows(f):
    replace(f, "obsm/X_umap", rng.normal(size=(n_obs - 1, 2)).astype(np.float32))


def emb_inf(f):
    e = f["obsm/X_umap"][...]
    e[2, 1] = -np.inf
    replace(f, "obsm/X_umap", e)


def bad_utf8(f):
    names = [s.encode() for s in obs.index]
    names[4] = b"c\xff\xfe"
    replace(f, "obs/_index", np.array(names, dtype=h5py.special_dtype(vlen=bytes)))


def dup_column(f):
    f["obs"].attrs["column-order"] = np.array(["cell_type", "n_genes", "cell_type"], dtype=object)


def shape_mismatch(f):
    f["X"].attrs["shape"] = np.array([n_obs + 1, n_vars])


def code_range(f):
    c = f["obs/cell_type/codes"][...]
    c[0] = 9
    replace(f, "obs/cell_type/codes", c)


variant("duplicate-indices", "/X", duplicate)
variant("index-out-of-range", "/X", out_of_range)
variant("data-shorter-than-indices", "/X", short_data)
variant("indptr-decreasing", "/X", bad_indptr)
variant("inf-in-X", "/X", inf_value)
variant("embedding-wrong-rows", "X_umap", emb_rows)
variant("embedding-inf", "X_umap", emb_inf)
variant("obs-names-not-utf8", "/obs", bad_utf8)
variant("duplicate-column", "cell_type", dup_column)
variant("shape-attr-mismatch", "/X", shape_mismatch)
variant("categorical-code-out-of-range", "cell_type", code_range)

trunc = os.path.join(out, "truncated.h5ad")
with open(base, "rb") as src, open(trunc, "wb") as dst:
    dst.write(src.read()[: os.path.getsize(base) // 2])
cases.append(("truncated", "truncated.h5ad"))
garbage = os.path.join(out, "not-hdf5.h5ad")
with open(garbage, "wb") as g:
    g.write(b"this is not an HDF5 file\n" * 40)
cases.append(("not-hdf5", "not-hdf5.h5ad"))
for name, expect in cases:
    print(f"{name}\t{expect}")
