#!/usr/bin/env bash
# The C pipeline (xrem embed + xrem run) against the reference control flow: the committed goldens
# tests/golden/pipeline_<setting>.h5 were made by scripts/xrem_reference.py (X-REM's XREM_module.py /
# XREM.py / m2trans_nli_filter.py flow in PyTorch) on inputs xrem makes itself (tests/pipeline_inputs.sh).
# For each setting (default 50/10/2 with the NLI filter (tests/golden/nli_small.weights.h5), no ITM, no
# filter, drop-empty, K1=5/K2=3/K3=3) `xrem dev compare-run` checks: ids, the corpus (sha256), top-K1 corpus
# indices (identical up to near ties the reference itself cannot order: golden gap <= 1e-5) and scores
# (<= 1e-4), ITM scores per candidate report (<= 1e-4), the top-K2 reports, the sha256 of every
# "Report Impression" and "filtered" string, and the stage-3 loop with the hash judge.
# Then resume: --resume on a finished run reuses every chunk (files untouched) and gives identical
# outputs; a lost chunk is recomputed alone; other settings are not served from stale chunks; a run into
# a folder holding a run without --resume is refused. Label cpu; skips (77) without the shared data.
set -u
BIN=${XREM_BIN:-}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    echo "SKIP: \$XREM_BIN is not an executable xrem (got '$BIN')"
    exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/xrem_pipeline.XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$ROOT/tests/pipeline_inputs.sh"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
known() { # a disagreement with the reference/DESIGN that lives in run.c (reported, not fixed here)
    if [ "${XREM_STRICT_KNOWN:-0}" = 1 ]; then fail "$*"; else echo "KNOWN ISSUE (run.c): $*"; fi
}
t0=$(date +%s.%N)
pipeline_inputs
rc=$?
[ $rc -eq 0 ] || exit $rc
t_in=$(date +%s.%N)

# ---- parity with the committed goldens ----------------------------------------------------------------
for s in $PIPE_SETTINGS; do
    g="$ROOT/tests/golden/pipeline_$s.h5"
    [ -f "$g" ] || { fail "$g is missing (make it with scripts/xrem_reference.py --suite)"; continue; }
    # shellcheck disable=SC2046
    if ! "$BIN" run $(pipeline_args $s) --out "$T/run_$s" 2>"$T/run_$s.log"; then
        fail "xrem run ($s): $(cat "$T/run_$s.log")"
        continue
    fi
    if "$BIN" dev compare-run "$T/run_$s/run.h5" "$g" >"$T/cmp_$s.txt"; then
        echo "ok   [$s] $(grep -c ' ok ' "$T/cmp_$s.txt") fields agree with the reference; $(grep 'itc_idx' "$T/cmp_$s.txt" | sed 's/  */ /g')"
    else
        fail "[$s] differs from the reference:"
        cat "$T/cmp_$s.txt"
    fi
done
t_par=$(date +%s.%N)

