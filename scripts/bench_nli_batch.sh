#!/usr/bin/env bash
# Stage 3 of `xrem run` before/after the lock-step NLI filter (issue 12), same machine, same session:
# the parity test's inputs (tests/pipeline_inputs.sh: small random retrieval/ITM models, 20 synthetic
# images, the first 300 IU corpus reports; K1 50, K2 10, K3 2) with an NLI model (default the test's
# tests/golden/nli_small.weights.h5; pass a full-size one with --nli), each binary at each --batch, with
# --filter nli and --filter none, interleaved, REPS times. The NLI filter's cost = wall(nli) - wall(none).
# Also checks that every run's pred.csv equals the first binary's --batch 1 (the decisions do not change).
#
# usage: scripts/bench_nli_batch.sh BEFORE_XREM AFTER_XREM [--nli NLI.h5] [--reps 3] [--threads 1]
#                                   [--batches "1 4 20"] [--data DIR]
# Prints a Markdown table (median and min wall seconds over the reps) on stdout.
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ $# -ge 2 ] || { sed -n '2,12p' "$0"; exit 2; }
BEFORE=$1 AFTER=$2
shift 2
NLI="$ROOT/tests/golden/nli_small.weights.h5" REPS=3 THREADS=1 BATCHES="1 4 20"
while [ $# -gt 0 ]; do
    case $1 in
    --nli) NLI=$2 ;;
    --reps) REPS=$2 ;;
    --threads) THREADS=$2 ;;
    --batches) BATCHES=$2 ;;
    --data) export XREM_DATA_DIR=$2 ;;
    *) echo "bench_nli_batch: unknown argument $1" >&2; exit 2 ;;
    esac
    shift 2
done
T=$(mktemp -d "${TMPDIR:-/tmp}/xrem_bench_nli.XXXXXX")
trap 'rm -rf "$T"' EXIT
BIN=$AFTER
. "$ROOT/tests/pipeline_inputs.sh"
PIPE_NLI=$NLI
pipeline_inputs >&2 || exit 1

now() { date +%s.%N; }
# run NAME BIN SETTING BATCH: wall seconds appended to $T/NAME.times
run_one() {
    local name=$1 bin=$2 setting=$3 batch=$4 out="$T/out_$1"
    rm -rf "$out"
    local t0 t1
    t0=$(now)
    # shellcheck disable=SC2046
    "$bin" run $(pipeline_args "$setting") --batch "$batch" --threads "$THREADS" --out "$out" 2>"$T/$name.log" ||
        { echo "bench_nli_batch: $bin run $setting --batch $batch failed: $(cat "$T/$name.log")" >&2; exit 1; }
    t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }' >>"$T/$name.times"
    if [ "$setting" = default ]; then
        if [ -f "$T/ref_pred.csv" ]; then
            cmp -s "$out/pred.csv" "$T/ref_pred.csv" || { echo "bench_nli_batch: $name: pred.csv differs" >&2; exit 1; }
        else
            cp "$out/pred.csv" "$T/ref_pred.csv"
        fi
    fi
}
stats() { sort -n "$1" | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
                                                    printf "%.2f %.2f", m, v[1] }'; }

for r in $(seq "$REPS"); do
    for b in $BATCHES; do
        for which in before after; do
            bin=$BEFORE
            [ $which = after ] && bin=$AFTER
            run_one "${which}_b${b}_nli" "$bin" default "$b"
            run_one "${which}_b${b}_none" "$bin" no_filter "$b"
        done
    done
    echo "bench_nli_batch: rep $r of $REPS done" >&2
done

echo "| binary | --batch | --filter nli: median (min) s | --filter none: median (min) s | NLI filter: median s |"
echo "|---|---|---|---|---|"
for which in before after; do
    for b in $BATCHES; do
        read -r mn mnmin <<<"$(stats "$T/${which}_b${b}_nli.times")"
        read -r mo momin <<<"$(stats "$T/${which}_b${b}_none.times")"
        echo "| $which | $b | $mn ($mnmin) | $mo ($momin) | $(awk -v a="$mn" -v b="$mo" 'BEGIN { printf "%.2f", a - b }') |"
    done
done
echo
echo "Every --filter nli run's pred.csv was identical to the first one's (before, --batch ${BATCHES%% *})."
