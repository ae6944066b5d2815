#!/usr/bin/env bash
# `cellgate diffexp` against an independent scipy/numpy/mpmath reference (tests/cli/de_check.py) on real shared
# datasets: pbmc68k_reduced `bulk_labels` groups (dense scaled data with negative values) and osmFISH cortex
# cell types (sparse counts, so cellxgene's log1p rule applies and Welch p-values underflow far below 1e-308);
# explicit set pairs and set-vs-rest, all three methods; the obs-name set-file form gives the same table as
# indices; CSV has one line per gene; usage errors exit 2 and bad sets exit 1.
set -uo pipefail
: "${CELLGATE:?}" "${CG_SHARED_DATA:?}" "${CG_SOURCE_DIR:?}"
mkdir -p "${CG_TMPDIR:-/tmp}"
work=$(mktemp -d "${CG_TMPDIR:-/tmp}/diffexp.XXXXXX")
trap 'rm -rf "$work"' EXIT
py=/usr/bin/python3
check="$CG_SOURCE_DIR/tests/cli/de_check.py"
fail=0

pbmc=$CG_SHARED_DATA/pbmc68k_reduced.h5ad
osm=$CG_SHARED_DATA/osmfish-cortex-6471.h5ad
"$CELLGATE" ingest --quiet "$pbmc" "$work/pbmc.cgb" || { echo "FAIL: ingest pbmc"; exit 1; }
"$CELLGATE" ingest --quiet "$osm" "$work/osm.cgb" || { echo "FAIL: ingest osmfish"; exit 1; }

# Set files: <name>.idx (indices) and, for one pair, <name>.names (obs names).
$py -W ignore - "$work" "$pbmc" "$osm" <<'PY' || { echo "FAIL: writing set files"; exit 1; }
import sys, numpy as np, anndata
w, pbmc, osm = sys.argv[1:4]
def save(name, idx, names=None):
    np.savetxt(f"{w}/{name}.idx", np.sort(idx), fmt="%d")
    if names is not None:
        open(f"{w}/{name}.names", "w").write("\n".join(names[np.sort(idx)]) + "\n")
a = anndata.read_h5ad(pbmc)
lab = a.obs["bulk_labels"].astype(str).values
save("p_mono", np.where(lab == "CD14+ Monocyte")[0], a.obs_names.values)
save("p_dend", np.where(lab == "Dendritic")[0], a.obs_names.values)
save("p_b", np.where(lab == "CD19+ B")[0])
save("p_nk", np.where(lab == "CD56+ NK")[0])
b = anndata.read_h5ad(osm)
ct = b.obs["CellType"].astype(str).values
cats = b.obs["CellType"].value_counts().index.astype(str)
save("o_big", np.where(ct == cats[0])[0])
save("o_second", np.where(ct == cats[1])[0])
save("o_small", np.where(ct == cats[-3])[0])
save("o_olig", np.where(ct == "Oligodendrocyte Mature")[0])  # vs rest: a Welch p below 1e-308
save("o_endo", np.where(ct == "Endothelial")[0])             # vs rest: a Wilcoxon p below 1e-308
save("o_louv0", np.where(b.obs["louvain"].astype(str).values == "0")[0])  # vs rest: both
PY

run() { # bundle h5ad method set1 set2
  local out="$work/out.json"
  "$CELLGATE" diffexp "$1" --set1 "$work/$4.idx" --set2 "$([ "$5" = rest ] && echo rest || echo "$work/$5.idx")" \
    --method "$3" >"$out" || { echo "FAIL: diffexp $3 $4 $5 exited $?"; fail=1; return; }
  $py -W ignore "$check" "$2" "$3" "$work/$4.idx" "$([ "$5" = rest ] && echo rest || echo "$work/$5.idx")" "$out" \
    2>&1 | grep -v "^$\|This is where\|warn(" || true
  [ "${PIPESTATUS[0]}" = 0 ] || fail=1
}

for m in welch wilcoxon cellxgene; do
  run "$work/pbmc.cgb" "$pbmc" $m p_mono p_dend
  run "$work/pbmc.cgb" "$pbmc" $m p_b rest
  run "$work/pbmc.cgb" "$pbmc" $m p_nk p_b
  run "$work/osm.cgb" "$osm" $m o_big o_second
  run "$work/osm.cgb" "$osm" $m o_small rest
  run "$work/osm.cgb" "$osm" $m o_big rest
done
for m in welch wilcoxon; do
  for s in o_olig o_endo o_louv0; do run "$work/osm.cgb" "$osm" $m $s rest; done
done

# names form == index form
"$CELLGATE" diffexp "$work/pbmc.cgb" --set1 "$work/p_mono.idx" --set2 "$work/p_dend.idx" >"$work/a.json" || fail=1
"$CELLGATE" diffexp "$work/pbmc.cgb" --set1 "$work/p_mono.names" --set2 "$work/p_dend.names" >"$work/b.json" || fail=1
cmp -s "$work/a.json" "$work/b.json" && echo "ok obs-name set files give the same table" ||
  { echo "FAIL: obs-name set files give another table"; fail=1; }

# CSV: header + one line per gene; --top limits
n=$("$CELLGATE" diffexp "$work/osm.cgb" --set1 "$work/o_small.idx" --set2 rest --csv | wc -l)
[ "$n" = 34 ] && echo "ok csv has 33 genes + header" || { echo "FAIL: csv has $n lines"; fail=1; }
n=$("$CELLGATE" diffexp "$work/osm.cgb" --set1 "$work/o_small.idx" --set2 rest --top 5 | $py -c 'import json,sys; print(len(json.load(sys.stdin)["genes"]))')
[ "$n" = 5 ] && echo "ok --top 5" || { echo "FAIL: --top 5 gave $n genes"; fail=1; }

# errors
"$CELLGATE" diffexp "$work/osm.cgb" --set1 "$work/o_small.idx" --set2 rest --method ttest >/dev/null 2>&1
[ $? = 2 ] && echo "ok unknown method exits 2" || { echo "FAIL: unknown method"; fail=1; }
"$CELLGATE" diffexp "$work/osm.cgb" --set1 "$work/o_small.idx" >/dev/null 2>&1
[ $? = 2 ] && echo "ok missing --set2 exits 2" || { echo "FAIL: missing --set2"; fail=1; }
"$CELLGATE" diffexp "$work/osm.cgb" --set1 "$work/o_small.idx" --set2 "$work/o_small.idx" >/dev/null 2>"$work/err"
[ $? = 1 ] && grep -q overlap "$work/err" && echo "ok overlapping sets exit 1" || { echo "FAIL: overlapping sets"; fail=1; }
echo 99999999 >"$work/bad.idx"
"$CELLGATE" diffexp "$work/osm.cgb" --set1 "$work/bad.idx" --set2 rest >/dev/null 2>&1
[ $? = 1 ] && echo "ok out-of-range cell exits 1" || { echo "FAIL: out-of-range cell"; fail=1; }
exit $fail
