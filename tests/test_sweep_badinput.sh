#!/usr/bin/env bash
# Bad and odd input for `xrem sweep` (issue 7, items 4, 5, 12, 13): a run.h5 that lies about itself, a
# corpus that is not the run's, a run swept from another folder, a grid the run cannot give, and outputs
# that would replace an input. Each bad case must exit non-zero with a message naming the file and the
# field at fault and the value expected, and write no table.csv / table.md / preds/*.csv.
# The run.h5 mutations are made with /usr/bin/python3 + h5py (Debian's). Label cpu; skips (77) without
# the shared data folder or without h5py.
set -u
BIN=${XREM_BIN:-}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    echo "SKIP: \$XREM_BIN is not an executable xrem (got '$BIN')"
    exit 77
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN") # the tests below change folder
PY=/usr/bin/python3
if ! "$PY" -c 'import h5py, numpy' 2>/dev/null; then
    echo "SKIP: $PY lacks h5py or numpy (the run.h5 mutations need them)"
    exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/xrem_sweep_badinput.XXXXXX")
trap 'rm -rf "$T"' EXIT
T=$(cd "$T" && pwd -P) # the paths sweep reports are resolved ones
# shellcheck source=tests/pipeline_inputs.sh
. "$ROOT/tests/pipeline_inputs.sh"
pipeline_inputs
rc=$?
[ $rc -eq 0 ] || exit $rc
fails=0
n=0
fail() {
    echo "FAIL [$1]: $2"
    fails=$((fails + 1))
}

common="--retrieval $T/retrieval.h5 --itm $T/itm.h5 --images $T/cxr.h5 $PIPE_RES"
"$BIN" run $common --corpus "$T/corpus.h5" --k1 10 --k2 3 --filter none --out "$T/base" 2>"$T/log" ||
    { echo "FAIL: run"; cat "$T/log"; exit 1; }

# no_outputs OUT: true when OUT holds none of the sweep's final-named files
no_outputs() {
    [ ! -e "$1/table.csv" ] && [ ! -e "$1/table.md" ] && [ -z "$(ls -A "$1/preds" 2>/dev/null)" ]
}
# sweep_bad NAME "stderr substring" RUNDIR [sweep args...]: refused, says why, writes nothing
sweep_bad() {
    local name=$1 want=$2 run=$3
    shift 3
    n=$((n + 1))
    local out="$T/out_$n"
    "$BIN" sweep --run "$run" --out "$out" "$@" >"$T/stdout" 2>"$T/stderr"
    local rc=$? err
    err=$(tr '\n' ' ' <"$T/stderr")
    if [ $rc -eq 0 ] || [ $rc -gt 2 ]; then fail "$name" "exit $rc, want 1 or 2: $err"; return; fi
    if ! grep -qF -- "$want" "$T/stderr"; then fail "$name" "stderr lacks '$want': $err"; return; fi
    if ! no_outputs "$out"; then fail "$name" "$out holds $(ls -A "$out" "$out/preds" 2>/dev/null | tr '\n' ' ')"; return; fi
    echo "ok   [$name] exit $rc: $err"
}
# sweep_good NAME RUNDIR OUT [sweep args...]: exit 0 with a table
sweep_good() {
    local name=$1 run=$2 out=$3
    shift 3
    n=$((n + 1))
    "$BIN" sweep --run "$run" --out "$out" "$@" >"$T/stdout" 2>"$T/stderr"
    local rc=$?
    if [ $rc -eq 0 ] && [ -s "$out/table.csv" ]; then
        echo "ok   [$name] $(($(wc -l <"$out/table.csv") - 1)) settings"
        return 0
    fi
    fail "$name" "exit $rc: $(tr '\n' ' ' <"$T/stderr")"
    return 1
}
# mutate NAME PYTHON: a copy of the base run folder whose run.h5 the Python lines change (f: the h5py
# File, np: numpy); prints the copy's path
mutate() {
    local d="$T/mut_$1"
    mkdir -p "$d" && cp "$T/base/run.h5" "$d/run.h5" &&
        "$PY" -c 'import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r+")
def replace(name, data):
    del f[name]
    f.create_dataset(name, data=data)
exec(sys.argv[2])
f.close()' "$d/run.h5" "$2" || { echo "FAIL: could not mutate run.h5 for $1" >&2; return 1; }
    echo "$d"
}
SW="--k1 5,10 --k2 1,3 --k3 1 --nli $PIPE_NLI"

