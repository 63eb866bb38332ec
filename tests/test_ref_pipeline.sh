#!/usr/bin/env bash
# The pipeline parity goldens made live (ctest label: reference). Interpreter: Debian's /usr/bin/python3
# (python3-torch 1.13, h5py, numpy, pandas 1.5, transformers 4.30); exits 77 where it cannot import them.
#  1. xrem dev iu-reports against an independent parse of the archive (tarfile + ElementTree, read back
#     with pandas): scripts/xrem_reference.py --check-split.
#  2. scripts/xrem_reference.py --suite: the reference control flow on the same inputs as
#     tests/test_pipeline.sh, written into the scratch folder; the committed tests/golden/pipeline_*.h5 must
#     equal them (scripts/compare_pipeline_goldens.py: integers and hashes exactly, floats to 2e-5, rankings
#     exactly except near ties (committed score gap <= 1e-5), which are compared as sets: the goldens were
#     made on one CPU and the live reference runs on whichever CPU CI has). The checker first proves on
#     mutated copies that it rejects real changes and accepts a near-tie swap.
#  3. xrem run for every setting against the live goldens (xrem dev compare-run).
# XREM_PIPELINE_GOLDEN_OUT=DIR keeps the live goldens there (to refresh tests/golden: DIR=tests/golden).
set -u
PY=/usr/bin/python3
BIN=${XREM_BIN:-}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! "$PY" -c 'import torch, h5py, numpy, pandas, transformers' >/dev/null 2>&1; then
    echo "SKIP: $PY cannot import torch, h5py, numpy, pandas and transformers"
    exit 77
fi
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    echo "SKIP: \$XREM_BIN is not an executable xrem (got '$BIN')"
    exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/xrem_ref_pipeline.XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$ROOT/tests/pipeline_inputs.sh"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
t0=$(date +%s.%N)
pipeline_inputs
rc=$?
[ $rc -eq 0 ] || exit $rc

# ---- 1. the corpus / ground-truth split -------------------------------------------------------------
"$PY" "$ROOT/scripts/xrem_reference.py" --check-split --tgz "$TGZ" --corpus "$T/corpus.csv" --gt "$T/gt.csv" \
    --test-every 10 --corpus-max 300 || fail "xrem dev iu-reports differs from the independent parse (300 rows)"
"$BIN" dev iu-reports --tgz "$TGZ" --corpus "$T/corpus_all.csv" --gt "$T/gt_all.csv" 2>/dev/null &&
    "$PY" "$ROOT/scripts/xrem_reference.py" --check-split --tgz "$TGZ" --corpus "$T/corpus_all.csv" \
        --gt "$T/gt_all.csv" || fail "xrem dev iu-reports differs from the independent parse (whole archive)"
cmp -s "$T/gt.csv" "$T/gt_all.csv" || fail "--corpus-max changed the test split"
t_split=$(date +%s.%N)

# ---- 2. the reference, live ----------------------------------------------------------------------------
G=${XREM_PIPELINE_GOLDEN_OUT:-$T/gold}
# shellcheck disable=SC2086
"$PY" "$ROOT/scripts/xrem_reference.py" --suite "$G" --retrieval "$T/retrieval.h5" --itm "$T/itm.h5" \
    --images "$T/cxr.h5" --corpus "$T/corpus.csv" --nli-weights "$PIPE_NLI" $PIPE_RES || { fail "scripts/xrem_reference.py --suite failed"; exit 1; }
t_ref=$(date +%s.%N)
"$PY" "$ROOT/scripts/compare_pipeline_goldens.py" --self-test "$ROOT/tests/golden" default ||
    fail "scripts/compare_pipeline_goldens.py misjudges a mutated golden"
# shellcheck disable=SC2086
"$PY" "$ROOT/scripts/compare_pipeline_goldens.py" "$G" "$ROOT/tests/golden" $PIPE_SETTINGS ||
    fail "the committed goldens are not what the reference makes now"

# ---- 3. xrem against the live goldens ----------------------------------------------------------------
for s in $PIPE_SETTINGS; do
    # shellcheck disable=SC2046
    if ! "$BIN" run $(pipeline_args $s) --out "$T/run_$s" 2>"$T/run_$s.log"; then
        fail "xrem run ($s): $(cat "$T/run_$s.log")"
        continue
    fi
    if "$BIN" dev compare-run "$T/run_$s/run.h5" "$G/pipeline_$s.h5" >"$T/cmp_$s.txt"; then
        echo "ok   [$s] xrem = live reference ($(grep -c ' ok ' "$T/cmp_$s.txt") fields)"
    else
        fail "[$s] xrem differs from the live reference:"
        cat "$T/cmp_$s.txt"
    fi
done
t_end=$(date +%s.%N)
if [ $fails -ne 0 ]; then
    echo "test_ref_pipeline: $fails failure(s)"
    exit 1
fi
echo "test_ref_pipeline: PASS (inputs + split check $(secs "$t0" "$t_split")s, reference suite" \
    "$(secs "$t_split" "$t_ref")s, xrem runs + compare $(secs "$t_ref" "$t_end")s)"
