#!/usr/bin/env bash
# No output may replace an input: eval, embed, forward and prep refuse an --out that is (or names,
# through a symlink or a hard link) one of their inputs, exit 1 with a message naming it, and leave
# the input byte-identical. eval's --out is checked before any metric is computed.
set -u
BIN=${XREM_BIN:-}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    echo "SKIP: \$XREM_BIN is not an executable xrem (got '$BIN')"
    exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/xrem_out_not_input.XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0
W="$ROOT/tests/golden/albef_small_retrieval.weights.h5"

# refuse NAME INPUT_FILE -- command...: exit 1, a message naming the input, the input unchanged
refuse() {
    local name=$1 input=$2
    shift 3
    local before
    before=$(sha256sum "$input" | cut -d' ' -f1)
    "$@" >"$T/stdout" 2>"$T/stderr"
    local rc=$?
    local after
    after=$(sha256sum "$input" | cut -d' ' -f1)
    if [ $rc -eq 1 ] && grep -q "$(basename "$input")" "$T/stderr" && [ "$before" = "$after" ]; then
        echo "ok   [$name] refused: $(head -1 "$T/stderr")"
    else
        echo "FAIL [$name]: rc $rc (want 1), input changed: $([ "$before" = "$after" ] && echo no || echo YES)," \
            "stderr: $(head -2 "$T/stderr")"
        fails=$((fails + 1))
    fi
}

mkdir -p "$T/ev"
printf 'study_id,report\n1,No acute disease.\n2,Clear lungs.\n' >"$T/ev/gt.csv"
printf 'study_id,report\n1,No acute process.\n2,Lungs are clear.\n' >"$T/ev/per_report.csv"
refuse eval-pred-is-output "$T/ev/per_report.csv" -- "$BIN" eval --gt "$T/ev/gt.csv" --pred "$T/ev/per_report.csv" \
    --out "$T/ev" --metrics bleu
ln -s "$T/ev/per_report.csv" "$T/ev/pred_link.csv"
refuse eval-pred-symlink "$T/ev/per_report.csv" -- "$BIN" eval --gt "$T/ev/gt.csv" --pred "$T/ev/pred_link.csv" \
    --out "$T/ev" --metrics bleu
mkdir -p "$T/ev2" && printf '{}' >"$T/ev2/summary.json" && ln "$T/ev2/summary.json" "$T/ev2/gt_hardlink.csv"
refuse eval-gt-hardlink "$T/ev2/summary.json" -- "$BIN" eval --gt "$T/ev2/gt_hardlink.csv" \
    --pred "$T/ev/pred_link.csv" --out "$T/ev2" --metrics bleu

printf 'report\nNo acute disease.\nClear lungs.\n' >"$T/corpus.csv"
refuse embed-out-is-corpus "$T/corpus.csv" -- "$BIN" embed --weights "$W" --corpus "$T/corpus.csv" --out "$T/corpus.csv"
cp "$W" "$T/w.h5"
refuse embed-out-is-weights "$T/w.h5" -- "$BIN" embed --weights "$T/w.h5" --corpus "$T/corpus.csv" --out "$T/w.h5"
printf 'No acute disease.\n' >"$T/texts.txt"
refuse forward-out-is-weights "$T/w.h5" -- "$BIN" forward --weights "$T/w.h5" --texts "$T/texts.txt" --out "$T/w.h5"
"$BIN" dev synth-images --n 2 --seed 1 --out "$T/cxr.h5" 2>/dev/null
refuse prep-cache-out-is-input "$T/cxr.h5" -- "$BIN" prep --cache "$T/cxr.h5" --out "$T/cxr.h5" --res 32

# And a good eval still works with its inputs in --out (different names).
if "$BIN" eval --gt "$T/ev/gt.csv" --pred "$T/ev/pred_link.csv" --out "$T/ev3" --metrics bleu >/dev/null 2>&1 &&
    [ -s "$T/ev3/per_report.csv" ]; then
    echo "ok   [eval-good] writes per_report.csv"
else
    echo "FAIL [eval-good]: did not write per_report.csv"
    fails=$((fails + 1))
fi
if [ $fails -ne 0 ]; then
    echo "test_out_not_input: $fails failure(s)"
    exit 1
fi
echo "test_out_not_input: PASS"