# --- the good case first, so each bad one is known to fail for its own reason
sweep_good "the run as written" "$T/base" "$T/sw_base" $SW

# --- item 4: every attribute and dataset of run.h5 checked before use
sweep_bad "candidates < K1" "mut_cand_small/run.h5: attribute 'candidates' is 5, expected 11 (K1 = 10 + the empty candidate" \
    "$(mutate cand_small 'f.attrs["candidates"] = 5; replace("itm_score", f["itm_score"][:, :5])')" $SW
sweep_bad "candidates = K1 on a run that kept the empty candidate" "attribute 'candidates' is 10, expected 11" \
    "$(mutate cand_k1 'f.attrs["candidates"] = 10')" $SW
sweep_bad "candidates missing" "mut_cand_none/run.h5: missing attribute 'candidates'" \
    "$(mutate cand_none 'del f.attrs["candidates"]')" $SW
sweep_bad "K1 negative" "mut_k1_neg/run.h5: attribute 'k1' is -1, expected 1.." "$(mutate k1_neg 'f.attrs["k1"] = -1')" $SW
sweep_bad "K1 zero" "attribute 'k1' is 0, expected 1.." "$(mutate k1_zero 'f.attrs["k1"] = 0')" $SW
sweep_bad "K1 against the config" "attribute 'k1' is 5 but 'config' has k1=10" "$(mutate k1_conf 'f.attrs["k1"] = 5')" $SW
sweep_bad "K1 missing" "missing attribute 'k1'" "$(mutate k1_none 'del f.attrs["k1"]')" $SW
sweep_bad "K1 larger than the corpus" "attribute 'k1' is 400, more than the 191 reports of its corpus" \
    "$(mutate k1_big 'f.attrs["k1"] = 400; f.attrs["candidates"] = 401
f.attrs["config"] = f.attrs["config"].replace(" k1=10 ", " k1=400 ")
replace("itc_idx", (np.arange(20 * 400) % 191).reshape(20, 400).astype(np.int32))
replace("itm_score", np.zeros((20, 401), np.float32))')" --k1 5 --k2 1 --nli "$PIPE_NLI"
sweep_bad "config missing" "missing attribute 'config'" "$(mutate conf_none 'del f.attrs["config"]')" $SW
sweep_bad "config without drop_empty" "attribute 'config' has no drop_empty=" \
    "$(mutate conf_drop 'f.attrs["config"] = f.attrs["config"].replace("drop_empty=0", "")')" $SW
sweep_bad "config with itm=7" "attribute 'config' has itm=7, expected an integer in 0..1" \
    "$(mutate conf_itm 'f.attrs["config"] = f.attrs["config"].replace("itm=1", "itm=7")')" $SW
sweep_bad "not a run file" "attribute 'xrem_format' is 'corpus', expected 'run'" \
    "$(mutate format 'f.attrs["xrem_format"] = "corpus"')" $SW
sweep_bad "corpus attribute missing" "missing attribute 'corpus'" "$(mutate corpus_none 'del f.attrs["corpus"]')" $SW
sweep_bad "corpus attribute empty" "attribute 'corpus' is empty" "$(mutate corpus_empty 'f.attrs["corpus"] = ""')" $SW
sweep_bad "itc_idx narrower than K1" "dataset 'itc_idx' has shape [20,5], expected [*,10]" \
    "$(mutate itc_dims 'replace("itc_idx", f["itc_idx"][:, :5])')" $SW
sweep_bad "itc_idx of rank 1" "dataset 'itc_idx' has shape [200], expected [*,10]" \
    "$(mutate itc_rank 'replace("itc_idx", f["itc_idx"][...].ravel())')" $SW
sweep_bad "itc_idx with no rows" "dataset 'itc_idx' has no rows" \
    "$(mutate itc_none 'replace("itc_idx", np.zeros((0, 10), np.int32)); replace("itm_score", np.zeros((0, 11), np.float32))
replace("study_id", f["study_id"][:0])')" $SW
sweep_bad "itc_idx negative" "dataset 'itc_idx' image 3 rank 2 is -4, outside the corpus" \
    "$(mutate itc_neg 'd = f["itc_idx"][...]; d[3, 2] = -4; f["itc_idx"][...] = d')" $SW
