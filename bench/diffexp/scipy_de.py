"""The numpy/scipy baseline for bench/diffexp (run with Debian's /usr/bin/python3).

usage: scipy_de.py H5AD CASE METHOD RUNS [WILCOX_GENES]

Same sets as bench_de.c. welch: cellxgene's way — scipy.sparse row slicing of each set, per-gene mean and
variance from sparse column sums of x and x^2 with float64 accumulators, Welch t, scipy.stats.t.sf. wilcoxon: scipy.stats.mannwhitneyu
(asymptotic, two-sided) per gene on densified columns of the two sets, timed over WILCOX_GENES genes
(default 50) and extrapolated to all genes. Reading the file is not timed. Prints one JSON line.
"""
import json
import sys
import time

import anndata
import numpy as np
import scipy.sparse as sp
import scipy.stats as st

path, case, method, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
wg = int(sys.argv[5]) if len(sys.argv) > 5 else 50
X = anndata.read_h5ad(path).X
X = sp.csr_matrix(X)
n, G = X.shape
i = np.arange(n)
k = max(n // 50000, 2)
if case == "half":
    m1 = i % 2 == 0
    m2 = ~m1
elif case == "tenth":
    m1 = i % 10 == 0
    m2 = ~m1
else:
    m1 = (i % k == 0) & (np.cumsum(i % k == 0) <= 50000)
    m2 = (i % k == 1) & (np.cumsum(i % k == 1) <= 50000)
i1, i2 = np.where(m1)[0], np.where(m2)[0]


def moments(idx):
    # cellxgene: select the set's rows of the CSR matrix, then per gene n / mean / variance (ddof = 1)
    # accumulated in float64 (compat §5): column sums of x and of x^2 (squares formed in float32, as
    # scipy.sparse multiplies them) with a float64 accumulator (dtype=). The earlier version summed in float32:
    # not what cellxgene does. Widening the selected rows to float64 first costs another ~1 s on 200k x 5000
    # half; we take the leaner form.
    A = X[idx]
    nn = len(idx)
    mean = np.asarray(A.sum(0, dtype=np.float64)).ravel() / nn
    sq = np.asarray(A.multiply(A).sum(0, dtype=np.float64)).ravel() / nn
    var = (sq - mean**2) * nn / (nn - 1)
    return mean, var, nn


def welch():
    ma, va, na = moments(i1)
    mb, vb, nb = moments(i2)
    a, b = va / na, vb / nb
    t = (ma - mb) / np.sqrt(a + b)
    df = (a + b) ** 2 / (a**2 / (na - 1) + b**2 / (nb - 1))
    p = 2 * st.t.sf(np.abs(t), df)
    return p


def wilcoxon():
    C = X.tocsc()
    genes = np.linspace(0, G - 1, wg).astype(int)
    t0 = time.perf_counter()
    for g in genes:
        col = C[:, g].toarray().ravel()
        st.mannwhitneyu(col[i1], col[i2], alternative="two-sided", method="asymptotic")
    return (time.perf_counter() - t0) * G / wg


best = 1e30
for r in range(runs):
    if method == "welch":
        t0 = time.perf_counter()
        welch()
        t = time.perf_counter() - t0
    else:
        t = wilcoxon()
    best = min(best, t)
print(json.dumps({"case": case, "method": method, "scipy_s": best, "extrapolated": method == "wilcoxon",
                  "wilcoxon_genes_timed": wg if method == "wilcoxon" else None}))
