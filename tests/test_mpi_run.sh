#!/usr/bin/env bash
# `mpirun -np N xrem run` (issue 11): every rank computes the chunks k with k % N == rank, rank 0 writes
# the outputs. Checks, on small random-weight inputs (12 images, --batch 2: 6 chunks, NLI filter):
#   [np]      1 process (no mpirun), -np 2 and -np 3 (and -np 8: ranks without a chunk): run.h5,
#             reports.csv and pred.csv byte-identical (cmp), every chunk file written, nothing else in --out
#   [fail]    one rank's chunk cannot be written (its path is a directory): every rank stops, exit non-zero,
#             rank 0 prints one message naming that rank and the path, no run.h5 / reports.csv / pred.csv
#   [resume]  -np 2 stopped with SIGTERM after its first chunk, then --resume under -np 3: byte-identical
#   [other]   a command other than run under mpirun is refused
# Skips (77) without an MPI build, without mpirun, or without the shared data.
set -u
BIN=${XREM_BIN:-}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    echo "SKIP: \$XREM_BIN is not an executable xrem (got '$BIN')"
    exit 77
fi
if [ "${XREM_HAVE_MPI:-}" != ON ]; then
    echo "SKIP: this build has no MPI (XREM_HAVE_MPI='${XREM_HAVE_MPI:-}')"
    exit 77