sweep_bad "itc_idx past the corpus" "dataset 'itc_idx' image 0 rank 0 is 191, outside the corpus" \
    "$(mutate itc_big 'd = f["itc_idx"][...]; d[0, 0] = 191; f["itc_idx"][...] = d')" $SW
sweep_bad "itc_idx as floats" "dataset 'itc_idx' is float32, expected integers" \
    "$(mutate itc_float 'replace("itc_idx", f["itc_idx"][...].astype(np.float32))')" $SW
sweep_bad "itm_score with a row too few" "dataset 'itm_score' has shape [19,11], expected [20,11]" \
    "$(mutate itm_rows 'replace("itm_score", f["itm_score"][:19])')" $SW
sweep_bad "itm_score narrower than the candidates" "dataset 'itm_score' has shape [20,10], expected [20,11]" \
    "$(mutate itm_cols 'replace("itm_score", f["itm_score"][:, :10])')" $SW
sweep_bad "itm_score missing" "missing dataset 'itm_score'" "$(mutate itm_none 'del f["itm_score"]')" $SW
sweep_bad "itm_score NaN" "dataset 'itm_score' image 2 candidate 4 is nan, expected a finite score" \
    "$(mutate itm_nan 'd = f["itm_score"][...]; d[2, 4] = np.nan; f["itm_score"][...] = d')" $SW
sweep_bad "study_id with a row too few" "dataset 'study_id' has shape [19], expected [20]" \
    "$(mutate study_rows 'replace("study_id", f["study_id"][:19])')" $SW
sweep_bad "study_id negative" "dataset 'study_id' image 5 is -7, expected a non-negative id" \
    "$(mutate study_neg 'd = f["study_id"][...]; d[5] = -7; f["study_id"][...] = d')" $SW
sweep_bad "config without corpus_reports" "attribute 'config' has no corpus_reports=<sha256 of 64 hex digits>" \
    "$(mutate conf_sha 'f.attrs["config"] = f.attrs["config"].replace("corpus_reports=", "corpus_reportz=")')" $SW

# --- item 5: the corpus must be the one the run used (its reports' sha256, recorded in run.h5's config)
mkdir -p "$T/c5"
cp "$T/corpus.h5" "$T/c5/corpus.h5"
"$BIN" run $common --corpus "$T/c5/corpus.h5" --k1 10 --k2 3 --filter none --out "$T/c5/run" 2>"$T/log" ||
    { echo "FAIL: run c5"; cat "$T/log"; exit 1; }
sweep_good "the run's own corpus" "$T/c5/run" "$T/c5/sw_before" $SW
# the same reports in reverse order: the same count, every itc_idx still in range, other texts behind them
"$PY" -c 'import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
w = csv.writer(open(sys.argv[2], "w", newline=""))
w.writerow(rows[0])
w.writerows(rows[:0:-1])' "$T/corpus.csv" "$T/c5/reversed.csv"
"$BIN" embed --weights "$T/retrieval.h5" --corpus "$T/c5/reversed.csv" --out "$T/c5/corpus.h5" 2>"$T/log" ||
    { echo "FAIL: embed reversed"; cat "$T/log"; exit 1; }
sha_run=$("$PY" -c 'import h5py, sys; print(h5py.File(sys.argv[1], "r").attrs["reports_sha256"])' "$T/corpus.h5")
sha_now=$("$PY" -c 'import h5py, sys; print(h5py.File(sys.argv[1], "r").attrs["reports_sha256"])' "$T/c5/corpus.h5")
if [ "$sha_run" = "$sha_now" ]; then fail "corpus re-embedded" "the reversed corpus has the same sha256"; fi
sweep_bad "corpus re-embedded from other reports at the same path" \
    "c5/run/run.h5 was made from a corpus of 191 reports with sha256 $sha_run, but $T/c5/corpus.h5 now holds 191 reports with sha256 $sha_now" \
    "$T/c5/run" $SW
