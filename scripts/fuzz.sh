#!/usr/bin/env bash
# Build the libFuzzer harnesses (tests/fuzz/fuzz_<target>.c) and run each for a bounded time.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 30 s, every target)
#
# Targets: csv wordpiece bpe pylower labeler weights images decode. Needs clang with libFuzzer
# (Debian: clang libclang-rt-dev libomp-dev; scripts/setup.sh installs them); exits 77 without.
# Environment:
#   XREM_FUZZ_BUILD  the clang build tree (default build-fuzz): -DXREM_FUZZ=ON, ASan + UBSan
#   XREM_FUZZ_WORK   corpus, crash artifacts, logs (default $XREM_FUZZ_BUILD/work); the corpus
#                    grows across runs: work/corpus/<target>
#   XREM_FUZZ_SEED   libFuzzer's -seed (default 1: a run is repeatable on the same binary)
#   XREM_FUZZ_JOBS   build parallelism (default 2)
# The seed corpus comes from the committed test inputs (scripts/fuzz_seeds.py), never shared data.
#
# One fuzzing process per target at a time (no -jobs/-workers). The targets that read files
# through libhdf5, libjpeg or libpng (weights, images, decode) run in libFuzzer's fork mode and
# go on after a crash, since those libraries crash on some corrupt files themselves. Every
# artifact is then replayed and triaged (work/findings.tsv):
#   ours     the failing frame is in xrem's code, a fuzz invariant failed, the memory involved
#            was allocated by xrem's code (a bad argument to the library), or the report cannot
#            be read: copied to work/regress-new/<target>/, to commit under tests/fuzz/regress/
#            <target>/ (tests/test_fuzz_regress.c replays them) once the bug is fixed
#   libhdf5, libjpeg, libpng, zlib   entirely inside that library: noted, not ours to fix
# Exit: 0 when nothing of ours was found, 1 when something was, 2 on a usage or build error,
# 77 when clang/libFuzzer is missing.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ALL_TARGETS=(csv wordpiece bpe pylower labeler weights images decode)
FORK_TARGETS=" weights images decode "

