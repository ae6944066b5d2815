#!/usr/bin/env bash
# Bad input gets a clear error and loses nothing: for each broken .h5ad, `cellgate ingest` exits 1, names the
# place at fault, and leaves neither the output bundle nor a temporary file behind. The good file ingests.
set -uo pipefail
: "${CELLGATE:?}" "${CG_SOURCE_DIR:?}"
work=$(mktemp -d "${CG_TMPDIR:-/tmp}/badin.XXXXXX" 2>/dev/null || mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
cases=$(/usr/bin/python3 "$CG_SOURCE_DIR/tests/cli/make_bad_h5ad.py" "$work/in") || { echo "generator failed"; exit 1; }
"$CELLGATE" ingest --quiet "$work/in/good.h5ad" "$work/good.cgb" || { echo "FAIL: good file did not ingest"; fail=1; }
[ -s "$work/good.cgb" ] || { echo "FAIL: good bundle missing"; fail=1; }
while IFS=$'\t' read -r name expect; do
  mkdir -p "$work/out/$name"
  "$CELLGATE" ingest --quiet "$work/in/$name.h5ad" "$work/out/$name/x.cgb" 2>"$work/err"
  rc=$?
  msg=$(cat "$work/err")
  if [ $rc -ne 1 ]; then echo "FAIL $name: exit $rc (want 1): $msg"; fail=1; continue; fi
  if ! grep -qF -- "$expect" "$work/err"; then echo "FAIL $name: message lacks '$expect': $msg"; fail=1; fi
  left=$(ls -A "$work/out/$name")
  if [ -n "$left" ]; then echo "FAIL $name: left files behind: $left"; fail=1; fi
  echo "ok $name: $msg"
done <<<"$cases"
# usage errors exit 2
"$CELLGATE" ingest 2>/dev/null; [ $? -eq 2 ] || { echo "FAIL: missing arguments should exit 2"; fail=1; }
"$CELLGATE" ingest a b --matrix nope 2>/dev/null; [ $? -eq 2 ] || { echo "FAIL: bad --matrix should exit 2"; fail=1; }
"$CELLGATE" inspect --bogus x 2>/dev/null; [ $? -eq 2 ] || { echo "FAIL: bad inspect option should exit 2"; fail=1; }
# a missing input file is a work failure with its name in the message
"$CELLGATE" ingest --quiet "$work/nope.h5ad" "$work/nope.cgb" 2>"$work/err"; rc=$?
[ $rc -eq 1 ] && grep -q "nope.h5ad" "$work/err" || { echo "FAIL: missing input: exit $rc $(cat "$work/err")"; fail=1; }
# a corrupted bundle is rejected by inspect
cp "$work/good.cgb" "$work/bad.cgb"
printf '\xff\xff\xff\xff' | dd of="$work/bad.cgb" bs=1 seek=40 conv=notrunc status=none
"$CELLGATE" inspect "$work/bad.cgb" >/dev/null 2>"$work/err"; rc=$?
[ $rc -eq 1 ] || { echo "FAIL: corrupt bundle: inspect exit $rc"; fail=1; }
truncate -s 1000 "$work/good.cgb"
"$CELLGATE" inspect "$work/good.cgb" >/dev/null 2>"$work/err"; rc=$?
[ $rc -eq 1 ] || { echo "FAIL: truncated bundle: inspect exit $rc"; fail=1; }
exit $fail
