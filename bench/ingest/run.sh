#!/usr/bin/env bash
# bench/ingest/run.sh — the ingest benchmark: every figure beside a baseline measured in the same run.
#
#   1. big dataset (CELLS, default 1,000,000 cells x 20,000 genes, ~1,000 stored entries per cell), written by
#      `cellgate synth`: ingest wall time and peak anonymous memory (target < 4 GiB), with `cat` of the input
#      and of the output to /dev/null as page-cache read baselines; cg_bundle_open of the result (< 50 ms).
#   2. speed dataset (SPEED_CELLS, default CELLS/5 = 200,000): ingest vs anndata.read_h5ad on the same file,
#      best of N each (target: ingest >= 3x faster).
# Prints a Markdown table and writes it to bench/out/ingest-<date>[-c<CELLS>].md. See bench/README.md.
#
# Knobs (environment): CELLS SPEED_CELLS GENES NNZ SEED COMPRESSION (gzip|lzf|none) INGEST_RUNS READ_RUNS
# OPEN_RUNS BUILD CELLGATE BENCH_OPEN INGEST (command template with {in} {out}; default
# "$CELLGATE ingest --quiet {in} {out}") WORK OUT_DIR KEEP=1 (keep the multi-GB files; kept synth files are
# reused by the next run) STEP_TIMEOUT (s per step, default 1800) TOTAL_TIMEOUT (s, default 7200) STRICT=1
# (exit 1 when a target is missed).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOTAL_TIMEOUT=${TOTAL_TIMEOUT:-7200}
if [ -z "${CG_BENCH_INNER:-}" ]; then # bound the whole run; the inner script cleans up on TERM
  export CG_BENCH_INNER=1
  exec timeout --signal=TERM --kill-after=60 "$TOTAL_TIMEOUT" bash "${BASH_SOURCE[0]}" "$@"
fi

BUILD=${BUILD:-$ROOT/build}
CELLGATE=${CELLGATE:-$BUILD/cellgate}
BENCH_OPEN=${BENCH_OPEN:-$BUILD/bench_open}
CELLS=${CELLS:-1000000}
SPEED_CELLS=${SPEED_CELLS:-$((CELLS / 5))}
GENES=${GENES:-20000}
NNZ=${NNZ:-1000}
SEED=${SEED:-1}
COMPRESSION=${COMPRESSION:-gzip}
INGEST_RUNS=${INGEST_RUNS:-3}
READ_RUNS=${READ_RUNS:-3}
OPEN_RUNS=${OPEN_RUNS:-20}
STEP_TIMEOUT=${STEP_TIMEOUT:-1800}
WORK=${WORK:-$ROOT/bench/out/work}
OUT_DIR=${OUT_DIR:-$ROOT/bench/out}
KEEP=${KEEP:-0}
STRICT=${STRICT:-0}
INGEST=${INGEST:-"$CELLGATE ingest --quiet {in} {out}"}
PY=/usr/bin/python3 # Debian's python3 with anndata; the first python3 on PATH may lack it
TOOLS=$ROOT/bench/tools

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ -x "$CELLGATE" ] || die "no binary at $CELLGATE (run 'make build' or set BUILD/CELLGATE)"
[ "$NNZ" -le "$GENES" ] || die "NNZ ($NNZ) must not exceed GENES ($GENES)"
[ "$SPEED_CELLS" -ge 1 ] || die "SPEED_CELLS must be >= 1"
mkdir -p "$WORK" "$OUT_DIR"

BIG_IN=$WORK/synth-c${CELLS}-g${GENES}-m${NNZ}-s${SEED}-${COMPRESSION}.h5ad
SPEED_IN=$WORK/synth-c${SPEED_CELLS}-g${GENES}-m${NNZ}-s${SEED}-${COMPRESSION}.h5ad
BIG_OUT=$WORK/big.cgb
SPEED_OUT=$WORK/speed.cgb