# ---- resume ------------------------------------------------------------------------------------------
R="$T/run_default"
snap() { (cd "$1" && stat -c '%n %i %Y.%y' chunks/*.h5); }
cp "$R/run.h5" "$T/first_run.h5"
cp "$R/reports.csv" "$T/first_reports.csv"
cp "$R/pred.csv" "$T/first_pred.csv"
snap "$R" >"$T/chunks_before"
nchunks=$(ls "$R/chunks" | wc -l)
[ "$nchunks" -eq 5 ] || fail "expected 5 chunks (20 images, --batch 4), found $nchunks"

# 1. a run into a folder that holds a run, without --resume: refused, nothing touched
# shellcheck disable=SC2046
"$BIN" run $(pipeline_args default) --out "$R" 2>"$T/refuse.log"
rc=$?
if [ $rc -eq 0 ] || ! grep -q -- "--resume" "$T/refuse.log"; then
    fail "a run into a folder holding a run without --resume was not refused (exit $rc): $(cat "$T/refuse.log")"
else
    echo "ok   [refuse] exit $rc: $(cat "$T/refuse.log")"
fi
snap "$R" | cmp -s - "$T/chunks_before" || fail "the refused run touched the chunks"
cmp -s "$R/run.h5" "$T/first_run.h5" || fail "the refused run touched run.h5"

# 2. --resume on a finished run: every chunk reused (same inode and mtime), identical outputs
# shellcheck disable=SC2046
"$BIN" run $(pipeline_args default) --out "$R" --resume 2>"$T/resume.log" || fail "--resume failed: $(cat "$T/resume.log")"
snap "$R" | cmp -s - "$T/chunks_before" || fail "--resume on a finished run rewrote chunks: $(snap "$R" | diff - "$T/chunks_before")"
"$BIN" dev compare-run "$R/run.h5" "$T/first_run.h5" >"$T/cmp_resume.txt" || { fail "--resume changed run.h5:"; cat "$T/cmp_resume.txt"; }
cmp -s "$R/reports.csv" "$T/first_reports.csv" || fail "--resume changed reports.csv"
cmp -s "$R/pred.csv" "$T/first_pred.csv" || fail "--resume changed pred.csv"
echo "ok   [resume] all $nchunks chunks reused untouched; run.h5 ($(grep -c ' ok ' "$T/cmp_resume.txt") datasets), reports.csv, pred.csv identical"

# 3. an interrupted run (a chunk lost): only that chunk is recomputed, outputs identical
rm "$R/chunks/chunk_000002.h5"
# shellcheck disable=SC2046
"$BIN" run $(pipeline_args default) --out "$R" --resume 2>"$T/resume2.log" || fail "--resume after a lost chunk failed: $(cat "$T/resume2.log")"
changed=$(snap "$R" | diff - "$T/chunks_before" | grep -c '^<')
[ "$changed" -eq 1 ] || fail "--resume after losing chunk 2 rewrote $changed chunks (want 1)"
"$BIN" dev compare-run "$R/run.h5" "$T/first_run.h5" >"$T/cmp_resume2.txt" || { fail "the recomputed chunk differs:"; cat "$T/cmp_resume2.txt"; }
cmp -s "$R/reports.csv" "$T/first_reports.csv" || fail "--resume after a lost chunk changed reports.csv"
echo "ok   [resume after a lost chunk] 1 chunk recomputed, outputs identical"

# 4. --resume with another setting: no stale chunk is served (all recomputed, result = a fresh run)
snap "$R" >"$T/chunks_before2"
# shellcheck disable=SC2046
"$BIN" run $(pipeline_args small_k) --out "$R" --resume 2>"$T/resume3.log" || fail "--resume with K1=5: $(cat "$T/resume3.log")"
changed=$(snap "$R" | diff - "$T/chunks_before2" | grep -c '^<')
[ "$changed" -eq 5 ] || fail "--resume with another configuration reused $((5 - changed)) stale chunks"
"$BIN" dev compare-run "$R/run.h5" "$T/run_small_k/run.h5" >"$T/cmp_resume3.txt" || { fail "--resume with K1=5 differs from a fresh K1=5 run:"; cat "$T/cmp_resume3.txt"; }
echo "ok   [resume with another configuration] all chunks recomputed, identical to a fresh run"

# 5. known gaps of the resume key (run.c's config string): the corpus and images are named, not hashed
cp "$T/corpus.csv" "$T/corpus2.csv"
sed -i '2s/$/ Edited./' "$T/corpus2.csv" # same number of reports, one text changed
"$BIN" embed --weights "$T/retrieval.h5" --corpus "$T/corpus2.csv" --out "$T/corpus.h5" 2>/dev/null
R2="$T/run_small_k"
snap "$R2" >"$T/chunks_before3"
# shellcheck disable=SC2046
"$BIN" run $(pipeline_args small_k) --out "$R2" --resume 2>/dev/null
if [ "$(snap "$R2" | diff - "$T/chunks_before3" | grep -c '^<')" -eq 0 ]; then
    known "--resume after the corpus cache was rebuilt from another corpus of the same size (same path, same model) reused every chunk: results of the old corpus are served (the chunk key holds the corpus cache's model sha256 and report count, not its content)"
fi
# the images file is named, not hashed, too
"$BIN" dev synth-images --n 20 --seed 8 --out "$T/cxr.h5" 2>/dev/null # other images, same path and ids
snap "$R2" >"$T/chunks_before4"
# shellcheck disable=SC2046
"$BIN" run $(pipeline_args small_k) --out "$R2" --resume 2>/dev/null
if [ "$(snap "$R2" | diff - "$T/chunks_before4" | grep -c '^<')" -eq 0 ]; then
    known "--resume after the images file was replaced (same path) reused every chunk: results of the old images are served"
fi
# a folder that holds a run's outputs but no chunks (cleaned up) is overwritten without --resume
rm -rf "$R2/chunks"
cp "$R2/run.h5" "$T/r2_run.h5"
# shellcheck disable=SC2046
if "$BIN" run $(pipeline_args small_k) --out "$R2" 2>/dev/null; then
    known "a run into a folder holding run.h5/reports.csv/pred.csv (chunks/ removed) without --resume was not refused: it overwrote them"
fi
t_res=$(date +%s.%N)

if [ $fails -ne 0 ]; then
    echo "test_pipeline: $fails failure(s)"
    exit 1
fi
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
echo "test_pipeline: PASS (inputs $(secs "$t0" "$t_in")s, 5 settings run + compared $(secs "$t_in" "$t_par")s," \
    "resume $(secs "$t_par" "$t_res")s)"
