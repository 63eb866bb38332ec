#!/usr/bin/env bash
# xrem sweep derives every (K1, K2, K3) setting from one run's cached scores. It must give exactly
# what a fresh `xrem run` with that setting gives: the run's own setting, a smaller K1/K2/K3 with the
# NLI filter, the no-filter and the no-ITM ablations (pred.csv byte-identical), and metrics equal to
# `xrem eval`'s BLEU-2 on the same predictions.
set -u
BIN=${XREM_BIN:-build/xrem}
ROOT=${XREM_SOURCE_DIR:-.}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# shellcheck source=tests/pipeline_inputs.sh
. "$ROOT/tests/pipeline_inputs.sh"
pipeline_inputs
rc=$?
[ $rc -eq 0 ] || exit $rc
fail=0
common="--retrieval $T/retrieval.h5 --itm $T/itm.h5 --images $T/cxr.h5 --corpus $T/corpus.h5 $PIPE_RES"
"$BIN" run $common --k1 50 --k2 10 --k3 2 --filter nli --nli "$PIPE_NLI" --out "$T/big" 2>"$T/log" ||
    { echo "FAIL: run"; cat "$T/log"; exit 1; }
"$BIN" sweep --run "$T/big" --k1 10,50 --k2 3,10 --k3 1,2 --gt "$T/gt.csv" --nli "$PIPE_NLI" --out "$T/sw" 2>"$T/log" ||
    { echo "FAIL: sweep"; cat "$T/log"; exit 1; }
"$BIN" sweep --run "$T/big" --preset paper --gt "$T/gt.csv" --nli "$PIPE_NLI" --out "$T/paper" 2>"$T/log" ||
    { echo "FAIL: sweep --preset paper"; cat "$T/log"; exit 1; }

same() { # name, fresh run args, sweep pred file
    local name=$1 args=$2 pred=$3
    "$BIN" run $common $args --out "$T/$name" 2>"$T/log" || { echo "FAIL: run $name"; cat "$T/log"; fail=1; return; }
    if cmp -s "$T/$name/pred.csv" "$pred"; then
        echo "ok: $name: sweep == fresh run ($(($(wc -l <"$pred") - 1)) reports)"
    else
        echo "FAIL: $name: sweep's predictions differ from a fresh run"
        diff "$T/$name/pred.csv" "$pred" | head -5
        fail=1
    fi
}
same k1_50_k2_10_k3_2 "--k1 50 --k2 10 --k3 2 --filter nli --nli $PIPE_NLI" "$T/sw/preds/k1_50_k2_10_k3_2.csv"
same k1_10_k2_3_k3_1 "--k1 10 --k2 3 --k3 1 --filter nli --nli $PIPE_NLI" "$T/sw/preds/k1_10_k2_3_k3_1.csv"
same no_filter "--k1 50 --k2 1 --filter none" "$T/paper/preds/no_filter_itm_top1.csv"
"$BIN" run --retrieval "$T/retrieval.h5" --images "$T/cxr.h5" --corpus "$T/corpus.h5" $PIPE_RES --no-itm --k1 2 \
    --out "$T/noitm" 2>"$T/log" || { echo "FAIL: run --no-itm"; fail=1; }
if cmp -s "$T/noitm/pred.csv" "$T/paper/preds/no_itm_cosine_top2.csv"; then echo "ok: no-ITM ablation"; else
    echo "FAIL: no-ITM ablation differs"
    fail=1
fi

# the sweep's BLEU-2 equals xrem eval's on the same predictions
"$BIN" eval --gt "$T/gt.csv" --pred "$T/k1_10_k2_3_k3_1/pred.csv" --out "$T/ev" --allow-unmatched >/dev/null 2>&1 ||
    { echo "FAIL: eval"; fail=1; }
want=$(grep -o '"bleu2": {"mean": *[0-9.e+-]*' "$T/ev/summary.json" | head -1 | sed 's/.*: *//')
got=$(awk -F, '$1=="k1_10_k2_3_k3_1"{print $7}' "$T/sw/table.csv")
if [ -n "$want" ] && [ -n "$got" ] && awk -v a="$want" -v b="$got" 'BEGIN{d=a-b; if(d<0)d=-d; exit !(d<1e-9)}'; then
    echo "ok: BLEU-2 $got == xrem eval $want"
else
    echo "FAIL: BLEU-2 sweep '$got' vs eval '$want'"
    grep -o '"bleu2[^,]*' "$T/ev/summary.json" | head -3
    fail=1
fi
# bad settings are refused
if "$BIN" sweep --run "$T/big" --k1 60 --out "$T/bad" 2>"$T/log"; then
    echo "FAIL: K1 above the run's was accepted"
    fail=1
else echo "ok: K1 above the run's refused: $(cat "$T/log")"; fi
exit $fail
