#!/usr/bin/env bash
# Progress lines come from the CLI, not the library: with stderr a terminal (util-linux `script` gives
# the command a pseudo-terminal) `xrem embed`, `prep --cache`, `run` and `sweep` draw
# "xrem CMD: done/total UNIT" rewritten in place ending at total/total, then a newline; with stderr a
# file there is no progress line at all (nor a carriage return). The library reports through
# xrem_progress (include/xrem/progress.h). Skips (77) without the shared data or without `script`.
set -u
BIN=${XREM_BIN:-}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    echo "SKIP: \$XREM_BIN is not an executable xrem (got '$BIN')"
    exit 77
fi
command -v script >/dev/null || { echo "SKIP: no util-linux script to give a pseudo-terminal"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/xrem_progress.XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$ROOT/tests/pipeline_inputs.sh"
pipeline_data || exit $?
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

mkdir -p "$T/in"
"$BIN" dev random-weights --arch albef_retrieval --preset small --vocab "$VOCAB" --seed 11 --out "$T/in/ret.h5" 2>/dev/null &&
    "$BIN" dev random-weights --arch albef_itm --preset small --vocab "$VOCAB" --seed 15 --out "$T/in/itm.h5" 2>/dev/null &&
    "$BIN" dev synth-images --n 5 --seed 7 --out "$T/in/cxr.h5" 2>/dev/null &&
    "$BIN" dev iu-reports --tgz "$TGZ" --corpus "$T/in/corpus.csv" --gt "$T/in/gt.csv" --test-every 10 \
        --corpus-max 60 2>/dev/null || { echo "FAIL: could not make the inputs"; exit 1; }
NLI="$ROOT/tests/golden/nli_small.weights.h5"

# check NAME UNIT TOTAL CMD...: on a terminal the last progress state is TOTAL/TOTAL UNIT and the line
# is ended; into a file, no progress at all
check() {
    local name=$1 unit=$2 total=$3
    shift 3
    local q
    q=$(printf '%q ' "$@")
    # script copies the terminal's output (stdout and stderr) into the typescript file
    if ! script -qefc "$q 2>&1" "$T/$name.tty" >/dev/null 2>&1 </dev/null; then
        fail "$name on a terminal: exit non-zero: $(tr '\r' '\n' <"$T/$name.tty" | tail -3)"
        return
    fi
    local last
    last=$(tr '\r' '\n' <"$T/$name.tty" | grep -a "^xrem $name: [0-9]*/[0-9]* $unit" | tail -1)
    case "$last" in
    "xrem $name: $total/$total $unit"*) echo "ok: $name draws progress up to '$last'" ;;
    *) fail "$name on a terminal: last progress line '$last', want $total/$total $unit" ;;
    esac
    # the line holding the final state ends right after it (a pty writes \r\n for a newline): the
    # text after its last \r is that state alone, not followed by the command's next message
    local line seg re
    line=$(grep -a "$total/$total $unit" "$T/$name.tty" | tail -1)
    line=${line%$'\r'}
    seg=${line##*$'\r'}
    re="^xrem $name: $total/$total $unit( \([^)]*\))?$"
    [[ "$seg" =~ $re ]] || fail "$name: the progress line is not ended by a newline: '$seg'"
}
quiet() {
    local name=$1
    shift
    "$@" >/dev/null 2>"$T/$name.err" || { fail "$name into a file: exit non-zero: $(tail -2 "$T/$name.err")"; return; }
    if grep -aq $'\r' "$T/$name.err" || grep -aq "^xrem $name: [0-9]*/" "$T/$name.err"; then
        fail "$name draws progress into a file: $(head -c 200 "$T/$name.err")"
    else
        echo "ok: $name prints no progress into a file"
    fi
}
"$BIN" embed --weights "$T/in/ret.h5" --corpus "$T/in/corpus.csv" --out "$T/probe.h5" 2>"$T/n.log" >/dev/null
NREP=$(sed -n 's/^xrem embed: \([0-9]*\) reports.*/\1/p' "$T/n.log")
[ -n "$NREP" ] || fail "embed did not say how many reports it kept: $(cat "$T/n.log")"
check embed reports "$NREP" "$BIN" embed --weights "$T/in/ret.h5" --corpus "$T/in/corpus.csv" --out "$T/corpus.h5"
quiet embed "$BIN" embed --weights "$T/in/ret.h5" --corpus "$T/in/corpus.csv" --out "$T/corpus2.h5"
check "prep --cache" images 5 "$BIN" prep --cache "$T/in/cxr.h5" --out "$T/cache.h5" --res 32,48
RUN=(--retrieval "$T/in/ret.h5" --itm "$T/in/itm.h5" --images "$T/in/cxr.h5" --corpus "$T/corpus.h5"
    --res-retrieval 32 --res-itm 48 --k1 5 --k2 3 --filter none --batch 2)
check run images 5 "$BIN" run "${RUN[@]}" --out "$T/run"
quiet run "$BIN" run "${RUN[@]}" --out "$T/run2"
check sweep settings 4 "$BIN" sweep --run "$T/run" --k1 3,5 --k2 1,2 --k3 1 --gt "$T/in/gt.csv" --nli "$NLI" --out "$T/sweep"
[ "$fails" = 0 ] && echo "test_progress: ok" || echo "test_progress: $fails failure(s)"
[ "$fails" = 0 ]
