#!/usr/bin/env bash
# `xrem eval` with the CheXbert model (tests/golden/chexbert_small.weights.h5, random weights):
#   - labels,chexbert,semb: per_report.csv holds 14 labels per side ('' 1 0 -1) and s_emb; the signature and
#     summary.json name the labeler by the checkpoint's sha256; s_emb of identical GT/PRED texts is 1 and their
#     labels agree;
#   - the labels the model wrote, fed back as label files (--labels-gt/--labels-pred), give the same F1 block:
#     the model path feeds eval/labels.c exactly as label files do;
#   - the labels do not depend on which reports are batched together (PRED rows shuffled, fewer ids);
#   - usage and input errors: semb/chexbert without --chexbert, chexbert with label files, weights of another
#     arch, and radcliq's missing inputs named (bertscore is not in this build, the radgraph column, --chexbert).
# Needs $XREM_BIN (ctest sets it); skips (77) without it.
set -u
BIN=${XREM_BIN:-}
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    echo "test_eval_chexbert: SKIPPED, \$XREM_BIN is not an executable xrem (got '$BIN')"
    exit 77
fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
W="$ROOT/tests/golden/chexbert_small.weights.h5"
T=$(mktemp -d "${TMPDIR:-/tmp}/xrem_eval_chexbert.XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

cat >"$T/gt.csv" <<'EOF'
study_id,report
10,"No acute cardiopulmonary process."
11,"Small left pleural effusion with adjacent atelectasis."
12,"FINDINGS:
The lungs are clear.

IMPRESSION:
No acute disease."
13,"Large right pneumothorax with leftward mediastinal shift."
14,"Moderate cardiomegaly. Mild pulmonary vascular congestion without frank edema."
15,"Endotracheal tube terminates 4 cm above the carina.   Nasogastric tube below the diaphragm."
16,"Increased opacity at the left base may represent atelectasis or possibly early pneumonia."
EOF
cat >"$T/pred.csv" <<'EOF'
study_id,report
16,"Left basilar opacity, possibly pneumonia."
14,"Mild cardiomegaly.   No edema."
13,"No pneumothorax."
12,"FINDINGS:
The lungs are clear.

IMPRESSION:
No acute disease."
11,"Left effusion."
10,""
15,"Support devices in place."
EOF

run() { # name args...  (stdout+stderr to $T/name.log)
    local name=$1
    shift
    "$BIN" eval "$@" >"$T/$name.log" 2>&1
}

# ---- the model run ---------------------------------------------------------------------------------------------
if ! run model --gt "$T/gt.csv" --pred "$T/pred.csv" --out "$T/model" --metrics labels,chexbert,semb --chexbert "$W" --bootstrap 200; then
    fail "eval with --chexbert:"; cat "$T/model.log"
fi
P="$T/model/per_report.csv"
if [ -s "$P" ]; then
    cols=$(head -1 "$P" | tr ',' '\n' | wc -l)
    ngt=$(head -1 "$P" | tr ',' '\n' | grep -c '^gt:')
    npred=$(head -1 "$P" | tr ',' '\n' | grep -c '^pred:')
    [ "$ngt" -eq 14 ] && [ "$npred" -eq 14 ] || fail "per_report.csv has $ngt gt: and $npred pred: label columns, want 14 each"
    head -1 "$P" | grep -q ',gt:Enlarged Cardiomediastinum,' || fail "label columns not in CheXbert order"
    head -1 "$P" | tr ',' '\n' | tail -1 | grep -qx semb || fail "semb is not the last column"
    [ "$(wc -l <"$P")" -eq 8 ] || fail "per_report.csv has $(wc -l <"$P") lines, want 8"
    # every label is one of '' 1 0 -1
    bad=$(tail -n +2 "$P" | awk -F, -v c="$cols" '{for (i = 4; i < c; i++) if ($i != "" && $i != "1" && $i != "0" && $i != "-1") n++} END {print n + 0}')
    [ "$bad" -eq 0 ] || fail "$bad label values outside '', 1, 0, -1"
    # study 12: the same text on both sides -> identical labels and s_emb 1
    awk -F, -v c="$cols" '$1 == 12 {for (i = 4; i < 18; i++) if ($i != $(i + 14)) d++; if ($c < 0.999999 || $c > 1.000001) e = 1}
        END {exit d + e}' "$P" || fail "study 12 (identical texts): labels differ or s_emb != 1: $(grep '^12,' "$P")"
    # s_emb in [-1, 1] everywhere
    awk -F, -v c="$cols" 'NR > 1 && ($c < -1.000001 || $c > 1.000001) {exit 1}' "$P" || fail "s_emb outside [-1, 1]"
fi
J="$T/model/summary.json"
sha=$(grep -o 'chexbert:[0-9a-f]\{64\}' "$J" | head -1 | cut -d: -f2)
if [ -z "$sha" ]; then
    fail "summary.json does not name the labeler as chexbert:<sha256>"
else
    grep -aq "$sha" "$W" || fail "the sha256 in summary.json ($sha) is not the weights file's source_sha256"
    grep -q "\"labeler\": \"chexbert:$sha\"" "$J" || fail "labels.labeler is not chexbert:$sha"
    grep -q "labeler:chexbert:$sha" "$J" || fail "the signature lacks labeler:chexbert:$sha"
    grep -q "semb:chexbert:$sha,cls-raw,cosine" "$J" || fail "the signature lacks the s_emb model"
    grep -q '"semb": {"model": "chexbert:'"$sha"'", "mean": [0-9.e-]*, "ci95": \[' "$J" || fail "summary.json has no semb mean + ci95"
fi
grep -q "labels: chexbert:" "$T/model.log" || fail "stdout does not say which labeler made the labels"

# ---- the same labels as label files give the same F1 -------------------------------------------------------------
if [ -s "$P" ]; then
    C='study_id,Enlarged Cardiomediastinum,Cardiomegaly,Lung Opacity,Lung Lesion,Edema,Consolidation,Pneumonia,Atelectasis,Pneumothorax,Pleural Effusion,Pleural Other,Fracture,Support Devices,No Finding'
    { echo "$C"; tail -n +2 "$P" | cut -d, -f1,4-17; } >"$T/lab_gt.csv"
    { echo "$C"; tail -n +2 "$P" | cut -d, -f1,18-31; } >"$T/lab_pred.csv"
    if ! run files --gt "$T/gt.csv" --pred "$T/pred.csv" --out "$T/files" --metrics labels --labels-gt "$T/lab_gt.csv" \
        --labels-pred "$T/lab_pred.csv" --bootstrap 200; then
        fail "eval with the label files:"; cat "$T/files.log"
    else
        sed -n '/"rrg_all14"/,/"repair_bootstrap10"/p' "$J" >"$T/f1_model"
        sed -n '/"rrg_all14"/,/"repair_bootstrap10"/p' "$T/files/summary.json" >"$T/f1_files"
        [ -s "$T/f1_model" ] && cmp -s "$T/f1_model" "$T/f1_files" || fail "label F1 from the model differs from F1 from its labels as files"
        grep -q '"labeler": "CheXbert labels from files"' "$T/files/summary.json" || fail "files run: labeler not named"
        grep -q '|labeler:files|' "$T/files/summary.json" || fail "files run: signature lacks labeler:files"
    fi
fi

# ---- batching: other rows, other order, same labels per study -----------------------------------------------------
{ echo "study_id,report"; tail -n +2 "$T/pred.csv"; } | awk 'NR == 1 || !/^1[05],/' >"$T/pred_sub.csv"
awk 'NR == 1 || !/^1[05],/' "$T/gt.csv" >"$T/gt_sub.csv"
if run sub --gt "$T/gt_sub.csv" --pred "$T/pred_sub.csv" --out "$T/sub" --metrics chexbert,semb --chexbert "$W" --bootstrap 0 \
    --threads 2; then
    for id in 11 13 14 16; do
        a=$(grep "^$id," "$P" | cut -d, -f4-31)
        b=$(grep "^$id," "$T/sub/per_report.csv" | cut -d, -f4-31)
        [ -n "$a" ] && [ "$a" = "$b" ] || fail "study $id: labels depend on the batch ($a vs $b)"
        a=$(grep "^$id," "$P" | awk -F, '{printf "%.5f", $NF}')
        b=$(grep "^$id," "$T/sub/per_report.csv" | awk -F, '{printf "%.5f", $NF}')
        [ "$a" = "$b" ] || fail "study $id: s_emb depends on the batch ($a vs $b)"
    done
else
    fail "eval on the subset:"; cat "$T/sub.log"
fi

# ---- errors ---------------------------------------------------------------------------------------------------------
expect() { # name rc substring args...
    local name=$1 want_rc=$2 want=$3
    shift 3
    "$BIN" eval --gt "$T/gt.csv" --pred "$T/pred.csv" --out "$T/err_$name" "$@" >"$T/err.out" 2>"$T/err.log"
    local rc=$?
    if [ $rc -ne "$want_rc" ] || ! grep -qF -- "$want" "$T/err.log"; then
        fail "[$name] exit $rc (want $want_rc), stderr lacks '$want': $(cat "$T/err.log")"
    elif [ -e "$T/err_$name" ] && [ -n "$(ls -A "$T/err_$name")" ]; then
        fail "[$name] output written despite the error"
    else
        echo "ok   [$name] exit $rc: $(head -1 "$T/err.log")"
    fi
}
expect semb_no_model 2 "--metrics semb needs --chexbert W.h5" --metrics semb
expect chexbert_no_model 2 "--metrics chexbert needs --chexbert W.h5" --metrics chexbert
expect chexbert_and_files 2 "metric 'chexbert' labels the reports with the model" --metrics chexbert --chexbert "$W" \
    --labels-gt "$T/gt.csv" --labels-pred "$T/gt.csv"
expect model_unused 2 "--chexbert given but no metric uses it" --metrics bleu --chexbert "$W"
expect wrong_arch 1 "arch is 'bert_nli', expected chexbert" --metrics semb --chexbert "$ROOT/tests/golden/nli_small.weights.h5"
expect missing_weights 1 "no/such/chexbert.h5" --metrics semb --chexbert no/such/chexbert.h5
expect radcliq_inputs 1 "missing: bertscore (pass --bertscore-model" --metrics radcliq --chexbert "$W"
grep -qF "radgraph (no 'radgraph' column" "$T/err.log" || fail "[radcliq_inputs] the radgraph column is not named: $(cat "$T/err.log")"
expect radcliq_no_model 1 "semb (pass --chexbert W.h5)" --metrics radcliq

if [ "$fails" -ne 0 ]; then
    echo "test_eval_chexbert: $fails failure(s)"
    exit 1
fi
echo "test_eval_chexbert: ok"
exit 0
