#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time over its committed seed corpus (tests/fuzz/corpus/<name>),
# with a scratch corpus in the build tree. Fails if the fuzzer finds a crash, leak or timeout.
set -euo pipefail
fuzzer=$1 seeds=$2 work=$3
secs=${CG_FUZZ_SECONDS:-20}
mkdir -p "$work/corpus" "$work/artifacts"
args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -artifact_prefix="$work/artifacts/")
[ -d "$seeds" ] && args+=("$work/corpus" "$seeds") || args+=("$work/corpus")
"$fuzzer" "${args[@]}" 2>"$work/log" || { tail -40 "$work/log"; exit 1; }
grep -E "^(Done|#[0-9]+ *DONE)" "$work/log" | tail -1 || true
