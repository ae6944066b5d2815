#!/usr/bin/python3
"""pdu_ref.py — an independent reference for the cellxgene diffex PDU, used by tests/unit/test_pdu.c.

Written from the upstream format, not from src/wire/pdu*.c (chanzuckerberg/single-cell-explorer:
dev_docs/diffexpdu.md for the layout; client/src/util/diffexpdu/{diffexpdu,postingslist,utils}.ts for what the
browser actually sends — magic 0xDE, mode, N; posting list 0xCE with n_lists-1 written as 0; descriptions with
n_elem-1 and n_bytes-1; the block-type heuristic; inverted ranges with an INCLUSIVE end; every block compressed
on its own with raw deflate at level 3, memLevel 9 — the same zlib settings as server/common/diffexpdu/utils.py).

  pdu_ref.py gen DIR     writes DIR/<case>.pdu (built exactly as the upstream client builds it) and
                         DIR/<case>.sets, and DIR/manifest.txt listing the cases and the block types used
  pdu_ref.py check DIR   decodes every DIR/*.pdu that has a DIR/*.sets with this file's own decoder and checks
                         that it gives those sets (the C encoder's output is checked this way); exit 1 on mismatch

A .sets file is little-endian: u64 n_obs, u64 N, u64 len(set1), u64 len(set2), then both sets as u32.
"""
import os
import struct
import sys
import zlib

import numpy as np

SETS_HDR = struct.Struct("<QQQQ")
DESC = struct.Struct("<BBHHH")


def raw_deflate(raw):
    z = zlib.compressobj(level=3, method=zlib.DEFLATED, wbits=-15, memLevel=9)
    return z.compress(raw) + z.flush()


def raw_inflate(data):
    z = zlib.decompressobj(wbits=-15)
    out = z.decompress(data) + z.flush()
    assert z.eof and not z.unused_data, "block is not exactly one raw deflate stream"
    return out


def shuffled_deltas(values):
    """u16 values (increasing) -> delta code, low bytes of all then high bytes of all."""
    d = np.diff(values.astype(np.int64), prepend=0).astype("<u2")
    return d.view(np.uint8).reshape(-1, 2).T.tobytes()


def unshuffled_values(buf):
    a = np.frombuffer(buf, dtype=np.uint8).reshape(2, -1)
    deltas = a[0].astype(np.int64) | (a[1].astype(np.int64) << 8)
    return np.cumsum(deltas)


def client_block(low):
    """(type, raw payload) the way the upstream client chooses and builds it for the low parts `low`."""
    n = len(low)
    span = int(low[-1]) + 1 - int(low[0])
    density = n / span
    if 2**11 < n < 2**16 - 2**11 and 0.125 < density < 0.875:
        bits = np.zeros(2**16, dtype=bool)
        bits[low] = True
        return 0, np.packbits(bits, bitorder="little").tobytes()
    if (span - n) + 2 >= n:
        return 1, shuffled_deltas(low)
    present = np.zeros(span, dtype=bool)
    present[low - low[0]] = True
    missing = np.nonzero(~present)[0] + int(low[0])
    return 2, struct.pack("<HH", int(low[0]), int(low[-1])) + shuffled_deltas(missing)


def encode(set1, set2, top_n):
    sets = (np.asarray(set1, dtype=np.uint32), np.asarray(set2, dtype=np.uint32))
    keys = sorted(set(np.unique(sets[0] >> 16).tolist()) | set(np.unique(sets[1] >> 16).tolist()))
    descs, blocks, types = [], [], []
    for key in keys:  # by key, set1 before set2: the client's stable sort by key
        for lid, s in enumerate(sets):
            lo, hi = np.searchsorted(s, [key << 16, (key + 1) << 16])
            if lo == hi:
                continue
            btype, raw = client_block((s[lo:hi] & 0xFFFF).astype(np.int64))
            data = raw_deflate(raw)
            descs.append(DESC.pack(btype, 1 << lid, int(hi - lo) - 1, key, len(data) - 1))
            blocks.append(data)
            types.append(btype)
    head = struct.pack("<BBH", 0xDE, 0, top_n) + struct.pack("<BBH", 0xCE, 0, len(descs) - 1)
    return head + b"".join(descs) + b"".join(blocks), types


