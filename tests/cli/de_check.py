"""Independent reference for `cellgate diffexp` (tests/cli/test_diffexp.sh): recomputes the table with scipy /
numpy / mpmath from the .h5ad and compares. Exit 1 with a message per mismatch.

usage: de_check.py H5AD METHOD SET1 SET2|rest OURS.json

Checks: welch t, p against scipy.stats.ttest_ind(equal_var=False); wilcoxon U, p against
scipy.stats.mannwhitneyu(two-sided, asymptotic, continuity) — within 1e-6 relative; where scipy's p underflows
(< 1e-300) log p against mpmath (50 digits) within 1e-9 absolute; cellxgene against the formulas of
reference/cellxgene-compat.md §5 written out below; means, variances, fractions, lfc, BH, Bonferroni; the
top-50 order against the reference ranking (log p ascending, then |t| or |AUROC-0.5| descending).
"""
import json
import sys

import anndata
import mpmath as mp
import numpy as np
import scipy.sparse as sp
import scipy.stats as st

mp.mp.dps = 50
h5ad, method, f1, f2, ours_path = sys.argv[1:6]
a = anndata.read_h5ad(h5ad)
X = a.X.toarray() if sp.issparse(a.X) else np.asarray(a.X)
X = X.astype(np.float32).astype(np.float64)  # the bundle stores float32
n_obs, n_genes = X.shape
i1 = np.loadtxt(f1, dtype=np.int64, ndmin=1)
i2 = np.setdiff1d(np.arange(n_obs), i1) if f2 == "rest" else np.loadtxt(f2, dtype=np.int64, ndmin=1)
A, B = X[i1], X[i2]
n1, n2 = len(i1), len(i2)
ours = json.load(open(ours_path))
G = {g["index"]: g for g in ours["genes"]}
bad = []


def num(v):
    return np.nan if v is None else float(v)


def col(key):
    return np.array([num(G[i][key]) for i in range(n_genes)])


def close(name, got, ref, rtol, atol=0.0):
    got, ref = np.asarray(got, float), np.asarray(ref, float)
    same_nan = np.isnan(got) & np.isnan(ref)
    ok = same_nan | np.isclose(got, ref, rtol=rtol, atol=atol) | ((got == ref) & np.isinf(ref))
    for i in np.where(~ok)[0][:5]:
        bad.append(f"{name}[gene {i}]: ours {got[i]!r} reference {ref[i]!r}")
    return ok


def log_t_p2(t, df):  # log(2 sf(|t|, df)) = log I_{df/(df+t^2)}(df/2, 1/2)
    if not np.isfinite(t) or not np.isfinite(df):
        return np.nan if np.isnan(t) else -np.inf
    t2 = mp.mpf(t) ** 2
    x = mp.mpf(df) / (mp.mpf(df) + t2)
    return float(mp.log(mp.betainc(mp.mpf(df) / 2, mp.mpf(1) / 2, 0, x, regularized=True)))


def log_norm_p2(z):  # log(2 sf(z)) (scipy's mannwhitneyu uses sf(z), not sf(|z|))
    return float(mp.log(mp.erfc(mp.mpf(z) / mp.sqrt(2))))


def check_logp(p_ref, logp_ref_fn):
    """p within 1e-6 relative where representable, else log p within 1e-9 absolute (mpmath)."""
    got_p, got_lp = col("p"), col("log_p")
    normal = p_ref > 1e-300
    close("p", got_p[normal], p_ref[normal], 1e-6, 1e-300)
    ref_lp = np.log(p_ref.copy())
    for i in np.where(~normal & ~np.isnan(p_ref))[0]:
        ref_lp[i] = logp_ref_fn(i)
        if not np.isclose(got_lp[i], ref_lp[i], rtol=0, atol=1e-9) and not (got_lp[i] == ref_lp[i]):
            bad.append(f"log_p[gene {i}] (underflow): ours {got_lp[i]!r} mpmath {ref_lp[i]!r}")
    # every log p also agrees with log of scipy's p where scipy's p is representable
    close("log_p", got_lp[normal], np.log(p_ref[normal]), 1e-6, 1e-12)
    return ref_lp, int((~normal & ~np.isnan(p_ref)).sum())


