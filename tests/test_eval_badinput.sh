#!/usr/bin/env bash
# Bad input for `xrem eval`: each case must exit non-zero with one clear message naming the file,
# row/line and field, and leave nothing (not even a temporary file) in --out. Usage errors exit 2.
# Needs $XREM_BIN (ctest sets it); skips (77) without it.
set -u
BIN=${XREM_BIN:-}
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    echo "test_eval_badinput: SKIPPED, \$XREM_BIN is not an executable xrem (got '$BIN')"
    exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/xrem_badinput.XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0
n=0

ok_gt="$T/gt.csv"
ok_pred="$T/pred.csv"
printf 'study_id,report\n1,"No acute disease."\n2,"Heart size normal. Lungs clear."\n3,"Small left effusion, no pneumothorax."\n' >"$ok_gt"
printf 'study_id,report\n3,"Small effusion on the left."\n1,"No acute cardiopulmonary disease."\n2,"Normal heart. Clear lungs."\n' >"$ok_pred"

# expect NAME EXPECTED_RC "substring of stderr" -- xrem eval args...
expect() {
    local name=$1 want_rc=$2 want_msg=$3
    shift 4
    n=$((n + 1))
    local out="$T/out_$n"
    "$BIN" eval "$@" --out "$out" >"$T/stdout" 2>"$T/stderr"
    local rc=$?
    local err
    err=$(cat "$T/stderr")
    if [ "$rc" -ne "$want_rc" ]; then
        echo "FAIL [$name]: exit $rc, want $want_rc; stderr: $err"
        fails=$((fails + 1))
        return
    fi
    if [ -n "$want_msg" ] && ! grep -qF -- "$want_msg" "$T/stderr"; then
        echo "FAIL [$name]: stderr lacks '$want_msg': $err"
        fails=$((fails + 1))
        return
    fi
    if [ "$want_rc" -ne 0 ] && [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
        echo "FAIL [$name]: $out is not empty after an error: $(ls -A "$out")"
        fails=$((fails + 1))
        return
    fi
    echo "ok   [$name] exit $rc: $(head -c 300 "$T/stderr" | head -1)"
}

mk() { printf "$2" >"$T/$1"; echo "$T/$1"; }

# --- the good case first, so the bad ones are known to fail for their own reason
expect "good input" 0 "" -- --gt "$ok_gt" --pred "$ok_pred" --bootstrap 50
n_good=$n
for f in per_report.csv summary.json summary.md; do
    [ -s "$T/out_$n_good/$f" ] || { echo "FAIL [good input]: $f missing"; fails=$((fails + 1)); }
done

# --- columns
expect "missing report column" 1 "missing column 'report'" -- \
    --gt "$(mk nocol.csv 'study_id,text\n1,a\n')" --pred "$ok_pred"
expect "missing study_id column" 1 "pred_noid.csv: missing column 'study_id'" -- \
    --gt "$ok_gt" --pred "$(mk pred_noid.csv 'id,report\n1,a\n')"

# --- study ids
expect "duplicate study id" 1 "study id 7 appears twice: row 1 (line 2) and row 3 (line 4)" -- \
    --gt "$(mk dup.csv 'study_id,report\n7,a\n8,b\n7,c\n')" --pred "$ok_pred"
expect "non-numeric study id" 1 "nonnum.csv: row 2 (line 3) field 'study_id': study id 's123' is not a non-negative integer" -- \
    --gt "$(mk nonnum.csv 'study_id,report\n1,a\ns123,b\n')" --pred "$ok_pred"
expect "negative study id" 1 "field 'study_id': study id '-4' is not a non-negative integer" -- \
    --gt "$(mk neg.csv 'study_id,report\n-4,a\n')" --pred "$ok_pred"
expect "empty study id" 1 "row 1 (line 2) field 'study_id': study id '' is not a non-negative integer (empty)" -- \
    --gt "$(mk emptyid.csv 'study_id,report\n,a\n')" --pred "$ok_pred"

# --- id sets
expect "id only in PRED" 1 "extra.csv: row 2 (line 3) field 'study_id': study id 9 is not in" -- \
    --gt "$ok_gt" --pred "$(mk extra.csv 'study_id,report\n1,a\n9,b\n2,c\n3,d\n')"
expect "id only in GT" 1 "has no report in" -- \
    --gt "$ok_gt" --pred "$(mk fewer.csv 'study_id,report\n1,a\n2,c\n')"
expect "mismatch allowed" 0 "" -- \
    --gt "$ok_gt" --pred "$T/fewer.csv" --allow-unmatched --bootstrap 10
grep -q "only in $ok_gt (not in PRED): 1 id: 3" "$T/stdout" || { echo "FAIL [mismatch allowed]: unmatched ids not listed: $(cat "$T/stdout")"; fails=$((fails + 1)); }
expect "no shared id" 1 "share no study id" -- \
    --gt "$ok_gt" --pred "$(mk disjoint.csv 'study_id,report\n10,a\n')" --allow-unmatched
expect "pred-b missing an id" 1 "b_fewer.csv: no report for study id 3" -- \
    --gt "$ok_gt" --pred "$ok_pred" --pred-b "$(mk b_fewer.csv 'study_id,report\n1,a\n2,c\n')"

# --- empty reports are allowed, counted and reported
expect "empty reports" 0 "" -- \
    --gt "$ok_gt" --pred "$(mk emptyrep.csv 'study_id,report\n1,\n2,"  "\n3,x\n')" --bootstrap 10
grep -q "emptyrep.csv: 2 empty reports" "$T/stdout" || { echo "FAIL [empty reports]: not reported: $(cat "$T/stdout")"; fails=$((fails + 1)); }
grep -q '^1,pred,0,' "$T/out_$n/per_report.csv" || { echo "FAIL [empty reports]: per_report.csv lacks the flag"; fails=$((fails + 1)); }

# --pandas-na reproduces CXR-Report-Metric's str(NaN): an empty report and "NA" both become "nan",
# so the pair scores fast_bleu's sqrt(0.1) (one matching unigram, smoothed bigram)
expect "pandas NA" 0 "" -- \
    --gt "$(mk na_gt.csv 'study_id,report\n1,\n2,a b\n')" --pred "$(mk na_pred.csv 'study_id,report\n1,NA\n2,a b\n')" --pandas-na --bootstrap 0
grep -q '^1,gt,0.3162277660168' "$T/out_$n/per_report.csv" || { echo "FAIL [pandas NA]: $(cat "$T/out_$n/per_report.csv")"; fails=$((fails + 1)); }
grep -q 'na:pandas1-nan' "$T/out_$n/summary.md" || { echo "FAIL [pandas NA]: signature lacks na:pandas1-nan"; fails=$((fails + 1)); }

# --- encoding and CSV structure
expect "invalid UTF-8" 1 "badutf8.csv: row 2 (line 3) field 'report': invalid UTF-8" -- \
    --gt "$(mk badutf8.csv 'study_id,report\n1,ok\n2,caf\xe9 au lait\n3,x\n')" --pred "$ok_pred"
expect "overlong UTF-8" 1 "field 'report': invalid UTF-8 (byte 0xC0" -- \
    --gt "$(mk overlong.csv 'study_id,report\n1,\xc0\xaf\n')" --pred "$ok_pred"
expect "NUL byte" 1 "nul.csv: row 1 (line 2) field 'report': NUL byte" -- \
    --gt "$(mk nul.csv 'study_id,report\n1,a\x00b\n')" --pred "$ok_pred"
expect "cut inside quotes" 1 "cut.csv: row 3 (line 5) field 'report': quoted field opened on line 5 is never closed (file cut mid-row?)" -- \
    --gt "$(mk cut.csv 'study_id,report\n1,"a\nb"\n2,x\n3,"Heart size')" --pred "$ok_pred"
expect "cut after a field" 1 "cut2.csv: row 2 (line 3) has 1 field, the header has 2 (file cut mid-row?)" -- \
    --gt "$(mk cut2.csv 'study_id,report\n1,a\n2')" --pred "$ok_pred"
expect "extra field" 1 "extra_field.csv: row 1 (line 2) has more than 2 fields" -- \
    --gt "$(mk extra_field.csv 'study_id,report\n1,a,b\n')" --pred "$ok_pred"
expect "junk after quote" 1 "junk.csv: row 1 (line 2) field 'report': unexpected byte 0x78 ('x') after a closing quote" -- \
    --gt "$(mk junk.csv 'study_id,report\n1,"a"x\n')" --pred "$ok_pred"
expect "empty file" 1 "empty.csv: empty CSV (no header line)" -- \
    --gt "$(mk empty.csv '')" --pred "$ok_pred"
expect "missing file" 1 "nosuch.csv: cannot open" -- \
    --gt "$T/nosuch.csv" --pred "$ok_pred"
expect "CRLF, BOM, quotes" 0 "" -- \
    --gt "$(mk crlf.csv '\xef\xbb\xbfstudy_id,report\r\n1,"He said ""no"", ok"\r\n2,"two\r\nlines"\r\n3,c\r\n')" --pred "$ok_pred" --bootstrap 0

# --- labels
L='study_id,Enlarged Cardiomediastinum,Cardiomegaly,Lung Opacity,Lung Lesion,Edema,Consolidation,Pneumonia,Atelectasis,Pneumothorax,Pleural Effusion,Pleural Other,Fracture,Support Devices,No Finding\n'
lg=$(mk lg.csv "${L}1,,1.0,,,,,,,,,,,,\n2,,,,,,,,,,,,,,1.0\n3,,,,,,,,,,1.0,,,,\n")
expect "labels ok" 0 "" -- --gt "$ok_gt" --pred "$ok_pred" --labels-gt "$lg" --labels-pred "$lg" --bootstrap 10
expect "bad label value" 1 "lp.csv: row 2 (line 3) field 'Edema': label '2' is not one of '', 1, 0, -1" -- \
    --gt "$ok_gt" --pred "$ok_pred" --labels-gt "$lg" --labels-pred "$(mk lp.csv "${L}1,,,,,,,,,,,,,,\n2,,,,,2,,,,,,,,,\n3,,,,,,,,,,,,,,\n")"
expect "labels missing an id" 1 "lp2.csv: no labels for study id 3" -- \
    --gt "$ok_gt" --pred "$ok_pred" --labels-gt "$lg" --labels-pred "$(mk lp2.csv "${L}1,,,,,,,,,,,,,,\n2,,,,,,,,,,,,,,\n")"

# --- usage and availability
expect "no --gt" 2 "--gt, --pred and --out are required" -- --pred "$ok_pred"
expect "unknown option" 2 "unknown option '--frobnicate'" -- --gt "$ok_gt" --pred "$ok_pred" --frobnicate 1
expect "unknown metric" 2 "unknown metric 'rouge'" -- --gt "$ok_gt" --pred "$ok_pred" --metrics bleu,rouge
expect "bad --bootstrap" 2 "--bootstrap 'many'" -- --gt "$ok_gt" --pred "$ok_pred" --bootstrap many
# labels without label files or CheXbert weights: the rule-based labeler, with a bad phrase-list folder named
expect "labels, missing labeler lists" 1 "nope" -- --gt "$ok_gt" --pred "$ok_pred" --metrics labels --labeler-dir "$T/nope"
pushd "$T" >/dev/null # away from data/assets/minilm.h5, the default proxy encoder
expect "bertscore without a model" 2 "needs --bertscore-model" -- --gt "$ok_gt" --pred "$ok_pred" --metrics bertscore
popd >/dev/null
expect "radcliq without its inputs" 1 "missing: bertscore (pass --bertscore-model" -- --gt "$ok_gt" --pred "$ok_pred" --metrics bleu,radcliq

# --- --out problems, and an earlier result is left intact by a failing run
n=$((n + 1))
touch "$T/out_$n"
"$BIN" eval --gt "$ok_gt" --pred "$ok_pred" --out "$T/out_$n" >"$T/stdout" 2>"$T/stderr"
rc=$?
if [ $rc -ne 1 ] || ! grep -q "not a directory\|cannot create" "$T/stderr"; then
    echo "FAIL [out is a file]: exit $rc: $(cat "$T/stderr")"; fails=$((fails + 1))
else echo "ok   [out is a file] exit $rc: $(head -1 "$T/stderr")"; fi

good="$T/out_$n_good"
sum_before=$(cat "$good"/* | cksum)
"$BIN" eval --gt "$T/badutf8.csv" --pred "$ok_pred" --out "$good" >/dev/null 2>&1
sum_after=$(cat "$good"/* | cksum)
if [ "$sum_before" != "$sum_after" ] || [ "$(ls -A "$good" | wc -l)" -ne 3 ]; then
    echo "FAIL [failing rerun]: earlier outputs changed or temp files left: $(ls -A "$good")"; fails=$((fails + 1))
else echo "ok   [failing rerun] earlier outputs untouched"; fi

# --- help
"$BIN" eval --help >"$T/stdout" 2>&1
rc=$?
if [ $rc -ne 0 ] || ! grep -q "usage: xrem eval" "$T/stdout"; then echo "FAIL [--help]: exit $rc"; fails=$((fails + 1)); fi

echo "test_eval_badinput: $n cases, $fails failure(s)"
[ $fails -eq 0 ]
