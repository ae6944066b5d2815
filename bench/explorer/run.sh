#!/usr/bin/env bash
# bench/explorer/run.sh — the Explorer server under load (see bench/README.md): synthetic CELLS x GENES bundle,
# wrk latency/throughput per route beside same-run baselines, peak RssAnon, cold start, wire bytes.
# Knobs: CELLS (1000000) GENES (20000) NNZ (1000) DURATION (8 s per wrk run) CONNS (8) BUILD (build)
#        WORK (bench/out/work) OUT_DIR (bench/out) KEEP=1 (keep the bundle) TOTAL_TIMEOUT (3600 s)
set -euo pipefail
if [ -z "${CG_BENCH_INNER:-}" ]; then
  export CG_BENCH_INNER=1
  exec timeout --signal=TERM --kill-after=30 "${TOTAL_TIMEOUT:-3600}" bash "${BASH_SOURCE[0]}" "$@"
fi
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
export CELLGATE=${CELLGATE:-$BUILD/cellgate}
CELLS=${CELLS:-1000000} GENES=${GENES:-20000} NNZ=${NNZ:-1000}
WORK=${WORK:-$ROOT/bench/out/work} OUT_DIR=${OUT_DIR:-$ROOT/bench/out}
mkdir -p "$WORK" "$OUT_DIR"
h5ad=$WORK/explorer-c$CELLS-g$GENES.h5ad
cgb=$WORK/explorer-c$CELLS-g$GENES.cgb
log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
cleanup() { [ -n "${KEEP:-}" ] || rm -f "$h5ad" "$cgb"; }
trap cleanup EXIT
if [ ! -f "$cgb" ]; then
  log "synth $CELLS x $GENES"
  timeout 1800 "$CELLGATE" synth --quiet --cells "$CELLS" --genes "$GENES" --nnz-per-cell "$NNZ" --compression none --out "$h5ad"
  log "ingest"
  timeout 1800 "$CELLGATE" ingest --quiet "$h5ad" "$cgb"
  rm -f "$h5ad"
fi
out=$OUT_DIR/explorer-$(date +%Y-%m-%d-%H%M)-c$CELLS.md
log "measuring"
/usr/bin/python3 "$ROOT/bench/explorer/bench.py" --bundle "$cgb" --out "$out" --duration "${DURATION:-8}" --conns "${CONNS:-8}"
log "written $out"
