#!/usr/bin/env bash
# A full disk during every writing command (prep, prep --cache, embed, run, eval, sweep).
# The ENOSPC shim (tests/shim_enospc.c, built as $XREM_BUILD_DIR/libxrem_shim_enospc.so) is preloaded
# and makes writes to the files under one output path fail after a byte budget; budgets go from 0
# (the create itself fails) to one byte less than a good run writes (measured through the shim), so
# the failure lands in the create, the datasets, the final HDF5 flush/close and the CSV/JSON/MD writers. For each budget the command must:
# exit non-zero without a crash (exit < 128, no sanitizer report), name the output in its message,
# leave a previous good output byte-identical (or, for a fresh run, no final-named output at all),
# and leave no temporary (*.tmp*). A run stopped by the full disk then finishes with --resume to the
# outputs of an uninterrupted run.
# A sanitised xrem loads its sanitizer runtime first, so that is preloaded in front of the shim.
# HDF5 1.10 leaks its metadata accumulator when the first flush of H5Fcreate fails (H5F__dest): that
# one leak is suppressed for LeakSanitizer. Skips (77) without the shared data, without the shim, or
# where a preloaded library cannot intercept writes (e.g. a statically linked binary).
set -u
BIN=${XREM_BIN:-}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    echo "SKIP: \$XREM_BIN is not an executable xrem (got '$BIN')"
    exit 77
fi
SHIM="${XREM_BUILD_DIR:-$(dirname "$BIN")}/libxrem_shim_enospc.so"
if [ ! -f "$SHIM" ]; then
    echo "SKIP: $SHIM is not built (the shim needs Linux and gcc or clang)"
    exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/xrem_diskfull.XXXXXX")
[ -n "${XREM_KEEP_TMP:-}" ] && echo "keeping $T" || trap 'rm -rf "$T"' EXIT
. "$ROOT/tests/pipeline_inputs.sh"
pipeline_data || exit $?
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# The shim must work here at all: dd writing a watched file fails.
if echo x | env LD_PRELOAD="$SHIM" XREM_SHIM_MATCH="$T/probe" XREM_SHIM_AFTER=0 dd of="$T/probe" status=none 2>/dev/null; then
    echo "SKIP: the preloaded shim does not intercept writes on this system"
    exit 77
fi
if ! ldd "$BIN" >/dev/null 2>&1; then
    echo "SKIP: $BIN is not dynamically linked, so LD_PRELOAD cannot reach its writes"
    exit 77
fi
PRE="$SHIM"
for rt in libasan libtsan; do
    lib=$(ldd "$BIN" | awk -v n="$rt" 'index($1, n) == 1 {print $3}')
    [ -n "$lib" ] && PRE="$lib $SHIM"
done
printf 'leak:H5F__dest\n' >"$T/lsan.supp"
# libhdf5 has no frame pointers: the slow unwinder gives LeakSanitizer the stack the suppression needs.
SAN_ENV="ASAN_OPTIONS=fast_unwind_on_malloc=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}
 LSAN_OPTIONS=suppressions=$T/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

# ---- inputs and good outputs ---------------------------------------------------------------------------
NLI="$ROOT/tests/golden/nli_small.weights.h5"
mkdir -p "$T/in" "$T/mimic/files/p10"
"$BIN" dev random-weights --arch albef_retrieval --preset small --vocab "$VOCAB" --seed 11 --out "$T/in/ret.h5" 2>/dev/null &&
    "$BIN" dev random-weights --arch albef_itm --preset small --vocab "$VOCAB" --seed 15 --out "$T/in/itm.h5" 2>/dev/null &&
    "$BIN" dev synth-images --n 6 --seed 7 --out "$T/in/cxr.h5" 2>/dev/null &&
    "$BIN" dev iu-reports --tgz "$TGZ" --corpus "$T/in/corpus.csv" --gt "$T/in/gt.csv" --test-every 10 \
        --corpus-max 80 2>/dev/null || { echo "FAIL: could not make the inputs"; exit 1; }
echo "dicom_id,study_id,subject_id,split" >"$T/mimic/split.csv"
k=0
for img in portrait_gray.jpg landscape_gray.jpg tiny_gray.jpg; do
    k=$((k + 1))
    d="$T/mimic/files/p10/p1000000$k/s5000000$k"
    mkdir -p "$d"
    cp "$ROOT/tests/golden/prep/$img" "$d/dicom$k.jpg"
    echo "dicom$k,5000000$k,1000000$k,test" >>"$T/mimic/split.csv"