cleanup() {
  rm -f "$BIG_OUT" "$SPEED_OUT" "$WORK"/*.json "$WORK"/*.log "$WORK"/*.tmp.* 2>/dev/null || true
  if [ "$KEEP" != 1 ]; then rm -f "$BIG_IN" "$SPEED_IN"; rmdir "$WORK" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ---- helpers ------------------------------------------------------------------------------------------

jget() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
fmt() { "$PY" -c "import sys; print(format(eval(sys.argv[1]), sys.argv[2]))" "$1" "$2"; } # fmt EXPR SPEC
mem() { "$PY" -c 'import sys; k=int(sys.argv[1]); print(f"{k/2**20:.2f} GiB" if k >= 2**20 else f"{k/1024:.0f} MiB")' "$1"; } # KiB
size_of() { stat -c %s "$1"; }

# measure NAME CMD... — runs CMD under the memory sampler and the step timeout; leaves $WORK/NAME.json.
measure() {
  local name=$1; shift
  "$PY" "$TOOLS/peakmem.py" --interval 0.02 --json "$WORK/$name.json" -- timeout "$STEP_TIMEOUT" "$@" \
    >>"$WORK/$name.log" 2>&1 || die "$name failed (exit $?): $(tail -3 "$WORK/$name.log")"
}

# cat_s FILE — seconds to cat FILE to /dev/null, page cache warm (a first cat warms it, the second is timed).
cat_s() {
  cat "$1" >/dev/null
  local t0 t1
  t0=$(date +%s%N); cat "$1" >/dev/null; t1=$(date +%s%N)
  fmt "($t1-$t0)/1e9" ".3f"
}

ingest_cmd() { local c=${INGEST//\{in\}/$1}; echo "${c//\{out\}/$2}"; }

synth() { # synth CELLS FILE NAME — reuses FILE when a kept run left it (synth writes atomically)
  if [ -s "$2" ]; then log "reusing $2"; echo '{"reused": true}' >"$WORK/$3.json"; return; fi
  log "synth $1 cells -> $2"
  measure "$3" "$CELLGATE" synth --quiet --cells "$1" --genes "$GENES" --nnz-per-cell "$NNZ" --seed "$SEED" \
    --compression "$COMPRESSION" --out "$2"
}

# ---- 1. the big dataset -----------------------------------------------------------------------------

synth "$CELLS" "$BIG_IN" synth_big
cat_in=$(cat_s "$BIG_IN")
log "cat input: ${cat_in} s"
rm -f "$BIG_OUT"
log "ingest big: $(ingest_cmd "$BIG_IN" "$BIG_OUT")"
measure ingest_big bash -c "$(ingest_cmd "$BIG_IN" "$BIG_OUT")"
[ -s "$BIG_OUT" ] || die "ingest left no output at $BIG_OUT"
ing_wall=$(jget "$WORK/ingest_big.json" wall_s)
ing_anon=$(jget "$WORK/ingest_big.json" peak_anon_kib)
ing_rss=$(jget "$WORK/ingest_big.json" peak_rss_kib)
cat_out=$(cat_s "$BIG_OUT")
log "ingest big: ${ing_wall} s, peak anon $(mem "$ing_anon"); cat output: ${cat_out} s"

open_json=""
if [ -x "$BENCH_OPEN" ]; then
  timeout "$STEP_TIMEOUT" "$BENCH_OPEN" "$BIG_OUT" "$OPEN_RUNS" >"$WORK/open.json" 2>>"$WORK/open.log" &&
    open_json=$WORK/open.json || log "bench_open failed: $(tail -2 "$WORK/open.log")"
else
  log "no $BENCH_OPEN: cg_bundle_open not measured"
fi
big_in_size=$(size_of "$BIG_IN")
big_out_size=$(size_of "$BIG_OUT")
[ "$KEEP" = 1 ] || rm -f "$BIG_OUT" # free the disk before the speed runs

# ---- 2. the speed dataset: ingest vs anndata.read_h5ad -----------------------------------------------

synth "$SPEED_CELLS" "$SPEED_IN" synth_speed
cat_speed=$(cat_s "$SPEED_IN")
best_ing=""
for i in $(seq 1 "$INGEST_RUNS"); do
  rm -f "$SPEED_OUT"
  measure "ingest_speed_$i" bash -c "$(ingest_cmd "$SPEED_IN" "$SPEED_OUT")"
  t=$(jget "$WORK/ingest_speed_$i.json" wall_s)
  log "ingest speed run $i: $t s"
  if [ -z "$best_ing" ] || [ "$(fmt "$t < $best_ing" "")" = True ]; then best_ing=$t; fi
done
log "anndata.read_h5ad x $READ_RUNS"
timeout "$STEP_TIMEOUT" "$PY" "$TOOLS/read_h5ad_time.py" "$SPEED_IN" "$READ_RUNS" >"$WORK/read.json" ||
  die "anndata.read_h5ad failed"
best_read=$(jget "$WORK/read.json" best_s)
ratio=$(fmt "$best_read/$best_ing" ".2f")
log "read_h5ad best ${best_read} s vs ingest best ${best_ing} s: ${ratio}x"

# ---- the table --------------------------------------------------------------------------------------

missed=0
status() { # status VAR PYTHON-CONDITION — sets VAR to PASS or FAIL (and notes a miss)
  if [ "$(fmt "$2" "")" = True ]; then printf -v "$1" PASS; else printf -v "$1" '**FAIL**'; missed=1; fi
}
status mem_ok "$ing_anon < 4*1048576"
status speed_ok "$best_read >= 3*$best_ing"
if [ -n "$open_json" ]; then
  open_med=$(jget "$open_json" median_ms); open_first=$(jget "$open_json" first_ms)
  status open_ok "$open_med < 50"
  open_row="| \`cg_bundle_open\` of the ${CELLS}-cell bundle | ${open_med} ms median of ${OPEN_RUNS} (first ${open_first} ms) | cat of the bundle: ${cat_out} s | $(fmt "$open_med/1000/$cat_out" ".5f") of cat | < 50 ms | $open_ok |"
else
  open_row="| \`cg_bundle_open\` of the ${CELLS}-cell bundle | not measured (bench_open missing or failed) | | | < 50 ms | n/a |"
fi
synth_row() { # synth_row NAME CELLS FILE
  if [ "$(jget "$WORK/$1.json" reused 2>/dev/null || true)" = True ]; then
    echo "| \`cellgate synth\` ${2} cells ($COMPRESSION) | reused from a kept run | | | | info |"
  else
    echo "| \`cellgate synth\` ${2} cells ($COMPRESSION) | $(jget "$WORK/$1.json" wall_s) s, peak anon $(mem "$(jget "$WORK/$1.json" peak_anon_kib)"), file $(fmt "$(size_of "$3")/1e9" ".2f") GB | | | | info |"
  fi
}
stamp=$(date +%Y-%m-%d-%H%M)
suffix=$([ "$CELLS" = 1000000 ] && echo "" || echo "-c$CELLS")
report=$OUT_DIR/ingest-$stamp$suffix.md
{
  echo "# Ingest benchmark — $(date '+%Y-%m-%d %H:%M %Z')"
  echo
  echo "- commit \`$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)\`$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (dirty tree)'); machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/Mem:/{print $2}') GiB RAM"
  echo "- data: \`cellgate synth --genes $GENES --nnz-per-cell $NNZ --seed $SEED --compression $COMPRESSION\`; big = $CELLS cells (input $(fmt "$big_in_size/1e9" ".2f") GB, bundle $(fmt "$big_out_size/1e9" ".2f") GB), speed = $SPEED_CELLS cells"
  echo "- ingest command: \`$(ingest_cmd IN OUT)\`"
  echo "- peak memory: max of RssAnon (anonymous resident pages: heap, stacks, anonymous mmaps; pages of mapped"
  echo "  files such as the output bundle are excluded) summed over the process tree, sampled from /proc/<pid>/status"
  echo "  every 20 ms by a separate process (bench/tools/peakmem.py). Peak VmRSS (incl. file pages): $(mem "$ing_rss")."
  echo "- cat baselines: second of two \`cat FILE > /dev/null\` (page cache warm), i.e. page-cache read bandwidth."
  echo "- anndata: \`anndata.read_h5ad\` call alone (import excluded), best of $READ_RUNS, Debian python3-anndata $("$PY" -c 'import anndata; print(anndata.__version__)'); ingest best of $INGEST_RUNS."
  echo
  echo "| figure | value | same-run baseline | ratio | target | status |"
  echo "|---|---|---|---|---|---|"
  echo "| ingest wall time, ${CELLS} cells | ${ing_wall} s | cat input ${cat_in} s ($(fmt "$big_in_size/1e9/$cat_in" ".2f") GB/s); cat output ${cat_out} s ($(fmt "$big_out_size/1e9/$cat_out" ".2f") GB/s) | $(fmt "$ing_wall/$cat_in" ".1f")x cat input; $(fmt "$ing_wall/$cat_out" ".1f")x cat output | — | info |"
  echo "| ingest peak anonymous memory, ${CELLS} cells | $(mem "$ing_anon") | input file $(fmt "$big_in_size/2**30" ".2f") GiB, bundle $(fmt "$big_out_size/2**30" ".2f") GiB | $(fmt "$ing_anon*1024/$big_out_size" ".2f") of the bundle size | < 4 GiB | $mem_ok |"
  echo "$open_row"
  echo "| ingest wall time, ${SPEED_CELLS} cells (best of $INGEST_RUNS) | ${best_ing} s | anndata.read_h5ad ${best_read} s (best of $READ_RUNS); cat input ${cat_speed} s | read_h5ad / ingest = ${ratio}x | >= 3x | $speed_ok |"
  synth_row synth_big "$CELLS" "$BIG_IN"
  synth_row synth_speed "$SPEED_CELLS" "$SPEED_IN"
} >"$report"
cat "$report"
log "wrote $report"
[ "$STRICT" = 1 ] && [ "$missed" = 1 ] && exit 1
exit 0