# --- item 12: run.h5 keeps the corpus path as given to xrem run; sweep from another folder finds it
mkdir -p "$T/w1" "$T/w2/runs" "$T/w3" "$T/x"
cp "$T/corpus.h5" "$T/w1/w1corpus.h5"
cp "$T/corpus.h5" "$T/w2/w2corpus.h5"
cp "$T/corpus.h5" "$T/w3/w3corpus.h5"
(cd "$T/w1" && "$BIN" run $common --corpus w1corpus.h5 --k1 10 --k2 3 --filter none --out . 2>"$T/log") &&
    (cd "$T/w2" && "$BIN" run $common --corpus w2corpus.h5 --k1 10 --k2 3 --filter none --out runs/r1 2>"$T/log") &&
    (cd "$T/w3" && "$BIN" run $common --corpus w3corpus.h5 --k1 10 --k2 3 --filter none --out r 2>"$T/log") ||
    { echo "FAIL: the runs from w1, w2, w3"; cat "$T/log"; exit 1; }
# the sweep from the folder the run was started in is the reference for the ones from elsewhere
(cd "$T/w2" && "$BIN" sweep --run runs/r1 --out "$T/w2/sw_home" $SW 2>"$T/log") ||
    { echo "FAIL: sweep from the run's own folder"; cat "$T/log"; exit 1; }
same_sweep() { # NAME OUT: OUT's table and predictions equal the sweep from the run's own folder
    if cmp -s "$T/w2/sw_home/table.csv" "$2/table.csv" && diff -r "$T/w2/sw_home/preds" "$2/preds" >/dev/null; then
        echo "ok   [$1] table.csv and preds/ equal the sweep from the run's own folder"
    else fail "$1" "differs from the sweep from the run's own folder"; fi
}
cd "$T/x" || exit 1 # the cases below run in this shell (they count failures), from another folder
sweep_good "corpus in the run folder, swept from another folder" "$T/w1" "$T/x/sw1" $SW
sweep_good "corpus in a parent of the run folder, swept from a sibling" ../w2/runs/r1 "$T/x/sw2" $SW &&
    same_sweep "swept from a sibling" "$T/x/sw2"
rm "$T/w3/w3corpus.h5"
sweep_bad "corpus gone: every path tried is named" \
    "w3/r/run.h5: its corpus 'w3corpus.h5' (attribute 'corpus', as given to xrem run) is not at any of: $T/w3/r/w3corpus.h5, $T/x/w3corpus.h5, $T/w3/w3corpus.h5, $T/w3corpus.h5" \
    "$T/w3/r" $SW
cd / || exit 1
sweep_good "swept from /" "$T/w2/runs/r1" "$T/x/sw3" $SW && same_sweep "swept from /" "$T/x/sw3"
cd "$T" || exit 1
# --- item 13: the grid is checked against how the run was made
sweep_bad "K2 above every K1's candidates" \
    "--k2 7: outside 1..6 (the most ITM candidates: K1 5 + the empty candidate)" "$T/base" --k1 5 --k2 7 --nli "$PIPE_NLI"
sweep_bad "K1 above the run's" "--k1 12,15: outside 1..10 (the run's K1 is 10)" "$T/base" --k1 5,12,15 --k2 1 --nli "$PIPE_NLI"
sweep_bad "a K1 given twice" "--k1: 5 given twice" "$T/base" --k1 5,10,5 --k2 1 --nli "$PIPE_NLI"
sweep_bad "a grid without the NLI model it needs" "every setting re-decides with a filter model that was not given" \
    "$T/base" --k1 5 --k2 1
"$BIN" run $common --corpus "$T/corpus.h5" --k1 10 --k2 3 --filter none --drop-empty-candidate --out "$T/drop" \
    2>"$T/log" || { echo "FAIL: run --drop-empty-candidate"; cat "$T/log"; exit 1; }
if sweep_good "a --drop-empty-candidate run: (K1 5, K2 6) left out" "$T/drop" "$T/sw_drop" --k1 5,10 --k2 3,6 --k3 1 --nli "$PIPE_NLI"; then
    got=$(cut -d, -f1 "$T/sw_drop/table.csv" | sed 1d | sort | tr '\n' ' ')
    want="k1_10_k2_3_k3_1 k1_10_k2_6_k3_1 k1_5_k2_3_k3_1 "
    [ "$got" = "$want" ] || fail "drop-empty grid" "settings '$got', want '$want'"
    grep -qF "Left out of the grid, K2 above that K1's candidates (K1: the run dropped the empty one): K1 5 with K2 6." \
        "$T/sw_drop/table.md" || fail "drop-empty grid" "table.md does not list the left-out pair: $(tail -2 "$T/sw_drop/table.md")"
    grep -qF "(1 grid points left out" "$T/stderr" || fail "drop-empty grid" "stderr: $(cat "$T/stderr")"
    "$BIN" run $common --corpus "$T/corpus.h5" --k1 10 --k2 6 --k3 1 --filter nli --nli "$PIPE_NLI" --drop-empty-candidate \
        --out "$T/drop_10_6" 2>"$T/log" || fail "fresh drop-empty run" "$(cat "$T/log")"
    if cmp -s "$T/drop_10_6/pred.csv" "$T/sw_drop/preds/k1_10_k2_6_k3_1.csv"; then
        echo "ok   [drop-empty sweep (K1 10, K2 6, K3 1) == a fresh --drop-empty-candidate run]"
    else fail "drop-empty sweep" "k1_10_k2_6_k3_1 differs from a fresh --drop-empty-candidate run"; fi
