#!/usr/bin/env bash
# xrem eval without label files or CheXbert weights labels both sides with the rule-based labeler,
# says so (summary, signature, JSON), and the labels reach the F1 code: checked on sentences whose
# labels are unambiguous.
set -u
BIN=${XREM_BIN:-build/xrem}
ROOT=${XREM_SOURCE_DIR:-.}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cat >"$T/gt.csv" <<'CSV'
study_id,report
1,Cardiomegaly. Small left pleural effusion.
2,No acute cardiopulmonary abnormality.
3,Right upper lobe pneumonia.
CSV
cat >"$T/pred.csv" <<'CSV'
study_id,report
1,Cardiomegaly. No pleural effusion.
2,No acute cardiopulmonary abnormality.
3,No focal consolidation. No pneumonia.
CSV
fail=0
(cd "$ROOT" && "$BIN" eval --gt "$T/gt.csv" --pred "$T/pred.csv" --out "$T/ev" --metrics labels) >"$T/log" 2>&1 ||
    { echo "FAIL: eval"; cat "$T/log"; exit 1; }
grep -q '"labeler": "rule:' "$T/ev/summary.json" || { echo "FAIL: summary.json does not name the rule labeler"; fail=1; }
grep -q 'rule-based labeler' "$T/ev/summary.md" || { echo "FAIL: summary.md does not say rule-based"; fail=1; }
grep -q 'labeler:rule:' "$T/ev/summary.md" || { echo "FAIL: signature lacks the labeler"; fail=1; }
# per_report: study 1 GT Cardiomegaly 1, Pleural Effusion 1; PRED Cardiomegaly 1, Pleural Effusion 0 (negative)
col() { head -1 "$T/ev/per_report.csv" | tr ',' '\n' | grep -n -x "$1" | cut -d: -f1; }
val() { awk -F, -v r="$1" -v c="$2" 'NR>1 && $1==r {print $c}' "$T/ev/per_report.csv"; }
for check in "1 gt:Cardiomegaly 1" "1 pred:Cardiomegaly 1" "1 gt:Pleural Effusion 1" "1 pred:Pleural Effusion 0" \
    "2 gt:No Finding 1" "3 gt:Pneumonia 1" "3 pred:Pneumonia 0"; do
    set -- $check
    row=$1
    want=${!#}
    name=$(echo "$check" | sed "s/^$row //; s/ $want\$//")
    got=$(val "$row" "$(col "$name")")
    if [ "$got" = "$want" ]; then echo "ok: study $row $name = $got"; else
        echo "FAIL: study $row $name = '$got', want $want"
        fail=1
    fi
done
# The lists are found from any working directory (no --labeler-dir, no $XREM_LABELER_DIR): the
# signature names the same lists from / as from the source tree.
sig() { grep -o 'labeler:rule:[0-9a-f]*' "$1/summary.md" | head -1; }
(cd / && env -u XREM_LABELER_DIR "$BIN" eval --gt "$T/gt.csv" --pred "$T/pred.csv" --out "$T/ev_root" \
    --metrics labels) >"$T/log" 2>&1 || { echo "FAIL: eval from /: $(tail -1 "$T/log")"; fail=1; }
if [ -n "$(sig "$T/ev")" ] && [ "$(sig "$T/ev_root")" = "$(sig "$T/ev")" ]; then echo "ok: labeler found from /"; else
    echo "FAIL: from / the labeler signature is '$(sig "$T/ev_root")', want '$(sig "$T/ev")'"
    fail=1
fi
# An installed layout (PREFIX/bin/xrem, PREFIX/share/xrem/labeler) uses its own lists, found next to
# the executable before the source tree's: a changed list changes the signature.
mkdir -p "$T/prefix/bin" "$T/prefix/share/xrem"
cp "$BIN" "$T/prefix/bin/xrem"
cp -r "$ROOT/data/labeler" "$T/prefix/share/xrem/labeler"
printf '\n' >>"$T/prefix/share/xrem/labeler/mentions.txt"
(cd / && env -u XREM_LABELER_DIR "$T/prefix/bin/xrem" eval --gt "$T/gt.csv" --pred "$T/pred.csv" \
    --out "$T/ev_inst" --metrics labels) >"$T/log" 2>&1 || { echo "FAIL: installed eval: $(tail -1 "$T/log")"; fail=1; }
if [ -n "$(sig "$T/ev_inst")" ] && [ "$(sig "$T/ev_inst")" != "$(sig "$T/ev")" ]; then
    echo "ok: the installed copy's lists are used"
else
    echo "FAIL: installed xrem did not use PREFIX/share/xrem/labeler ('$(sig "$T/ev_inst")')"
    fail=1
fi
exit $fail
