#!/usr/bin/python3
"""read_h5ad_time.py FILE [RUNS] — best-of-RUNS wall time of anndata.read_h5ad(FILE), the call alone.

The import of anndata (and its dependencies) happens once, before the clock starts; each run reads the whole
file into memory (X as a scipy CSR matrix), then the object is dropped and garbage-collected before the next
run. Prints one JSON line: {"best_s": ..., "runs_s": [...], "n_obs": ..., "n_vars": ..., "nnz": ...}.
Run it with Debian's /usr/bin/python3 (the python3 first on PATH may lack anndata).
"""
import gc
import json
import sys
import time

import anndata  # noqa: E402  (imported before timing on purpose)


def main():
    path, runs = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3
    times, shape, nnz = [], None, None
    for _ in range(runs):
        t = time.perf_counter()
        a = anndata.read_h5ad(path)
        times.append(time.perf_counter() - t)
        shape, nnz = a.shape, getattr(a.X, "nnz", None)
        del a
        gc.collect()
    print(json.dumps({"best_s": round(min(times), 3), "runs_s": [round(x, 3) for x in times],
                      "n_obs": shape[0], "n_vars": shape[1], "nnz": nnz}))


if __name__ == "__main__":
    main()
