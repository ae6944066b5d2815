#!/usr/bin/python3
"""Writes the small .h5ad files tests/unit/test_h5ad_cases.c reads (usage: h5ad_cases.py OUTDIR).

Encodings no shared file has (`null`, `nullable-string-array`), numeric categories, a hand-made legacy file,
LZF-compressed int64-indexed CSR, and one broken file per bad-input case. Written with h5py (so they are real
HDF5 files from another writer); files anndata 0.8 can read are also checked by the oracle (h5ad_oracle.py)."""
import os
import sys

import h5py
import numpy as np

STR = h5py.string_dtype("utf-8")


def enc(obj, kind, version="0.2.0"):
    obj.attrs["encoding-type"] = kind
    obj.attrs["encoding-version"] = version


def strings(g, name, vals, raw_bytes=False):
    d = g.create_dataset(name, data=np.array(vals, dtype=object), dtype=STR)
    if raw_bytes:  # write the bytes as they are (invalid UTF-8 on purpose)
        d[...] = np.array(vals, dtype=object)
    enc(d, "string-array")
    return d


def array(g, name, data, **kw):
    d = g.create_dataset(name, data=data, **kw)
    enc(d, "array")
    return d


def dataframe(f, name, index, cols=(), order=None):
    g = f.create_group(name)
    enc(g, "dataframe")
    g.attrs["_index"] = "_index"
    strings(g, "_index", index)
    g.attrs["column-order"] = np.array(order if order is not None else [c for c, _ in cols], dtype=object) \
        if (order or cols) else np.array([], dtype=np.float64)
    for cname, writer in cols:
        writer(g, cname)
    return g


def categorical(codes, cats, ordered=False, raw_bytes=False):
    def w(g, name):
        c = g.create_group(name)
        enc(c, "categorical")
        c.attrs["ordered"] = ordered
        array(c, "codes", np.array(codes, dtype=np.int8))
        if isinstance(cats, np.ndarray) and cats.dtype.kind in "biuf":
            array(c, "categories", cats)
        else:
            strings(c, "categories", cats, raw_bytes)
    return w


def csr(f, name, indptr, indices, data, shape, idx_dtype=np.int32, **kw):
    g = f.create_group(name)
    enc(g, "csr_matrix", "0.1.0")
    g.attrs["shape"] = np.array(shape, dtype=np.int64)
    g.create_dataset("data", data=np.array(data, dtype=np.float32), **kw)
    g.create_dataset("indices", data=np.array(indices, dtype=idx_dtype), **kw)
    g.create_dataset("indptr", data=np.array(indptr, dtype=np.int64))
    return g


OBS = ["c0", "c1", "c2", "c3"]
VAR = ["g0", "g1", "g2"]
GOOD = dict(indptr=[0, 1, 3, 3, 5], indices=[0, 0, 2, 1, 2], data=[1, 2, 3, 4, 5], shape=(4, 3))


def base(path, obs_cols=(), obs_order=None, x=GOOD, **x_kw):
    f = h5py.File(path, "w")
    enc(f, "anndata", "0.1.0")
    dataframe(f, "obs", OBS, obs_cols, obs_order)
    dataframe(f, "var", VAR)
    if x is not None:
        csr(f, "X", x["indptr"], x["indices"], x["data"], x["shape"], **x_kw)
    for k in ("obsm", "uns", "layers"):
        enc(f.create_group(k), "dict", "0.1.0")
    return f


def bad_x(out, name, **changes):
    x = dict(GOOD)
    x.update(changes)
    idx_dtype = x.pop("idx_dtype", np.int32)
    base(os.path.join(out, name), x=x, idx_dtype=idx_dtype).close()


def null_and_nullable(out):
    f = base(os.path.join(out, "null_nullable_string.h5ad"), obs_cols=[("ns", nullable_string)])
    raw = f.create_dataset("raw", data=h5py.Empty("f"))
    enc(raw, "null", "0.1.0")
    nothing = f["uns"].create_dataset("nothing", data=h5py.Empty("f"))
    enc(nothing, "null", "0.1.0")
    f.close()
    f = base(os.path.join(out, "x_null.h5ad"), x=None)
    enc(f.create_dataset("X", data=h5py.Empty("f")), "null", "0.1.0")
    f.close()


def nullable_string(g, name):
    c = g.create_group(name)
    enc(c, "nullable-string-array", "0.1.0")
    strings(c, "values", ["a", "", "c", "d\u00e9"])
    array(c, "mask", np.array([False, True, False, False]))


def numeric_cats(out):
    cols = [("fcat", categorical([0, 1, 2, 3], np.array([0.5, 2.0, 1e-5, 1e16]))),
            ("icat", categorical([1, 0, -1, 1], np.array([7, 3], dtype=np.int16))),
            ("bcat", categorical([0, 1, 1, 0], np.array([True, False])))]
    f = base(os.path.join(out, "numeric_cats.h5ad"), obs_cols=cols)
    emb = np.array([[1, 2, 9], [3, 4, 9], [np.nan, 6, 9], [7, 8, 9]], dtype=np.float64)
    array(f["obsm"], "X_emb", emb)
    f.close()


