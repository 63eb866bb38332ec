#!/usr/bin/env bash
# xrem eval --metrics bertscore end to end (the library itself is checked against bert_score in
# test_bertscore): identical texts score rescaled F1 = 1 exactly, an empty prediction scores the
# rescaled 0, runs of spaces are collapsed as CXR-Report-Metric does, and the summary names the
# model, layer and baseline.
set -u
BIN=${XREM_BIN:-build/xrem}
ROOT=${XREM_SOURCE_DIR:-.}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
M="$ROOT/tests/golden/bertscore/tiny_roberta.weights.h5"
printf 'study_id,report\n1,Heart size is normal. No pleural effusion.\n2,Small left pleural effusion.\n3,Mild cardiomegaly.\n4,No pneumothorax.\n' >"$T/gt.csv"
printf 'study_id,report\n1,Heart size is normal. No pleural effusion.\n2,\n3,Mild    cardiomegaly.\n4,Large right pneumothorax.\n' >"$T/pred.csv"
"$BIN" eval --gt "$T/gt.csv" --pred "$T/pred.csv" --out "$T/ev" --metrics bertscore --bertscore-model "$M" \
    --bertscore-layer 2 >"$T/log" 2>&1 || { echo "FAIL: eval"; cat "$T/log"; exit 1; }
fail=0
f1() { awk -F, -v r="$1" 'NR==1{for(i=1;i<=NF;i++) if($i=="bertscore") c=i} NR>1 && $1==r {print $c}' "$T/ev/per_report.csv"; }
near() { awk -v a="$1" -v b="$2" 'BEGIN{d=a-b; if(d<0)d=-d; exit !(d<1e-6)}'; } # float32 cosines
base=$(grep -o 'baseline:[^(]*([^)]*)' "$T/ev/summary.md" | head -1 | sed 's/.*(//; s/)//' | cut -d, -f3)
near "$(f1 1)" 1 && echo "ok: identical texts: F1 $(f1 1)" || { echo "FAIL: identical texts F1 $(f1 1)"; fail=1; }
near "$(f1 3)" 1 && echo "ok: runs of spaces collapsed: F1 $(f1 3)" || { echo "FAIL: spaces F1 $(f1 3)"; fail=1; }
want=$(awk -v b="$base" 'BEGIN{printf "%.12f", -b/(1-b)}')
if [ -n "$base" ] && awk -v a="$(f1 2)" -v b="$want" 'BEGIN{d=a-b; if(d<0)d=-d; exit !(d<1e-5)}'; then # baseline printed to 6 digits
    echo "ok: empty prediction: F1 $(f1 2) = rescaled 0 ($want)"
else
    echo "FAIL: empty prediction F1 '$(f1 2)', want $want (baseline F '$base')"
    fail=1
fi
grep -q 'bertscore:xrem-tiny-roberta,L2,idf:0,baseline:proxy' "$T/ev/summary.md" ||
    { echo "FAIL: the signature does not name model, layer and baseline"; fail=1; }
if (cd "$T" && "$BIN" eval --gt "$T/gt.csv" --pred "$T/pred.csv" --out "$T/ev2" --metrics bertscore) >"$T/log" 2>&1; then
    echo "FAIL: bertscore without a model accepted"
    fail=1
else echo "ok: refused without --bertscore-model: $(head -1 "$T/log")"; fi

# the default proxy encoder (all-MiniLM-L6-v2, made by scripts/fetch_assets.sh) when it is there
if [ -s "$ROOT/data/assets/minilm.h5" ]; then
    if (cd "$ROOT" && "$BIN" eval --gt "$T/gt.csv" --pred "$T/pred.csv" --out "$T/ev3" --metrics bertscore) >"$T/log" 2>&1 &&
        grep -q 'bertscore:all-MiniLM-L6-v2,L6,idf:0,baseline:proxy' "$T/ev3/summary.md"; then
        echo "ok: default proxy encoder all-MiniLM-L6-v2 used and named"
    else
        echo "FAIL: default proxy encoder"
        cat "$T/log"
        fail=1
    fi
else echo "note: data/assets/minilm.h5 absent (scripts/fetch_assets.sh makes it): default-encoder check not run"; fi

# RadCliQ end to end: radgraph from the user's column, bertscore, semb (CheXbert) and bleu2 per report,
# and radcliq_v0 = intercept + sum(coef * (x - mean) / scale) with DESIGN §3's constants
C="$ROOT/tests/golden/chexbert_small.weights.h5"
printf 'study_id,report,radgraph\n1,Heart size is normal. No pleural effusion.,0.9\n2,Small effusion.,0.1\n3,Mild cardiomegaly.,0.5\n4,Large right pneumothorax.,0.3\n' >"$T/pred_rg.csv"
if "$BIN" eval --gt "$T/gt.csv" --pred "$T/pred_rg.csv" --out "$T/rq" --metrics radcliq --chexbert "$C" \
    --bertscore-model "$M" --bertscore-layer 2 >"$T/log" 2>&1; then
    bad=$(awk -F, 'NR==1{for(i=1;i<=NF;i++) c[$i]=i; next}
        { x[1]=$c["radgraph"]; x[2]=$c["bertscore"]; x[3]=$c["semb"]; x[4]=$c["bleu2"]
          split("0.539838 0.631255 0.771680 0.460737", mu, " "); split("0.301834 0.224670 0.247503 0.303367", sc, " ")
          split("-0.479625 -0.676217 -0.463666 0.216586", co, " "); v=1.641667
          for(k=1;k<=4;k++) v+=co[k]*(x[k]-mu[k])/sc[k]
          d=v-$c["radcliq_v0"]; if(d<0)d=-d; if(d>1e-9) n++ } END{print n+0}' "$T/rq/per_report.csv")
    if [ "$bad" = 0 ]; then echo "ok: radcliq_v0 per report = DESIGN formula on the per-report inputs"; else
        echo "FAIL: radcliq_v0 differs from the formula in $bad rows"
        fail=1
    fi
else
    echo "FAIL: radcliq run"
    cat "$T/log"
    fail=1
fi
exit $fail