fi
MPIRUN=${XREM_MPIEXEC:-}
[ -x "$MPIRUN" ] || MPIRUN=$(command -v mpirun || true)
[ -n "$MPIRUN" ] || { echo "SKIP: no mpirun"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/xrem_mpi.XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$ROOT/tests/pipeline_inputs.sh"
pipeline_data || exit $?
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# OpenMPI's runtime keeps allocations to process exit: not xrem's leaks
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
mpi() {
    local np=$1
    shift
    "$MPIRUN" --oversubscribe -np "$np" "$@"
}

mkdir -p "$T/in"
"$BIN" dev random-weights --arch albef_retrieval --preset small --vocab "$VOCAB" --seed 11 --out "$T/in/ret.h5" 2>/dev/null &&
    "$BIN" dev random-weights --arch albef_itm --preset small --vocab "$VOCAB" --seed 15 --out "$T/in/itm.h5" 2>/dev/null &&
    "$BIN" dev synth-images --n 12 --seed 7 --out "$T/in/cxr.h5" 2>/dev/null &&
    "$BIN" dev iu-reports --tgz "$TGZ" --corpus "$T/in/corpus.csv" --gt "$T/in/gt.csv" --test-every 10 \
        --corpus-max 60 2>/dev/null &&
    "$BIN" embed --weights "$T/in/ret.h5" --corpus "$T/in/corpus.csv" --out "$T/in/corpus.h5" 2>/dev/null ||
    { echo "FAIL: could not make the inputs"; exit 1; }
RUN=(run --retrieval "$T/in/ret.h5" --itm "$T/in/itm.h5" --images "$T/in/cxr.h5" --corpus "$T/in/corpus.h5"
    $PIPE_RES --k1 5 --k2 3 --k3 2 --nli "$PIPE_NLI" --batch 2 --threads 1)
OUTS="run.h5 reports.csv pred.csv"

# same R: R's outputs are byte-identical to the one-process run's
same() {
    local f d=""
    for f in $OUTS; do cmp -s "$T/one/$f" "$1/$f" || d="$d $f"; done
    echo "$d"
}

# ---- [np] ------------------------------------------------------------------------------------------------
"$BIN" "${RUN[@]}" --out "$T/one" 2>"$T/one.log" || { echo "FAIL: the one-process run: $(cat "$T/one.log")"; exit 1; }
for np in 2 3 8; do
    R="$T/np$np"
    if ! mpi "$np" "$BIN" "${RUN[@]}" --out "$R" >"$R.log" 2>&1; then
        fail "[np $np] exit non-zero: $(tail -5 "$R.log")"
        continue
    fi
    d=$(same "$R")
    nchunks=$(ls "$R/chunks" | grep -c '^chunk_[0-9]*\.h5$')
    extra=$(cd "$R" && ls -A | grep -v -x -e run.h5 -e reports.csv -e pred.csv -e chunks)
    wrote=$(grep -c "wrote" "$R.log")
    if [ -n "$d" ] || [ "$nchunks" != 6 ] || [ -n "$extra" ] || [ "$wrote" != 1 ]; then
        fail "[np $np] differs from 1 process:$d; $nchunks of 6 chunk files; extra files '$extra'; $wrote 'wrote' lines"
    else
        echo "ok   [np $np] run.h5, reports.csv, pred.csv byte-identical to 1 process; 6 chunk files; one 'wrote' line"
    fi
done
# the comparison can fail: the files hold 12 real rows
[ "$(wc -l <"$T/one/pred.csv")" = 13 ] || fail "[np] the one-process pred.csv has $(wc -l <"$T/one/pred.csv") lines, want 13"

# ---- [fail] ----------------------------------------------------------------------------------------------
# chunk 3 belongs to rank 1 under -np 2; its path is a directory, so that rank's write fails
R="$T/fail"
mkdir -p "$R/chunks/chunk_000003.h5"
mpi 2 "$BIN" "${RUN[@]}" --out "$R" >"$R.log" 2>&1
rc=$?
nmsg=$(grep -c "^xrem run: " "$R.log")
if [ $rc -eq 0 ] || ! grep -q "^xrem run: rank 1 of 2: .*chunk_000003.h5" "$R.log" || [ "$nmsg" != 1 ]; then
    fail "[fail] exit $rc, $nmsg 'xrem run:' lines, want one naming rank 1 and chunk_000003.h5: $(tail -5 "$R.log")"
elif [ -e "$R/run.h5" ] || [ -e "$R/reports.csv" ] || [ -e "$R/pred.csv" ]; then
    fail "[fail] a failed run wrote its outputs: $(ls "$R")"
else
    echo "ok   [fail] exit $rc: '$(grep '^xrem run: ' "$R.log" | head -c 160)'; no outputs"
fi

# ---- [resume] --------------------------------------------------------------------------------------------
R="$T/resume"
mpi 2 "$BIN" "${RUN[@]}" --out "$R" >"$R.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
    [ -e "$R/chunks/chunk_000000.h5" ] && break
    sleep 0.05
done
kill -TERM $pid 2>/dev/null
wait $pid
rc=$?
before=$(ls "$R/chunks" 2>/dev/null | grep -c '^chunk_[0-9]*\.h5$')
if [ $rc -eq 0 ] && [ -e "$R/pred.csv" ]; then
    echo "note [resume] the job finished before SIGTERM reached it: --resume then reuses every chunk"
fi
if ! mpi 3 "$BIN" "${RUN[@]}" --out "$R" --resume >"$R.resume.log" 2>&1; then
    fail "[resume] --resume under -np 3: $(tail -5 "$R.resume.log")"
else
    d=$(same "$R")
    left=$(cd "$R" && ls -A . chunks | grep '\.tmp\.')
    if [ -n "$d" ] || [ -n "$left" ]; then
        fail "[resume] after --resume: differs from 1 process:$d; temporaries left: $left"
    else
        echo "ok   [resume] stopped (exit $rc) with $before of 6 chunks; --resume -np 3: byte-identical, no temporaries"
    fi
fi

# ---- [other] ---------------------------------------------------------------------------------------------
mpi 2 "$BIN" embed --weights "$T/in/ret.h5" --corpus "$T/in/corpus.csv" --out "$T/emb.h5" >"$T/emb.log" 2>&1
rc=$?
if [ $rc -eq 0 ] || [ -e "$T/emb.h5" ] || ! grep -q "only 'xrem run' runs under MPI" "$T/emb.log"; then
    fail "[other] embed under mpirun: exit $rc: $(tail -3 "$T/emb.log")"
else
    echo "ok   [other] embed under mpirun refused (exit $rc)"
fi

[ "$fails" = 0 ] && echo "test_mpi_run: ok" || echo "test_mpi_run: $fails failure(s)"
[ "$fails" = 0 ]