def decode(buf):
    magic, mode, top_n = struct.unpack_from("<BBH", buf, 0)
    assert magic == 0xDE and mode == 0, "bad PDU header"
    pmagic, _, nb = struct.unpack_from("<BBH", buf, 4)
    assert pmagic == 0xCE, "bad posting-list magic"
    nb += 1
    off = 8 + 8 * nb
    parts = ([], [])
    for i in range(nb):
        btype, mask, n, key, nbytes = DESC.unpack_from(buf, 8 + 8 * i)
        n, nbytes = n + 1, nbytes + 1
        raw = raw_inflate(buf[off : off + nbytes])
        off += nbytes
        if btype == 0:
            assert len(raw) == 8192
            low = np.nonzero(np.unpackbits(np.frombuffer(raw, dtype=np.uint8), bitorder="little"))[0]
        elif btype == 1:
            low = unshuffled_values(raw)
        else:
            first, last = struct.unpack_from("<HH", raw, 0)
            present = np.ones(last + 1 - first, dtype=bool)
            present[unshuffled_values(raw[4:]) - first] = False
            low = np.nonzero(present)[0] + first
        assert len(low) == n, f"block {i}: {len(low)} values, n_elem {n}"
        assert mask in (1, 2)
        parts[mask >> 1].append(low.astype(np.int64) + (key << 16))
    assert off == len(buf), "trailing bytes"
    sets = [np.concatenate(p) if p else np.zeros(0, dtype=np.int64) for p in parts]
    return top_n, sets


def write_sets(path, n_obs, top_n, set1, set2):
    with open(path, "wb") as f:
        f.write(SETS_HDR.pack(n_obs, top_n, len(set1), len(set2)))
        f.write(np.asarray(set1, dtype="<u4").tobytes())
        f.write(np.asarray(set2, dtype="<u4").tobytes())


def read_sets(path):
    buf = open(path, "rb").read()
    n_obs, top_n, n1, n2 = SETS_HDR.unpack_from(buf, 0)
    a = np.frombuffer(buf, dtype="<u4", offset=SETS_HDR.size)
    assert len(a) == n1 + n2
    return n_obs, top_n, a[:n1], a[n1:]


def cases():
    rng = np.random.default_rng(20240611)
    yield "upstream_roundtrip", 100, 50, np.arange(0, 100, 2), np.arange(1, 100, 2)
    nobs = 4 * 2**16  # the upstream "vary density" test: disjoint random sets over a shuffled range
    dens = [0.0001, 0.01, 0.1, 0.2, 0.4, 0.6, 0.8, 0.99, 0.9999]
    for i, d1 in enumerate(dens):
        for j, d2 in enumerate(dens):
            n1, n2 = int(nobs * d1), int(nobs * d2)
            arr = rng.permutation(n1 + n2)
            yield f"density_{i}_{j}", max(nobs, n1 + n2), int(rng.integers(100)), np.sort(arr[:n1]), np.sort(arr[n1:])
    draw = rng.choice(3_000_000, 1_500_000, replace=False)  # upstream's benchmark shape
    yield "bench_3M", 3_000_000, 50, np.sort(draw[:1_000_000]), np.sort(draw[1_000_000:])
    n = 3 * 2**16 + 17
    yield "tail_full_range", n, 15, np.arange(2**16 + 5, n), np.sort(rng.choice(2**16, 300, replace=False))
    yield "first_and_last", n, 65535, np.array([0]), np.array([n - 1])


def gen(outdir):
    os.makedirs(outdir, exist_ok=True)
    lines = []
    for name, n_obs, top_n, s1, s2 in cases():
        pdu, types = encode(s1, s2, top_n)
        with open(os.path.join(outdir, name + ".pdu"), "wb") as f:
            f.write(pdu)
        write_sets(os.path.join(outdir, name + ".sets"), n_obs, top_n, s1, s2)
        lines.append(f"{name} {types.count(0)} {types.count(1)} {types.count(2)}")
    with open(os.path.join(outdir, "manifest.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def check(indir):
    bad = 0
    names = sorted(f[:-4] for f in os.listdir(indir) if f.endswith(".pdu"))
    for name in names:
        sets_path = os.path.join(indir, name + ".sets")
        if not os.path.exists(sets_path):
            continue
        _, top_n, s1, s2 = read_sets(sets_path)
        try:
            got_n, got = decode(open(os.path.join(indir, name + ".pdu"), "rb").read())
            ok = got_n == top_n and np.array_equal(got[0], s1) and np.array_equal(got[1], s2)
        except AssertionError as e:
            ok = False
            print(f"{name}: {e}", file=sys.stderr)
        if not ok:
            print(f"{name}: decoded sets differ", file=sys.stderr)
            bad += 1
    print(f"pdu_ref: {len(names) - bad}/{len(names)} PDUs decode to their sets")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("gen", "check"):
        sys.exit(__doc__)
    sys.exit(gen(sys.argv[2]) if sys.argv[1] == "gen" else check(sys.argv[2]))