done
RUN_ARGS="--retrieval $T/in/ret.h5 --itm $T/in/itm.h5 --images $T/in/cxr.h5 --corpus $T/in/corpus.h5
 --res-retrieval 32 --res-itm 48 --k1 5 --k2 3 --filter none --batch 2"
# name  output path (file or folder)  command line (word-split; no spaces in $T)
CMDS="prep|$T/prep/cxr.h5|prep --jpg-root $T/mimic --split $T/mimic/split.csv --out $T/prep/cxr.h5
cache|$T/cache/cache.h5|prep --cache $T/in/cxr.h5 --out $T/cache/cache.h5 --res 32,48
embed|$T/embed/corpus.h5|embed --weights $T/in/ret.h5 --corpus $T/in/corpus.csv --out $T/embed/corpus.h5
eval|$T/eval|eval --gt $T/in/gt.csv --pred $T/in/gt.csv --out $T/eval --bootstrap 20
sweep|$T/sweep|sweep --run $T/run --k1 3,5 --k2 1,2 --k3 1 --gt $T/in/gt.csv --nli $NLI --out $T/sweep"
mkdir -p "$T/prep" "$T/cache" "$T/embed"
# shellcheck disable=SC2086
"$BIN" embed --weights "$T/in/ret.h5" --corpus "$T/in/corpus.csv" --out "$T/in/corpus.h5" >/dev/null 2>&1 &&
    "$BIN" run $RUN_ARGS --out "$T/run" >/dev/null 2>&1 || { echo "FAIL: could not make the good run"; exit 1; }

# snapshot DIR_OR_FILE: sha256 of every file under it, by name
snapshot() { (find "$1" -type f -print0 2>/dev/null | sort -z | xargs -0 -r sha256sum); }
# budgets N: where a run writing N bytes meets the full disk. The last is 100 bytes short of the end
# (eval's summary.json holds timings, so its size varies by a few bytes from run to run).
budgets() { echo 0 $(($1 / 10)) $(($1 / 2)) $(($1 > 1000 ? $1 - 100 : $1 * 9 / 10)); }
# measure OUT CMD...: run CMD with the shim watching OUT and no limit; print the bytes it wrote there
measure() {
    local out=$1
    shift
    rm -f "$T/measure"
    # shellcheck disable=SC2086
    env $SAN_ENV LD_PRELOAD="$PRE" XREM_SHIM_MATCH="$out" XREM_SHIM_AFTER=1000000000000 XREM_SHIM_REPORT="$T/measure" \
        "$BIN" "$@" >"$T/measure.log" 2>&1 || { echo "FAIL: $* under the shim without a limit: $(tail -3 "$T/measure.log")" >&2; echo 0; return; }
    tail -1 "$T/measure" | cut -d' ' -f2
}
leftovers() { # temporaries under a folder, or next to a file
    if [ -d "$1" ]; then find "$1" -name '*.tmp*'; else find "$(dirname "$1")" -maxdepth 1 -name "$(basename "$1")*.tmp*"; fi 2>/dev/null
}

# full NAME OUT BUDGET CMD...: one command under a full disk; OUT must end as snapshot $T/$NAME.snap
# (when that file exists)
full() {
    local name=$1 out=$2 budget=$3
    shift 3
    local log="$T/$name.$budget.log"
    # shellcheck disable=SC2086
    env $SAN_ENV LD_PRELOAD="$PRE" XREM_SHIM_MATCH="$out" XREM_SHIM_AFTER="$budget" "$BIN" "$@" >"$log" 2>&1
    local rc=$? why=""
    [ $rc -eq 0 ] && why="exit 0 on a full disk"
    [ $rc -ge 128 ] && why="crashed (exit $rc)"
    grep -q 'Sanitizer' "$log" && why="$why; sanitizer report"
    grep -qF -- "$out" "$log" || why="$why; the message does not name $out"
    [ -n "$(leftovers "$out")" ] && why="$why; left $(leftovers "$out" | tr '\n' ' ')"
    if [ -f "$T/$name.snap" ]; then snapshot "$out" | cmp -s - "$T/$name.snap" || why="$why; the previous output changed"; fi
    if [ -n "$why" ]; then
        fail "[$name, $budget bytes] ${why#; }: $(tail -5 "$log")"
    else
        echo "ok   [$name, $budget bytes] exit $rc: $(grep -F -- "$out" "$log" | tail -1)"
    fi
}

