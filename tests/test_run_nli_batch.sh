#!/usr/bin/env bash
# Stage 3 in lock-step over the images of a chunk (issue 12): `xrem run` with the NLI filter
# (tests/golden/nli_small.weights.h5, the parity test's default setting, tests/pipeline_inputs.sh) with
# several images per chunk (--batch 7: chunks of 7, 7, 6; --batch 20: one chunk) writes reports.csv and
# pred.csv byte-identical (cmp) to --batch 1 (one image per chunk: the filter judges one pair per call,
# the sequential loop), and run.h5's indices and strings agree (xrem dev compare-run). The filter must have
# appended a second text somewhere (pred.csv differs from a --filter none run), or the comparison would
# not see a changed decision. Label cpu; skips (77) without the shared data.
set -u
BIN=${XREM_BIN:-}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    echo "SKIP: \$XREM_BIN is not an executable xrem (got '$BIN')"
    exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/xrem_nli_batch.XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$ROOT/tests/pipeline_inputs.sh"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pipeline_inputs
rc=$?
[ $rc -eq 0 ] || exit $rc

for b in 1 7 20; do
    # shellcheck disable=SC2046
    "$BIN" run $(pipeline_args default) --batch $b --out "$T/b$b" 2>"$T/b$b.log" ||
        { fail "xrem run --batch $b: $(cat "$T/b$b.log")"; }
done
# shellcheck disable=SC2046
"$BIN" run $(pipeline_args no_filter) --batch 20 --out "$T/none" 2>"$T/none.log" ||
    fail "xrem run --filter none: $(cat "$T/none.log")"
[ $fails -eq 0 ] || exit 1

if cmp -s "$T/b1/pred.csv" "$T/none/pred.csv"; then
    fail "the NLI filter appended nothing (pred.csv = --filter none's): the comparison cannot see a decision"
fi
n7=$(ls "$T/b7/chunks" | wc -l)
[ "$n7" -eq 3 ] || fail "--batch 7 on 20 images wrote $n7 chunks (want 3)"
for b in 7 20; do
    for f in reports.csv pred.csv; do
        cmp "$T/b1/$f" "$T/b$b/$f" || fail "--batch $b: $f differs from --batch 1's"
    done
    # the stage 1-2 scores come from other batch shapes (equal to rounding, not bit for bit): compare the
    # decisions and strings of run.h5
    "$BIN" dev compare-run "$T/b$b/run.h5" "$T/b1/run.h5" >"$T/cmp_$b.txt"
    for k in filtered report_impression stage2_pos itc_idx candidate_rank dicom_id study_id; do
        grep -Eq "^$k +ok " "$T/cmp_$b.txt" ||
            { fail "--batch $b: run.h5 '$k' differs from --batch 1's:"; cat "$T/cmp_$b.txt"; }
    done
done
if [ $fails -ne 0 ]; then
    echo "test_run_nli_batch: $fails failure(s)"
    exit 1
fi
echo "test_run_nli_batch: PASS (20 images; --batch 7 and 20 give reports.csv and pred.csv" \
    "identical to --batch 1)"