fi
sweep_bad "K2 = K1 + 1 on a --drop-empty-candidate run" \
    "--k2 6: outside 1..5 (the most ITM candidates: K1 5; the run dropped the empty candidate)" \
    "$T/drop" --k1 5 --k2 6 --nli "$PIPE_NLI"
"$BIN" run --retrieval "$T/retrieval.h5" --images "$T/cxr.h5" --corpus "$T/corpus.h5" $PIPE_RES --no-itm --k1 2 \
    --out "$T/noitm" 2>"$T/log" || { echo "FAIL: run --no-itm"; cat "$T/log"; exit 1; }
sweep_bad "a grid on a --no-itm run" "noitm/run.h5 was made with --no-itm (itm=0 in 'config')" \
    "$T/noitm" --k1 2 --k2 1 --nli "$PIPE_NLI"
# --- no output replaces an input: refused before anything is written, the input unchanged
# sweep_keeps NAME "stderr substring" INPUT [sweep args...]: refused, and INPUT is byte-identical after
sweep_keeps() {
    local name=$1 want=$2 input=$3
    shift 3
    n=$((n + 1))
    cp "$input" "$T/keep.copy"
    "$BIN" sweep "$@" >"$T/stdout" 2>"$T/stderr"
    local rc=$? err
    err=$(tr '\n' ' ' <"$T/stderr")
    if [ $rc -eq 0 ]; then fail "$name" "exit 0: $err"
    elif ! grep -qF -- "$want" "$T/stderr"; then fail "$name" "stderr lacks '$want': $err"
    elif ! cmp -s "$input" "$T/keep.copy"; then fail "$name" "$input was changed"
    else echo "ok   [$name] exit $rc: $err"; fi
}
mkdir -p "$T/o1" "$T/o2" "$T/o3/preds"
cp "$T/gt.csv" "$T/o1/table.csv"
sweep_keeps "--gt is --out/table.csv" "o1/table.csv: this output would replace the input $T/o1/table.csv" \
    "$T/o1/table.csv" --run "$T/base" --gt "$T/o1/table.csv" --out "$T/o1" $SW
cp "$PIPE_NLI" "$T/o2/sweep.png"
sweep_keeps "--nli is --out/sweep.png (the plot)" "o2/sweep.png: this output would replace the input $T/o2/sweep.png" \
    "$T/o2/sweep.png" --run "$T/base" --out "$T/o2" --k1 5 --k2 1 --k3 1 --nli "$T/o2/sweep.png"
ln -s "$T/base/run.h5" "$T/o3/preds/k1_10_k2_3_k3_1.csv"
sweep_keeps "a prediction file that is run.h5" "k1_10_k2_3_k3_1.csv: this output would replace the input $T/base/run.h5" \
    "$T/base/run.h5" --run "$T/base" --out "$T/o3" $SW
[ -e "$T/o3/table.csv" ] && fail "a prediction file that is run.h5" "table.csv written"
mkdir -p "$T/o4"
ln -s "$T/w1/w1corpus.h5" "$T/o4/table.md"
sweep_keeps "--out/table.md is the run's corpus" "table.md: this output would replace the input $T/w1/w1corpus.h5" \
    "$T/w1/w1corpus.h5" --run "$T/w1" --out "$T/o4" $SW
sweep_bad "no run.h5" "nope/run.h5" "$T/nope" $SW

if [ $fails -ne 0 ]; then
    echo "test_sweep_badinput: $fails of $n cases failed"
    exit 1
fi
echo "test_sweep_badinput: PASS ($n cases)"