def moments(check_var=True):
    m1, m2 = A.mean(0), B.mean(0)
    close("mean1", col("mean1"), m1, 1e-9, 1e-12)
    close("mean2", col("mean2"), m2, 1e-9, 1e-12)
    if check_var:
        close("var1", col("var1"), A.var(0, ddof=1), 1e-7, 1e-12)
        close("var2", col("var2"), B.var(0, ddof=1), 1e-7, 1e-12)
    close("frac1", col("frac1"), (A != 0).mean(0), 1e-12)
    close("frac2", col("frac2"), (B != 0).mean(0), 1e-12)
    kind = ours["lfc_kind"]
    lo, hi = X.min(), X.max()
    want = "mean_difference" if lo < 0 else ("log2_fold_change_of_means" if hi > 24 else "log2_fold_change_of_expm1_means")
    if kind != want:
        bad.append(f"lfc_kind {kind}, expected {want}")
    pc = 1e-9
    if want == "mean_difference":
        lfc = m1 - m2
    elif want == "log2_fold_change_of_means":
        lfc = np.log2((m1 + pc) / (m2 + pc))
    else:
        lfc = np.log2((np.expm1(A).mean(0) + pc) / (np.expm1(B).mean(0) + pc))
    close("lfc", col("lfc"), lfc, 1e-6, 1e-9)


def adjustments(p, m):
    order = np.argsort(p, kind="stable")
    q = p[order] * m / np.arange(1, len(p) + 1)
    q = np.minimum.accumulate(q[::-1])[::-1]
    bh = np.empty_like(p)
    bh[order] = np.minimum(q, 1)
    return np.minimum(p * m, 1), bh


def check_adjust(p_ref):
    ok = ~np.isnan(p_ref)
    bonf, bh = adjustments(p_ref[ok], ok.sum())
    close("p_adj_bonferroni", col("p_adj_bonferroni")[ok], bonf, 1e-6, 1e-300)
    close("p_adj_bh", col("p_adj_bh")[ok], bh, 1e-6, 1e-300)


def check_order(ref_lp, key):
    ref = sorted(range(n_genes), key=lambda i: (np.isnan(ref_lp[i]), ref_lp[i] if not np.isnan(ref_lp[i]) else 0, -key[i], i))
    got = [g["index"] for g in ours["genes"]][:50]
    for k, (g, r) in enumerate(zip(got, ref[:50])):
        if g != r and not np.isclose(ref_lp[g], ref_lp[r], rtol=1e-9, atol=1e-12):
            bad.append(f"top-50 order differs at position {k}: ours gene {g} (log p {ref_lp[g]}) reference {r} (log p {ref_lp[r]})")
            break


def welch():
    moments()
    with np.errstate(all="ignore"):
        t, p = st.ttest_ind(A, B, equal_var=False, axis=0)
        v1, v2 = A.var(0, ddof=1) / n1, B.var(0, ddof=1) / n2
        df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
    df = np.where(np.isnan(df), 1, df)
    close("t", col("statistic"), t, 1e-6, 1e-12)
    ref_lp, nu = check_logp(p, lambda i: log_t_p2(t[i], df[i]))
    check_adjust(p)
    check_order(ref_lp, np.nan_to_num(np.abs(t), nan=-1))
    return nu


