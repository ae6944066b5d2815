#!/usr/bin/env bash
# bench/diffexp/run.sh — differential expression: cg_de_run beside the memory-bandwidth floor (a vectorised
# sum over the CSR data + indices of the rows the engine reads, same process, same run) and beside a
# numpy/scipy implementation on the same data (bench/diffexp/scipy_de.py).
#
#   small: SMALL_CELLS (200,000) x SMALL_GENES (5,000), SMALL_NNZ (500) entries/cell (10 %)
#   big:   BIG_CELLS (1,000,000) x BIG_GENES (20,000), BIG_NNZ (1,000)/cell; BIG=0 skips it
#   cases: half (even cells vs rest), tenth (every 10th vs rest), two50k (two disjoint 50,000-cell sets)
#   methods: welch, wilcoxon. Targets: welch <= 2x floor; >= 50x scipy on small/half; wilcoxon big < 30 s.
# Inputs: `cellgate synth --compression none` + `cellgate ingest`. Prints a Markdown table and writes it to
# bench/out/diffexp-<date>.md.
#
# Knobs: BUILD (build dir with cellgate + libcgcore.a), RUNS (3), THREADS (online CPUs), SCIPY_BIG=1 (also
# run scipy on the big set: ~20 GB of RAM), WILCOX_GENES (50), BIG_BUNDLE (use an existing big .cgb instead
# of synth+ingest), WORK, OUT_DIR, KEEP=1 (keep the multi-GB inputs; reused next time), STEP_TIMEOUT (1800 s),
# TOTAL_TIMEOUT (5400 s).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOTAL_TIMEOUT=${TOTAL_TIMEOUT:-5400}
if [ -z "${CG_BENCH_INNER:-}" ]; then
  export CG_BENCH_INNER=1
  exec timeout --signal=TERM --kill-after=60 "$TOTAL_TIMEOUT" bash "${BASH_SOURCE[0]}" "$@"
fi
BUILD=${BUILD:-$ROOT/build}
CELLGATE=${CELLGATE:-$BUILD/cellgate}
SMALL_CELLS=${SMALL_CELLS:-200000} SMALL_GENES=${SMALL_GENES:-5000} SMALL_NNZ=${SMALL_NNZ:-500}
BIG_CELLS=${BIG_CELLS:-1000000} BIG_GENES=${BIG_GENES:-20000} BIG_NNZ=${BIG_NNZ:-1000}
BIG=${BIG:-1} RUNS=${RUNS:-3} THREADS=${THREADS:-$(nproc)} SCIPY_BIG=${SCIPY_BIG:-0} WILCOX_GENES=${WILCOX_GENES:-50}
STEP_TIMEOUT=${STEP_TIMEOUT:-1800}
WORK=${WORK:-$ROOT/bench/out/diffexp-work}
OUT_DIR=${OUT_DIR:-$ROOT/bench/out}
KEEP=${KEEP:-0}
PY=/usr/bin/python3
log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ -x "$CELLGATE" ] && [ -f "$BUILD/libcgcore.a" ] || die "need $CELLGATE and $BUILD/libcgcore.a (make build)"
mkdir -p "$WORK" "$OUT_DIR"
cleanup() { [ "$KEEP" = 1 ] || rm -f "$WORK"/*.h5ad "$WORK"/*.cgb "$WORK"/*.tmp.* 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 143' TERM INT

BENCH_DE=$WORK/bench_de
cc -O3 -march=native -D_GNU_SOURCE -I"$ROOT/src" "$ROOT/bench/diffexp/bench_de.c" "$BUILD/libcgcore.a" \
  $(pkg-config --libs hdf5 libxxhash jansson libdeflate libmicrohttpd libzstd) -llzf -lpthread -lm -o "$BENCH_DE"

make_input() { # cells genes nnz -> prints the bundle path
  local base="$WORK/synth-c$1-g$2-m$3"
  if [ ! -f "$base.cgb" ]; then
    [ -f "$base.h5ad" ] || timeout "$STEP_TIMEOUT" "$CELLGATE" synth --quiet --cells "$1" --genes "$2" \
      --nnz-per-cell "$3" --compression none --out "$base.h5ad" >&2 || die "synth $1"
    timeout "$STEP_TIMEOUT" "$CELLGATE" ingest --quiet "$base.h5ad" "$base.cgb" >&2 || die "ingest $1"
  fi
  echo "$base"
}

rows=()
bench_set() { # label base-path(or bundle) h5ad-or-empty
  local label=$1 bundle=$2 h5ad=$3
  for m in welch wilcoxon; do
    for c in half tenth two50k; do
      log "$label $m $c"
      local j s="—" sr="—"
      j=$(timeout "$STEP_TIMEOUT" "$BENCH_DE" "$bundle" $c $m "$RUNS" "$THREADS") || die "bench_de $c $m"
      if [ -n "$h5ad" ]; then
        s=$(timeout "$STEP_TIMEOUT" $PY -W ignore "$ROOT/bench/diffexp/scipy_de.py" "$h5ad" $c $m 1 "$WILCOX_GENES" 2>/dev/null |
          $PY -c 'import json,sys; print("%.3f" % json.load(sys.stdin)["scipy_s"])') || s="failed"
      fi
      rows+=("$($PY - "$j" "$label" "$s" <<'PY'
import json, sys
j, label, s = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
de, fl = j["de_s"], j["floor_s"]
gb = j["bytes_read"] / 1e9
extra = ""
if j["method"] == "wilcoxon":
    extra = f" (+ CSC walk floor {j['csc_floor_s']:.3f} s, {j['csc_bytes']/1e9:.1f} GB)"
sx = f"{float(s)/de:.0f}×" if s not in ("—", "failed") else "—"
ss = (s + " s" + (" (extrap.)" if j["method"] == "wilcoxon" else "")) if s not in ("—", "failed") else s
print(f"| {label} | {j['method']} | {j['case']} ({j['n1']:,} vs {j['n2']:,}) | {de:.3f} s | {fl:.3f} s{extra} | "
      f"{de/fl:.1f}× | {gb:.2f} GB, {gb/de:.1f} GB/s | {ss} | {sx} |")
PY
)")
    done
  done
}

small=$(make_input "$SMALL_CELLS" "$SMALL_GENES" "$SMALL_NNZ")
bench_set "${SMALL_CELLS}×${SMALL_GENES}" "$small.cgb" "$small.h5ad"
if [ "$BIG" = 1 ]; then
  if [ -n "${BIG_BUNDLE:-}" ]; then bench_set "${BIG_CELLS}×${BIG_GENES}" "$BIG_BUNDLE" ""
  else
    big=$(make_input "$BIG_CELLS" "$BIG_GENES" "$BIG_NNZ")
    bench_set "${BIG_CELLS}×${BIG_GENES}" "$big.cgb" "$([ "$SCIPY_BIG" = 1 ] && echo "$big.h5ad")"
  fi
fi

out="$OUT_DIR/diffexp-$(date +%Y-%m-%d-%H%M).md"
{
  echo "Differential expression, $(nproc) CPUs, $THREADS threads, best of $RUNS, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "| dataset | method | case | cg_de_run | floor (stream the rows read) | ratio to floor | bytes read by the pass | numpy/scipy | speed-up |"
  echo "|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} | tee "$out"
log "wrote $out"
