# Sourced by tests/test_pipeline.sh, tests/test_ref_pipeline.sh and tests/test_run_badinput.sh (not a test).
# The inputs of the pipeline parity goldens (tests/golden/pipeline_*.h5), made by xrem itself,
# deterministically:
#   retrieval.h5  xrem dev random-weights --arch albef_retrieval --preset small --seed 11 (real vocab)
#   itm.h5        xrem dev random-weights --arch albef_itm       --preset small --seed 15 (real vocab)
#   cxr.h5        xrem dev synth-images --n 20 --seed 7
#   corpus.csv    xrem dev iu-reports --corpus-max 300 (the first 300 corpus rows), gt.csv its test split
# ITM seed 15 puts the reference's empty candidate into the top-10 of half the images (ranks 3..8), so
# the drop-empty ablation and the stage-3 loop's empty piece are exercised; the run resolutions are 32
# (retrieval) and 48 (ITM: the 2x2 position grid is interpolated to 3x3).
# The default setting filters with the NLI model tests/golden/nli_small.weights.h5 (scripts/make_nli_goldens.py:
# random BERTNLI weights, 2,000-token vocabulary); the goldens record its sha256, so regenerate them when it changes.
# Needs: BIN (xrem), T (a scratch folder), ROOT (the source tree). Sets DATA, VOCAB, TGZ; pipeline_inputs returns 77 (skip)
# without the shared data folder.
PIPE_SEED_RET=11
PIPE_SEED_ITM=15
PIPE_RES="--res-retrieval 32 --res-itm 48"
PIPE_NLI="$ROOT/tests/golden/nli_small.weights.h5"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} # small models: spinning OpenMP threads only cost time

pipeline_data() {
    DATA=${XREM_DATA_DIR:-}
    if [ -z "$DATA" ]; then
        local here
        here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
        DATA="$here/../shared/data"
    fi
    VOCAB="$DATA/bert-base-uncased-vocab.txt"
    TGZ="$DATA/NLMCXR_reports.tgz"
    if [ ! -f "$VOCAB" ] || [ ! -f "$TGZ" ]; then
        echo "SKIP: the shared data folder ($DATA) lacks bert-base-uncased-vocab.txt or NLMCXR_reports.tgz"
        return 77
    fi
}

# pipeline_inputs: make the inputs in $T (and the corpus cache $T/corpus.h5 with xrem embed)
pipeline_inputs() {
    pipeline_data || return $?
    "$BIN" dev random-weights --arch albef_retrieval --preset small --vocab "$VOCAB" --seed $PIPE_SEED_RET \
        --out "$T/retrieval.h5" 2>/dev/null &&
        "$BIN" dev random-weights --arch albef_itm --preset small --vocab "$VOCAB" --seed $PIPE_SEED_ITM \
            --out "$T/itm.h5" 2>/dev/null &&
        "$BIN" dev synth-images --n 20 --seed 7 --out "$T/cxr.h5" 2>/dev/null &&
        "$BIN" dev iu-reports --tgz "$TGZ" --corpus "$T/corpus.csv" --gt "$T/gt.csv" --test-every 10 \
            --corpus-max 300 2>/dev/null &&
        "$BIN" embed --weights "$T/retrieval.h5" --corpus "$T/corpus.csv" --out "$T/corpus.h5" 2>"$T/embed.log" ||
        { echo "FAIL: could not make the pipeline inputs"; cat "$T/embed.log" 2>/dev/null; return 1; }
}

# The parity settings (same names and values as SUITE in scripts/xrem_reference.py). The ablations keep
# --filter none (stage 3 is checked there with the hash judge inside xrem dev compare-run).
PIPE_SETTINGS="default no_itm no_filter drop_empty small_k"
pipeline_args() {
    local common="--retrieval $T/retrieval.h5 --images $T/cxr.h5 --corpus $T/corpus.h5 $PIPE_RES"
    case $1 in
    default) echo "$common --itm $T/itm.h5 --k1 50 --k2 10 --k3 2 --filter nli --nli $PIPE_NLI" ;;
    no_itm) echo "$common --no-itm --k1 2" ;;
    no_filter) echo "$common --itm $T/itm.h5 --k1 50 --k2 10 --filter none" ;;
    drop_empty) echo "$common --itm $T/itm.h5 --k1 50 --k2 10 --filter none --drop-empty-candidate" ;;
    small_k) echo "$common --itm $T/itm.h5 --k1 5 --k2 3 --k3 3 --filter none" ;;
    esac
}
