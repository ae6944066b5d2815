#!/usr/bin/env bash
# Every shared .h5ad file: `cellgate inspect --json --checksum` of the file, and of the bundle `cellgate ingest`
# makes from it, must agree with what python3-anndata reads (shapes, columns, types, categories, value digests,
# a checksum of X, embeddings). Also: pbmc68k_reduced in the modern and the 2018 legacy layout read the same.
set -uo pipefail
: "${CELLGATE:?}" "${CG_SHARED_DATA:?}" "${CG_SOURCE_DIR:?}"
PY=/usr/bin/python3
ORACLE="$CG_SOURCE_DIR/tests/oracle/oracle.py"
work=$(mktemp -d "${CG_TMPDIR:-/tmp}/oracle.XXXXXX" 2>/dev/null || mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
for f in "$CG_SHARED_DATA"/*.h5ad; do
  name=$(basename "$f" .h5ad)
  if ! "$CELLGATE" inspect --json --checksum "$f" >"$work/$name.h5ad.json" 2>"$work/err"; then
    echo "FAIL inspect $name: $(cat "$work/err")"; fail=1; continue
  fi
  $PY "$ORACLE" "$f" "$work/$name.h5ad.json" || fail=1
  if ! "$CELLGATE" ingest --quiet "$f" "$work/$name.cgb" 2>"$work/err"; then
    echo "FAIL ingest $name: $(cat "$work/err")"; fail=1; continue
  fi
  if ! "$CELLGATE" inspect --json --checksum "$work/$name.cgb" >"$work/$name.cgb.json" 2>"$work/err"; then
    echo "FAIL inspect bundle $name: $(cat "$work/err")"; fail=1; continue
  fi
  $PY "$ORACLE" "$f" "$work/$name.cgb.json" --bundle X || fail=1
done
# raw and a layer as the ingested matrix
for spec in "pbmc68k_reduced:raw" "pbmc68k_reduced:layer:counts" "anndataR-example:layer:csc_counts" "pbmc-small-X-csc:X"; do
  name=${spec%%:*} m=${spec#*:}
  if "$CELLGATE" ingest --quiet --matrix "$m" "$CG_SHARED_DATA/$name.h5ad" "$work/m.cgb" 2>"$work/err" &&
    "$CELLGATE" inspect --json --checksum "$work/m.cgb" >"$work/m.json"; then
    $PY "$ORACLE" "$CG_SHARED_DATA/$name.h5ad" "$work/m.json" --bundle "$m" || fail=1
  else
    echo "FAIL ingest --matrix $m $name: $(cat "$work/err")"; fail=1
  fi
done
# The 2018 legacy layout and the modern file hold the same data: obs, embeddings and raw must read identically.
$PY - "$work/pbmc68k_reduced.h5ad.json" "$work/pbmc68k_reduced.legacy-2018.h5ad.json" <<'PYEOF' || fail=1
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for d in (a, b): d["obs"].pop("index_name", None)  # "_index" vs "index": a layout detail, not data
bad = [k for k in ("n_obs", "n_vars", "obs", "embeddings") if a[k] != b[k]]
ra, rb = a["raw"]["matrix"]["checksum"], b["raw"]["matrix"]["checksum"]
if ra != rb: bad.append("raw.X checksum")
if a["raw"]["var"]["index_fnv1a"] != b["raw"]["var"]["index_fnv1a"]: bad.append("raw.var index")
print("legacy vs modern pbmc68k:", "identical" if not bad else "DIFFER in " + ", ".join(bad))
sys.exit(1 if bad else 0)
PYEOF
exit $fail