while IFS='|' read -r name out cmd; do
    # shellcheck disable=SC2086
    "$BIN" $cmd >"$T/$name.good.log" 2>&1 || { fail "[$name] the good run failed: $(tail -3 "$T/$name.good.log")"; continue; }
    # shellcheck disable=SC2086
    n=$(measure "$out" $cmd)
    [ "$n" -gt 0 ] || { fail "[$name] the shim saw no writes to $out"; continue; }
    snapshot "$out" >"$T/$name.snap"
    for b in $(budgets "$n"); do
        # shellcheck disable=SC2086
        full "$name" "$out" "$b" $cmd
    done
done <<<"$CMDS"

# ---- run: a fresh run stopped by a full disk leaves no partial final-named output; --resume finishes it --
# run.c writes and closes both CSVs under temporary names, then writes run.h5, then renames the CSVs: a
# full disk leaves none of the three or all three (then complete).
# shellcheck disable=SC2086
n=$(measure "$T/run_measure" run $RUN_ARGS --out "$T/run_measure")
[ "$n" -gt 0 ] || fail "[run] the shim saw no writes to $T/run_measure"
for b in $(budgets "$n"); do
    out="$T/run_$b"
    # shellcheck disable=SC2086
    full "run_$b" "$out" "$b" run $RUN_ARGS --out "$out"
    for f in pred.csv reports.csv; do
        [ -e "$out/$f" ] && ! cmp -s "$out/$f" "$T/run/$f" && fail "[run, $b bytes] $out/$f is not the complete output"
    done
    [ -e "$out/run.h5" ] && ! "$BIN" dev compare-run "$out/run.h5" "$T/run/run.h5" >/dev/null &&
        fail "[run, $b bytes] $out/run.h5 is not the complete output"
    made=$(for f in run.h5 reports.csv pred.csv; do [ -e "$out/$f" ] && echo "$f"; done | tr '\n' ' ')
    case "$made" in "" | "run.h5 reports.csv pred.csv ") ;; *) fail "[run, $b bytes] only some outputs appeared: $made" ;; esac
done
out="$T/run_$((n / 2))"
# shellcheck disable=SC2086
if ! "$BIN" run $RUN_ARGS --out "$out" --resume >"$T/resume.log" 2>&1; then
    fail "[run] --resume after the full disk failed: $(tail -3 "$T/resume.log")"
else
    cmp -s "$out/pred.csv" "$T/run/pred.csv" || fail "[run] --resume after the full disk: pred.csv differs"
    cmp -s "$out/reports.csv" "$T/run/reports.csv" || fail "[run] --resume after the full disk: reports.csv differs"
    "$BIN" dev compare-run "$out/run.h5" "$T/run/run.h5" >"$T/cmp.txt" || fail "[run] --resume: run.h5 differs: $(cat "$T/cmp.txt")"
    echo "ok   [run] --resume after a full disk gives the outputs of an uninterrupted run"
fi
# --resume on the finished run with a full disk: its outputs stay as they were
cp -r "$T/run" "$T/run_keep"
# shellcheck disable=SC2086
env $SAN_ENV LD_PRELOAD="$PRE" XREM_SHIM_MATCH="$T/run/" XREM_SHIM_AFTER=0 "$BIN" run $RUN_ARGS --out "$T/run" --resume >"$T/rr.log" 2>&1
rc=$?
if [ $rc -ge 128 ] || grep -q Sanitizer "$T/rr.log"; then fail "[run --resume, full disk] crashed (exit $rc): $(tail -5 "$T/rr.log")"; fi
[ $rc -ne 0 ] && ! grep -qF "$T/run" "$T/rr.log" && fail "[run --resume, full disk] exit $rc without naming the file: $(cat "$T/rr.log")"
for f in pred.csv reports.csv; do cmp -s "$T/run/$f" "$T/run_keep/$f" || fail "[run --resume, full disk] $f changed"; done
"$BIN" dev compare-run "$T/run/run.h5" "$T/run_keep/run.h5" >/dev/null || fail "[run --resume, full disk] run.h5 changed"
[ -n "$(find "$T/run" -name '*.tmp*')" ] && fail "[run --resume, full disk] left $(find "$T/run" -name '*.tmp*')"
echo "ok   [run --resume on a finished run, full disk] exit $rc, outputs unchanged"

if [ $fails -ne 0 ]; then
    echo "$fails failure(s)"
    exit 1
fi
echo "all disk-full checks passed"
