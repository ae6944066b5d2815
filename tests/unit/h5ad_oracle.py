#!/usr/bin/python3
"""Oracle for tests/unit/test_h5ad.c: what Debian's python3-anndata 0.8 reads from each shared .h5ad file,
written as one "facts" file per input (usage: h5ad_oracle.py OUTDIR FILE...).

Each line is `kind key... value...`; the C test prints the same lines from cellgate's reader and compares
them token by token (numbers with a relative tolerance). Strings are compared through a 64-bit FNV-1a hash
of the UTF-8 bytes of every element followed by 0x1f (a missing value hashes the bytes "\\0NA")."""
import os
import sys
import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp

warnings.filterwarnings("ignore")
import anndata  # noqa: E402

FNV_OFF, FNV_PRIME, MASK = 0xCBF29CE484222325, 0x100000001B3, (1 << 64) - 1


def fnv(strings):
    h = FNV_OFF
    for s in strings:
        b = b"\0NA" if s is None else str(s).encode() + b"\x1f"
        for c in b:
            h = ((h ^ c) * FNV_PRIME) & MASK
    return "%016x" % h


def num(x):
    return "%.17g" % float(x)


def column_facts(frame, name, s):
    dt = str(s.dtype)
    if dt == "category":
        cats = [str(c) for c in s.cat.categories]
        cdt = str(s.cat.categories.dtype)
        codes = ",".join(str(int(c)) for c in s.cat.codes)
        return f"col {frame} {name} categorical ncat={len(cats)} catdtype={cdt} ordered={int(s.cat.ordered)} " \
               f"cats={fnv(cats)} codes={fnv([codes])}"
    if dt in ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64"):
        m = s.isna().to_numpy()
        v = s.to_numpy(dtype="float64", na_value=0)
        return f"col {frame} {name} int {dt} na={int(m.sum())} sum={int(v.sum())}"
    if dt == "boolean":
        m = s.isna().to_numpy()
        v = s.fillna(False).to_numpy(dtype=bool)
        return f"col {frame} {name} bool {dt} na={int(m.sum())} true={int(v.sum())}"
    if dt == "bool":
        return f"col {frame} {name} bool bool na=0 true={int(s.to_numpy().sum())}"
    if s.dtype.kind in "iu":
        return f"col {frame} {name} int {dt} na=0 sum={int(s.to_numpy().astype(object).sum())}"
    if s.dtype.kind == "f":
        v = s.to_numpy().astype(np.float64)
        return f"col {frame} {name} float {dt} na={int(np.isnan(v).sum())} sum={num(np.nansum(v))}"
    vals = [None if (not isinstance(x, str) and pd.isna(x)) else x for x in s.tolist()]
    return f"col {frame} {name} string {'string' if dt == 'string' else 'object'} " \
           f"na={sum(v is None for v in vals)} hash={fnv(vals)}"


def frame_facts(label, df, out):
    name = df.index.name if df.index.name is not None else "_index"
    out.append(f"index {label} name={name} n={len(df)} hash={fnv([str(x) for x in df.index])}")
    out.append(f"ncols {label} {len(df.columns)}")
    for c in df.columns:
        out.append(column_facts(label, c, df[c]))


def matrix_facts(which, X, out):
    if X is None:
        out.append(f"matrix {which} absent")
        return
    if sp.issparse(X):
        fmt = "csr" if sp.isspmatrix_csr(X) else "csc"
        vals = X.data.astype(np.float32).astype(np.float64)
        stored = X.nnz
    else:
        fmt = "dense"
        X = np.asarray(X)
        vals = X.astype(np.float32).astype(np.float64).ravel()
        stored = int(np.count_nonzero(vals))
    out.append(f"matrix {which} {fmt} rows={X.shape[0]} cols={X.shape[1]} stored={stored} "
               f"nan={int(np.isnan(vals).sum())} sum={num(np.nansum(vals))}")


def embedding_facts(a, out):
    for k in sorted(a.obsm.keys()):
        v = a.obsm[k]
        if not isinstance(v, np.ndarray) or v.ndim != 2 or v.dtype.kind not in "iuf" or v.shape[1] < 2:
            continue
        xy = v[:, :2].astype(np.float32).astype(np.float64)
        out.append(f"obsm {k} rows={v.shape[0]} dims={v.shape[1]} sumx={num(np.nansum(xy[:, 0]))} "
                   f"sumy={num(np.nansum(xy[:, 1]))} nan={int(np.isnan(xy).sum())}")


def uns_facts(a, out):
    keys = sorted(a.uns.keys())
    out.append(f"unskeys {len(keys)} {fnv(keys)}")
    for k in ("title", "default_embedding"):
        if isinstance(a.uns.get(k), str):
            out.append(f"uns {k} {fnv([a.uns[k]])}")
    for k in keys:
        v = a.uns[k]
        if k.endswith("_colors") and len(k) > 7 and isinstance(v, np.ndarray) and v.ndim == 1:
            out.append(f"colors {k[:-7]} n={len(v)} {fnv([str(x) for x in v])}")


def facts(path):
    a = anndata.read_h5ad(path)
    out = [f"shape {a.n_obs} {a.n_vars}"]
    frame_facts("obs", a.obs, out)
    frame_facts("var", a.var, out)
    if a.raw is not None:
        frame_facts("rawvar", a.raw.var, out)
    embedding_facts(a, out)
    uns_facts(a, out)
    matrix_facts("X", a.X, out)
    if a.raw is not None:
        matrix_facts("raw", a.raw.X, out)
    for k in sorted(a.layers.keys()):
        matrix_facts("layer:" + k, a.layers[k], out)
    return out


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    for path in sys.argv[2:]:
        lines = facts(path)
        with open(os.path.join(outdir, os.path.basename(path) + ".facts"), "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