def legacy(out):
    f = h5py.File(os.path.join(out, "legacy_custom.h5ad"), "w")
    obs_t = np.dtype([("index", "S4"), ("grp", "i1"), ("big", "i8"), ("ok", "?"), ("score", "<f4")])
    f.create_dataset("obs", data=np.array([(b"c0", 0, 5, True, 0.5), (b"c1", 1, 0, False, 1.5),
                                           (b"c2", -1, 1, True, np.nan), (b"c3", 1, 2, True, 2.5)], dtype=obs_t))
    f.create_dataset("var", data=np.array([(b"g0",), (b"g1",), (b"g2",)], dtype=[("index", "S4")]))
    f.create_dataset("obsm", data=np.array([((1, 2),), ((3, 4),), ((5, 6),), ((7, 8),)],
                                           dtype=[("X_umap", "<f8", (2,))]))
    uns = f.create_group("uns")
    uns.create_dataset("grp_categories", data=np.array([b"A", b"B"]))
    uns.create_dataset("big_categories", data=np.array([b"x", b"y"]))  # 5 >= 2: stays an int column
    uns.create_dataset("title", data=np.array([b"legacy title"]))
    x = f.create_group("X")
    x.attrs["h5sparse_format"] = "csr"
    x.attrs["h5sparse_shape"] = np.array([4, 3])
    for k in ("indptr", "indices", "data"):
        x.create_dataset(k, data=np.array(GOOD[k], dtype=np.float32 if k == "data" else np.int32))
    f.close()


def lzf_csr(out):
    rng = np.random.default_rng(7)
    n, m = 300, 50
    dense = (rng.random((n, m)) < 0.2) * rng.integers(1, 9, (n, m))
    indptr = np.concatenate([[0], np.cumsum((dense != 0).sum(1))])
    rows, cols = np.nonzero(dense)
    f = h5py.File(os.path.join(out, "lzf_int64.h5ad"), "w")
    enc(f, "anndata", "0.1.0")
    dataframe(f, "obs", ["o%d" % i for i in range(n)])
    dataframe(f, "var", ["v%d" % i for i in range(m)])
    g = f.create_group("X")
    enc(g, "csr_matrix", "0.1.0")
    g.attrs["shape"] = np.array([n, m])
    g.create_dataset("data", data=dense[rows, cols].astype(np.float64), compression="lzf", chunks=(97,))
    g.create_dataset("indices", data=cols.astype(np.int64), compression="lzf", chunks=(97,))
    g.create_dataset("indptr", data=indptr.astype(np.int64), compression="lzf", chunks=(64,))
    for k in ("obsm", "uns"):
        enc(f.create_group(k), "dict", "0.1.0")
    layers = f.create_group("layers")
    enc(layers, "dict", "0.1.0")
    array(layers, "dense", dense.astype(np.int32), compression="lzf", chunks=(7, 50))
    f.close()


def bad_frames(out):
    base(os.path.join(out, "bad_utf8_obs.h5ad"),
         obs_cols=[("name", lambda g, n: strings(g, n, [b"ok", b"fine", b"bad\xff", b"x"], True))]).close()
    base(os.path.join(out, "bad_utf8_cats.h5ad"),
         obs_cols=[("cat", categorical([0, 1, 0, 1], [b"A", b"\xc3\x28"], raw_bytes=True))]).close()
    base(os.path.join(out, "bad_duplicate_columns.h5ad"),
         obs_cols=[("a", lambda g, n: array(g, n, np.arange(4)))], obs_order=["a", "a"]).close()
    base(os.path.join(out, "bad_codes.h5ad"), obs_cols=[("cat", categorical([0, 1, 0, 5], ["A", "B"]))]).close()
    base(os.path.join(out, "bad_obs_len.h5ad"), obs_cols=[("x", lambda g, n: array(g, n, np.arange(3.0)))]).close()


def bad_embeddings(out):
    for name, emb in (("bad_emb_rows.h5ad", np.zeros((3, 2))),
                      ("bad_emb_inf.h5ad", np.array([[0, 0], [np.inf, 1], [2, 2], [3, 3]])),
                      ("bad_emb_allnan.h5ad", np.full((4, 2), np.nan))):
        f = base(os.path.join(out, name))
        array(f["obsm"], "X_umap", emb)
        f.close()


def bad_matrices(out):
    bad_x(out, "bad_indptr_len.h5ad", indptr=[0, 1, 3, 5])
    bad_x(out, "bad_lengths.h5ad", data=[1, 2, 3, 4, 5, 6])
    bad_x(out, "bad_shape.h5ad", shape=(5, 3), indptr=[0, 1, 3, 3, 5, 5])
    bad_x(out, "bad_index_range.h5ad", indices=[0, 0, 7, 1, 2])
    bad_x(out, "bad_unsorted.h5ad", indices=[0, 2, 0, 1, 2])
    bad_x(out, "bad_duplicate_index.h5ad", indices=[0, 1, 1, 1, 2])
    bad_x(out, "bad_negative_index.h5ad", indices=[0, 0, 2, -1, 2])
    bad_x(out, "bad_int64_index.h5ad", indices=[0, 0, 2, 1, 1 << 33], idx_dtype=np.int64)
    bad_x(out, "bad_indptr_decreasing.h5ad", indptr=[0, 3, 2, 4, 5])
    bad_x(out, "bad_inf_sparse.h5ad", data=[1, 2, 3, np.inf, 5])
    f = base(os.path.join(out, "bad_inf_dense.h5ad"), x=None)
    array(f, "X", np.array([[1, 0, 0], [0, np.nan, 0], [-np.inf, 0, 0], [0, 0, 1]], dtype=np.float32))
    f.close()


def broken_files(out):
    good = os.path.join(out, "numeric_cats.h5ad")
    data = open(good, "rb").read()
    open(os.path.join(out, "truncated.h5ad"), "wb").write(data[: len(data) // 2])
    open(os.path.join(out, "not_hdf5.h5ad"), "wb").write(b"this is not an HDF5 file\n" * 40)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    null_and_nullable(out)
    numeric_cats(out)
    legacy(out)
    lzf_csr(out)
    bad_frames(out)
    bad_embeddings(out)
    bad_matrices(out)
    broken_files(out)


if __name__ == "__main__":
    main()
