#!/usr/bin/env bash
# `cellgate synth` writes files that Debian's python3-anndata 0.8 reads with the promised structure (shapes,
# dtypes, categoricals, embeddings, names, CSR with the announced nnz and positive values, anndata >= 0.8
# encoding attributes); the same seed gives the same bytes and another seed other data; every codec holds
# the same matrix; bad flags exit 2 and failures exit 1, both leaving no file behind.
set -uo pipefail
: "${CELLGATE:?}"
work=$(mktemp -d "${CG_TMPDIR:-/tmp}/synth.XXXXXX" 2>/dev/null || mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
py=/usr/bin/python3

synth() { "$CELLGATE" synth --quiet "$@" >/dev/null; }

synth --cells 2000 --genes 500 --nnz-per-cell 120 --clusters 12 --seed 5 --out "$work/a.h5ad" ||
  { echo "FAIL: synth exited $?"; exit 1; }
synth --cells 2000 --genes 500 --nnz-per-cell 120 --clusters 12 --seed 5 --out "$work/b.h5ad" || fail=1
synth --cells 2000 --genes 500 --nnz-per-cell 120 --clusters 12 --seed 6 --out "$work/c.h5ad" || fail=1
synth --cells 2000 --genes 500 --nnz-per-cell 120 --clusters 12 --seed 5 --compression none --out "$work/n.h5ad" || fail=1
synth --cells 2000 --genes 500 --nnz-per-cell 120 --clusters 12 --seed 5 --compression lzf --threads 1 --out "$work/l.h5ad" || fail=1

cmp -s "$work/a.h5ad" "$work/b.h5ad" && echo "ok same seed, same bytes" || { echo "FAIL: same seed gave different bytes"; fail=1; }
cmp -s "$work/a.h5ad" "$work/c.h5ad" && { echo "FAIL: another seed gave the same bytes"; fail=1; }

$py - "$work" <<'EOF' || fail=1
import sys, h5py, numpy as np, anndata, scipy.sparse as sp
w = sys.argv[1]
bad = []
def check(cond, what):
    if not cond: bad.append(what)
a = anndata.read_h5ad(f"{w}/a.h5ad")
check(a.shape == (2000, 500), f"shape {a.shape}")
X = a.X
check(sp.isspmatrix_csr(X), f"X is {type(X)}")
check(X.dtype == np.float32, f"X dtype {X.dtype}")
check(X.indices.dtype == np.int32 and X.indptr.dtype == np.int32, f"index dtypes {X.indices.dtype} {X.indptr.dtype}")
inc = np.diff(X.indices.astype(np.int64)) > 0          # strictly increasing within each row
edge = X.indptr[1:-1] - 1                                 # positions where a new row starts
inc[edge[(edge >= 0) & (edge < len(inc))]] = True
check(inc.all() and X.indices.min() >= 0 and X.indices.max() < 500, "indices not sorted, unique and in range")
per = np.diff(X.indptr)
check((X.data > 0).all() and np.isfinite(X.data).all(), "X has values <= 0 or non-finite")
check(abs(per.mean() - 120) < 12 and per.min() < 120 < per.max(), f"nnz per cell {per.mean()} {per.min()} {per.max()}")
check((a.obs["n_genes"].to_numpy() == per).all(), "obs n_genes != stored entries per row")
check(X.nnz == int(a.obs["n_genes"].sum()), "X.nnz != sum(n_genes)")
dt = {c: str(t) for c, t in a.obs.dtypes.items()}
want = {"cell_type": "category", "louvain": "category", "batch": "category", "donor": "category",
        "n_genes": "int32", "total_counts": "float32", "pct_mito": "float32", "passed_qc": "bool"}
check(dt == want, f"obs dtypes {dt}")
check(len(a.obs["cell_type"].cat.categories) == 12 and a.obs["cell_type"].cat.categories[3] == "B cell",
      f"cell_type categories {list(a.obs['cell_type'].cat.categories)}")
check(list(a.obs["louvain"].cat.categories) == [str(i) for i in range(12)], "louvain categories")
check((a.obs["cell_type"].cat.codes.to_numpy() == a.obs["louvain"].cat.codes.to_numpy()).all(), "cell_type vs louvain")
check(a.obs_names.is_unique and a.obs_names[0].endswith("-1") and len(a.obs_names[0]) == 18, "obs names")
check(a.var_names.is_unique and "MT-CO1" in a.var_names and "MS4A1" in a.var_names, "var names")
vt = {c: str(t) for c, t in a.var.dtypes.items()}
check(vt == {"gene_ids": "object", "highly_variable": "bool", "mean": "float64", "n_cells": "int32"}, f"var dtypes {vt}")
mean = np.asarray(X.mean(axis=0)).ravel()
check(np.allclose(a.var["mean"].to_numpy(), mean, rtol=1e-5, atol=1e-7), "var mean != column means of X")
check(a.obsm["X_umap"].shape == (2000, 2) and a.obsm["X_umap"].dtype == np.float32, "X_umap")
check(a.obsm["X_pca"].shape == (2000, 10) and a.obsm["X_pca"].dtype == np.float32, "X_pca")
# clusters are blobs: within-cluster spread is much smaller than the spread of the whole embedding
u, k = a.obsm["X_umap"], a.obs["louvain"].cat.codes.to_numpy()
within = np.mean([u[k == c].std(axis=0).mean() for c in np.unique(k)])
check(within < 0.5 * u.std(axis=0).mean(), f"no cluster structure in X_umap ({within})")
check(a.uns["default_embedding"] == "X_umap" and "cells" in a.uns["title"], "uns strings")
cols = list(a.uns["cell_type_colors"])
check(len(cols) == 12 and all(len(c) == 7 and c[0] == "#" for c in cols), f"colors {cols}")
# encoding attributes, as anndata >= 0.8 writes them
with h5py.File(f"{w}/a.h5ad", "r") as f:
    enc = lambda p: (f[p].attrs.get("encoding-type"), f[p].attrs.get("encoding-version"))
    for p, e in {"/": ("anndata", "0.1.0"), "X": ("csr_matrix", "0.1.0"), "obs": ("dataframe", "0.2.0"),
                 "var": ("dataframe", "0.2.0"), "obs/cell_type": ("categorical", "0.2.0"),
                 "obs/_index": ("string-array", "0.2.0"), "obs/n_genes": ("array", "0.2.0"),
                 "obsm": ("dict", "0.1.0"), "obsm/X_umap": ("array", "0.2.0"), "uns": ("dict", "0.1.0"),
                 "uns/title": ("string", "0.2.0"), "uns/cell_type_colors": ("string-array", "0.2.0"),
                 "varm": ("dict", "0.1.0"), "layers": ("dict", "0.1.0")}.items():
        check(enc(p) == e, f"{p} encoding {enc(p)}")
    check(list(f["X"].attrs["shape"]) == [2000, 500], "X shape attribute")
    check(f["X/data"].compression == "gzip", f"X/data compression {f['X/data'].compression}")
    check(list(f["obs"].attrs["column-order"]) == list(want), "column-order")
    check(f["obs"].attrs["_index"] == "_index", "_index attribute")
# other codecs hold the same data; another seed other data
for name, comp in (("n", None), ("l", "lzf")):
    b = anndata.read_h5ad(f"{w}/{name}.h5ad")
    check((b.X != X).nnz == 0 and b.obs.equals(a.obs), f"{name}.h5ad differs from the gzip file")
    with h5py.File(f"{w}/{name}.h5ad", "r") as f:
        check(f["X/data"].compression == comp, f"{name}: compression {f['X/data'].compression}")
c = anndata.read_h5ad(f"{w}/c.h5ad")
check(c.X.nnz != X.nnz or (c.X != X).nnz > 0, "seed 6 gave the same X as seed 5")
for b in bad: print("FAIL:", b)
print("ok anndata checks" if not bad else f"{len(bad)} anndata checks failed")
sys.exit(1 if bad else 0)
EOF

# usage errors: exit 2, a precise message, no file
usage_case() {
  local expect=$1; shift
  "$CELLGATE" synth "$@" >/dev/null 2>"$work/err"; local rc=$?
  if [ $rc -ne 2 ]; then echo "FAIL: synth $* exited $rc (want 2)"; fail=1; return; fi
  grep -qF -- "$expect" "$work/err" || { echo "FAIL: synth $*: message lacks '$expect': $(cat "$work/err")"; fail=1; }
}
mkdir -p "$work/u"
o="$work/u/x.h5ad"
usage_case "--cells is required" --genes 10 --out "$o"
usage_case "--out is required" --cells 10 --genes 10
usage_case "--cells expects an integer" --cells 0 --genes 10 --out "$o"
usage_case "--cells expects an integer" --cells 12abc --genes 10 --out "$o"
usage_case "--genes expects an integer" --cells 10 --genes -5 --out "$o"
usage_case "--compression must be gzip, lzf or none" --cells 10 --genes 10 --out "$o" --compression zstd
usage_case "--nnz-per-cell (600) must not exceed --genes (500)" --cells 10 --genes 500 --nnz-per-cell 600 --out "$o"
usage_case "--clusters expects an integer" --cells 10 --genes 10 --clusters 0 --out "$o"
usage_case "--level expects an integer" --cells 10 --genes 10 --level 10 --out "$o"
usage_case "unknown option '--bogus'" --cells 10 --genes 10 --bogus 1 --out "$o"
usage_case "--seed needs a value" --cells 10 --genes 10 --out "$o" --seed
[ -z "$(ls -A "$work/u")" ] || { echo "FAIL: usage errors left files: $(ls -A "$work/u")"; fail=1; }
# work failure: exit 1, the path in the message, nothing left
"$CELLGATE" synth --cells 10 --genes 10 --out "$work/u/missing/x.h5ad" >/dev/null 2>"$work/err"; rc=$?
[ $rc -eq 1 ] && grep -q "missing/x.h5ad" "$work/err" || { echo "FAIL: unwritable output: exit $rc $(cat "$work/err")"; fail=1; }
[ -z "$(ls -A "$work/u")" ] || { echo "FAIL: failure left files: $(ls -A "$work/u")"; fail=1; }
# --help documents every flag
"$CELLGATE" synth --help >"$work/help" || { echo "FAIL: --help exit $?"; fail=1; }
for f in --cells --genes --out --seed --clusters --nnz-per-cell --compression --level --threads --quiet; do
  grep -q -- "$f" "$work/help" || { echo "FAIL: --help lacks $f"; fail=1; }
done
[ $fail -eq 0 ] && echo "ok usage and failure cases"
exit $fail