def wilcoxon():
    moments()
    with np.errstate(all="ignore"):
        r = st.mannwhitneyu(A, B, alternative="two-sided", method="asymptotic", use_continuity=True, axis=0)
    U1, p = r.statistic, r.pvalue
    close("U", col("statistic"), U1, 1e-6)
    close("auroc", col("auroc"), U1 / (n1 * n2), 1e-9)

    def z_of(i):
        ranks = st.rankdata(np.concatenate([A[:, i], B[:, i]]))
        _, t = np.unique(ranks, return_counts=True)
        s = np.sqrt(n1 * n2 / 12 * ((n1 + n2 + 1) - (t**3 - t).sum() / ((n1 + n2) * (n1 + n2 - 1))))
        return (max(U1[i], n1 * n2 - U1[i]) - n1 * n2 / 2 - 0.5) / s

    ref_lp, nu = check_logp(p, lambda i: log_norm_p2(z_of(i)))
    check_adjust(p)
    check_order(ref_lp, np.abs(U1 / (n1 * n2) - 0.5))
    return nu


def cellxgene():
    """reference/cellxgene-compat.md §5, written out."""
    Y = np.log1p(X) if X.max() - X.min() > 24 else X
    if bool(ours["log1p_applied"]) != bool(X.max() - X.min() > 24):
        bad.append("log1p_applied differs")
    with np.errstate(all="ignore"):
        YA, YB = Y[i1], Y[i2]
        mA, mB = YA.mean(0), YB.mean(0)
        vA, vB = YA.var(0, ddof=1), YB.var(0, ddof=1)
        nm = min(n1, n2)
        vA, vB = vA / nm, vB / nm
        t = (mA - mB) / np.sqrt(vA + vB)
        df = (vA + vB) ** 2 / (vA**2 / (n1 - 1) + vB**2 / (n2 - 1))
    t[np.isnan(t)] = 0
    df[np.isnan(df)] = 1
    # Genes constant within both sets: numpy's two-pass mean/var leave rounding noise (var ~ 1e-34, means
    # differing in the last bit), so cellxgene's t there is noise (seen: t = 14 for a gene equal to -0.073 in
    # every cell). The engine detects constant sets exactly (var = 0): t = NaN -> 0, p = 1. Those genes
    # are checked for exactly that instead of against the noise.
    const = (np.ptp(YA, 0) == 0) & (np.ptp(YB, 0) == 0) & ~np.isnan(YA).any(0) & ~np.isnan(YB).any(0)
    got_t = col("statistic")
    for i in np.where(const)[0]:
        if not (got_t[i] == 0 and num(G[i]["p"]) == 1):
            bad.append(f"gene {i} is constant in both sets: expected t = 0, p = 1, got {got_t[i]}, {G[i]['p']}")
    t[const], df[const], mA[const] = 0, 1, mB[const]
    p = 2 * st.t.sf(np.abs(t), df)
    padj = np.minimum(1, p * n_genes)
    lfc = mA - mB
    close("t", col("statistic"), t, 1e-6, 1e-12)
    close("p", col("p"), p, 1e-6, 1e-300)
    close("p_adj", col("p_adj_bonferroni"), padj, 1e-6, 1e-300)
    close("lfc", col("lfc"), lfc, 1e-6, 1e-9)
    # the selection rule, applied to the reference numbers, must give the lists our numbers give
    for N in (15, 50):
        passing = np.where(np.abs(lfc) > 0.01)[0]
        pool = passing if len(passing) > 2 * N else np.arange(n_genes)
        for sign in (1, -1):
            ref = sorted(pool, key=lambda i: (-sign * t[i], i))[:N]
            got_t = col("statistic")
            got = sorted(pool, key=lambda i: (-sign * got_t[i], i))[:N]
            if list(ref) != list(got):
                bad.append(f"cellxgene top-{N} {'positive' if sign > 0 else 'negative'} list differs")
    return 0


nu = {"welch": welch, "wilcoxon": wilcoxon, "cellxgene": cellxgene}[method]()
if bad:
    print(f"FAIL {method} {h5ad.split('/')[-1]} n1={n1} n2={n2}:")
    for b in bad[:20]:
        print("  " + b)
    sys.exit(1)
print(f"ok {method} {h5ad.split('/')[-1]} n1={n1} n2={n2} genes={n_genes} (underflow cases checked by mpmath: {nu})")