SECS="${1:-30}"
[ $# -gt 0 ] && shift
[[ "$SECS" =~ ^[0-9]+$ ]] && [ "$SECS" -ge 1 ] || { echo "fuzz.sh: SECONDS_PER_TARGET must be a positive integer, got '$SECS'" >&2; exit 2; }
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL_TARGETS[@]}")
for t in "${TARGETS[@]}"; do
  [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || { echo "fuzz.sh: unknown target '$t' (known: ${ALL_TARGETS[*]})" >&2; exit 2; }
done
BUILD="${XREM_FUZZ_BUILD:-$ROOT/build-fuzz}"
WORK="${XREM_FUZZ_WORK:-$BUILD/work}"
SEED="${XREM_FUZZ_SEED:-1}"
JOBS="${XREM_FUZZ_JOBS:-2}"
PY=/usr/bin/python3
[ -x "$PY" ] || PY="$(command -v python3 || true)"
[ -n "$PY" ] || { echo "fuzz.sh: skipped: no Python for scripts/fuzz_seeds.py" >&2; exit 77; }

# --- clang with libFuzzer? ---------------------------------------------------------------------
CLANG="$(command -v clang || true)"
probe_dir="$(mktemp -d)"
trap 'rm -rf "$probe_dir"' EXIT
if [ -z "$CLANG" ] ||
   ! printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' |
     "$CLANG" -x c - -fsanitize=fuzzer,address,undefined -o "$probe_dir/probe" 2>"$probe_dir/err"; then
  echo "fuzz.sh: skipped: no clang with libFuzzer (Debian: apt-get install clang libclang-rt-dev libomp-dev)" >&2
  [ -s "$probe_dir/err" ] && head -3 "$probe_dir/err" >&2
  exit 77
fi

# --- build -----------------------------------------------------------------------------------------
echo "fuzz.sh: building the harnesses in $BUILD" >&2
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_C_COMPILER="$CLANG" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXREM_FUZZ=ON \
  -DXREM_SANITIZE=OFF -DXREM_CUDA=OFF >"$probe_dir/cmake.log" 2>&1 || { cat "$probe_dir/cmake.log" >&2; exit 2; }
t0=$SECONDS
cmake --build "$BUILD" --target fuzzers -j "$JOBS" >"$probe_dir/build.log" 2>&1 || { tail -40 "$probe_dir/build.log" >&2; exit 2; }
echo "fuzz.sh: built in $((SECONDS - t0)) s" >&2

# --- seeds -----------------------------------------------------------------------------------------
mkdir -p "$WORK"
"$PY" "$ROOT/scripts/fuzz_seeds.py" "$WORK/seeds" >&2
TMPD="$(mktemp -d "$( [ -w /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")/xrem_fuzz.XXXXXX")"
trap 'rm -rf "$probe_dir" "$TMPD"' EXIT
export XREM_FUZZ_TMPDIR="$TMPD" XREM_SOURCE_DIR="$ROOT"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:symbolize=1:allocator_may_return_null=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# --- triage of one artifact: prints "verdict<TAB>kind<TAB>where<TAB>our caller" ------------------
triage() {
  local bin="$1" art="$2" log="$3"
  local rc=0
  timeout 120 "$bin" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 "$art" >"$log" 2>&1 || rc=$?
  # A fork-mode artifact that replays clean (e.g. the empty input saved after a child's crash elsewhere)
  # is no finding: say so instead of counting it as ours.
  if [ "$rc" -eq 0 ]; then printf 'not-reproducible\treplays clean\t-\t-\n'; return; fi
  awk -v root="$ROOT" '
    function owner(line) {
      if (line ~ /__interceptor_|__sanitizer|__asan|__ubsan|__lsan|fuzzer::|in (malloc|calloc|realloc|free|operator) /) return "runtime"
      if (line ~ /libhdf5/) return "libhdf5"
      if (line ~ /libjpeg/) return "libjpeg"
      if (line ~ /libpng/) return "libpng"
      if (line ~ /libz\.so/) return "zlib"
      if (index(line, root "/src/") || index(line, root "/eval/") || index(line, root "/tests/")) return "ours"
      return "runtime"   # libc, libgomp, ...: look further up the stack
    }
    function fn(line) {
      if (match(line, / in [^ ]+/)) return substr(line, RSTART + 4, RLENGTH - 4)
      if (match(line, /\([^ ()]+\+0x[0-9a-f]+\)/)) { s = substr(line, RSTART + 1, RLENGTH - 2); sub(/.*\//, "", s); return s }
      return "?"
    }
    /fuzz invariant failed/ { inv = 1; if (!what) what = $0 }
    /runtime error:/ { ub = 1; if (!what) what = $0; if (index($0, root "/")) ubours = 1 }
    /ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)/ { if (!kind) { kind = $0; sub(/.*ERROR: /, "", kind); sub(/ on address.*| on unknown.*|: memory ranges.*/, "", kind) } }
    /^ *#[0-9]+ 0x/ {
      if (!inblock) { nb++; inblock = 1; first[nb] = "" }
      o = owner($0)
      if (o == "ours" && !caller) caller = fn($0)
      if (first[nb] == "" && o != "runtime") { first[nb] = o; firstfn[nb] = fn($0) }
      next
    }
    { inblock = 0 }
    /Direct leak|Indirect leak/ { leak = 1 }
    END {
      if (!kind) kind = ub ? "undefined behaviour" : (inv ? "fuzz invariant" : "no report")
      if (inv) { v = "ours"; w = what }
      else if (ub) { v = ubours ? "ours" : (first[1] != "" ? first[1] : "ours"); w = what }
      else if (nb == 0) { v = "ours"; w = "no stack: read the log" }
      else if (leak) {
        v = ""; for (i = 1; i <= nb; i++) if (first[i] == "ours") v = "ours"
        if (!v) v = first[1] != "" ? first[1] : "ours"
        w = firstfn[1]
      } else {
        v = first[1] != "" ? first[1] : "ours"; w = firstfn[1]
        for (i = 2; i <= nb; i++) if (first[i] == "ours") { v = "ours"; w = w " (memory of " firstfn[i] ")" }
      }
      gsub(/\t/, " ", w)
      printf "%s\t%s\t%s\t%s\n", v, kind, w, caller ? caller : "-"
    }' "$log"
}

# --- run --------------------------------------------------------------------------------------------
: >"$WORK/findings.tsv.new"
ours=0
printf 'target\tseconds\texecs\tcorpus\tcrashes\tours\n' >"$WORK/summary.tsv"
for t in "${TARGETS[@]}"; do
  bin="$BUILD/fuzz_$t"
  corpus="$WORK/corpus/$t" arts="$WORK/artifacts/$t" log="$WORK/logs/$t.log"
  mkdir -p "$corpus" "$arts" "$WORK/logs"
  rm -f "$arts"/*
  regress=()
  [ -d "$ROOT/tests/fuzz/regress/$t" ] && regress=("$ROOT/tests/fuzz/regress/$t")
  flags=(-max_total_time="$SECS" -seed="$SEED" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 -print_final_stats=1
         -artifact_prefix="$arts/")
  [[ "$FORK_TARGETS" == *" $t "* ]] && flags+=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  echo "fuzz.sh: $t for $SECS s" >&2
  t1=$SECONDS
  "$bin" "${flags[@]}" "$corpus" "$WORK/seeds/$t" "${regress[@]}" >"$log" 2>&1 || true
  secs=$((SECONDS - t1))
  # executions: the last status line's #N (fork mode: "#N: cov: ..."; plain: "#N DONE" or stats)
  execs="$(grep -aoE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)"
  stat_runs="$(grep -aoE 'stat::number_of_executed_units: [0-9]+' "$log" | awk '{s += $2} END {if (NR) print s}' || true)"
  [ -n "$stat_runs" ] && [ -z "$execs" ] && execs="$stat_runs"
  ncrash=0 nours=0
  for a in "$arts"/*; do
    [ -f "$a" ] || continue
    ncrash=$((ncrash + 1))
    r="$(triage "$bin" "$a" "$a.log")"
    printf '%s\t%s\t%s\n' "$t" "$(basename "$a")" "$r" >>"$WORK/findings.tsv.new"
    case "$r" in ours*)
      nours=$((nours + 1))
      mkdir -p "$WORK/regress-new/$t"
      cp "$a" "$WORK/regress-new/$t/"
      echo "fuzz.sh: $t: OUR BUG: $(basename "$a"): ${r//$'\t'/ | } (replay: $bin $a)" >&2 ;;
    not-reproducible*) echo "fuzz.sh: $t: $(basename "$a") replays clean: not counted" >&2 ;;
    *) echo "fuzz.sh: $t: inside ${r%%$'\t'*}, noted: $(basename "$a"): $(echo "$r" | cut -f2,3 | tr '\t' ' ')" >&2 ;;
    esac
  done
  ours=$((ours + nours))
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$secs" "${execs:-?}" "$(ls "$corpus" | wc -l)" "$ncrash" "$nours" >>"$WORK/summary.tsv"
done
{ printf 'target\tartifact\tverdict\tkind\twhere\tour caller\n'; cat "$WORK/findings.tsv.new"; } >"$WORK/findings.tsv"
rm -f "$WORK/findings.tsv.new"
column -t -s $'\t' "$WORK/summary.tsv" >&2 || cat "$WORK/summary.tsv" >&2
if [ "$ours" -gt 0 ]; then
  echo "fuzz.sh: $ours input(s) crash xrem's own code: $WORK/regress-new/ (triage: $WORK/findings.tsv)" >&2
  exit 1
fi
echo "fuzz.sh: nothing of ours found ($WORK/findings.tsv lists what the libraries did)" >&2
