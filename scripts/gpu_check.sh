#!/usr/bin/env bash
# GPU check: build xrem with the CUDA backend (Release, sm_90 for the H100/H200) in build-gpu/, run
# the GPU tests (ctest -L gpu: every CUDA op against the CPU backend, the model goldens on CUDA),
# time each op and run the forward benches on the CUDA backend; print a summary table. Made for the
# device machine (no apt, no network, no HDF5/OpenBLAS/libjpeg/libpng development files): the
# dependencies come from the bundle that scripts/gpu_bundle.sh makes here.
#
# The device call (one call, about 7 minutes, leaving device time for one rerun):
#   1. here, once per bundle:   bash scripts/gpu_bundle.sh        (writes .gpudeps/, .gpudeps.tar.xz)
#   2. device tool `run` with
#        command:   bash scripts/gpu_check.sh
#        carry:     [".gpudeps.tar.xz"]
#        timeout_s: 480
#   3. read summary.txt (and logs.tgz) from the files that come back.
# A rerun of some stages only, on the same warm machine (the build is kept there):
#        command:   STAGES="ctest ops" bash scripts/gpu_check.sh
#
# Stages (STAGES="..." runs only these, in this order; default: all but memcheck), each with its own
# timeout, all within XREM_GPU_CHECK_BUDGET seconds (default 420); a stage out of time is reported
# as "timeout" and the script goes on:
#   configure  unpack .gpudeps.tar.xz into .gpudeps/ when needed; cmake with -DXREM_DEPS=.gpudeps
#              (without a bundle: the system's packages, as on a development machine)
#   build      xrem and the tests/test_gpu_* executables only
#   deps       ldd of what was built: every library resolves, from .gpudeps when it is used
#   ctest      ctest -L gpu (a test that skips while a GPU is present counts as a failure)
#   ops        XREM_GPU_BENCH=1 test_gpu_ops: time per op
#   bench      xrem bench vit/itm/bert on CUDA, vit on the CPU for the ratio
#   memcheck   compute-sanitizer memcheck over test_gpu_ops (opt-in: STAGES="... memcheck")
# Without a GPU (nvidia-smi finds none) the GPU stages are reported as skipped: that is the rehearsal
# here, which must configure and build from .gpudeps alone.
#
# Output: the table on stdout; with $OUT set (the device tool), $OUT/summary.txt and $OUT/logs.tgz
# (every stage's log), else both in $BUILD/gpu_check/. Exit status: 0 when every stage that ran
# passed. Environment: XREM_CUDA_ARCH (default 90), XREM_GPU_BUILD (default build-gpu),
# XREM_COMMIT (recorded in the summary when the tree has no .git), XREM_GPU_NO_LDPATH=1 (see below).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
ROOT=$PWD

START=$(date +%s)
BUDGET=${XREM_GPU_CHECK_BUDGET:-420}
BUILD=${XREM_GPU_BUILD:-build-gpu}
ARCH=${XREM_CUDA_ARCH:-90}
STAGES=" ${STAGES:-configure build deps ctest ops bench} "
DEPS=$ROOT/.gpudeps
LOGS=$ROOT/$BUILD/gpu_check
mkdir -p "$LOGS"
rm -f "$LOGS"/*.log
[ -d /usr/local/cuda/bin ] && export PATH="$PATH:/usr/local/cuda/bin"

SUMMARY=()
FAILED=0
elapsed() { echo $(($(date +%s) - START)); }
left() {
  local l=$((BUDGET - $(elapsed)))
  echo $((l > 0 ? l : 0))
}
log() { echo "[gpu_check $(elapsed)s] $*" >&2; }
STOP=0 # set when a stage leaves nothing for the later ones to run
want() { [ "$STOP" = 0 ] && [[ $STAGES == *" $1 "* ]]; }
# record NAME STATUS SECONDS DETAIL
record() {
  SUMMARY+=("$(printf '%-18s %-9s %5ss  %s' "$1" "$2" "$3" "$4")")
  case "$2" in ok | skipped) ;; *) FAILED=1 ;; esac
}
# step NAME MAX_SECONDS LOGFILE CMD...: run with a timeout (capped by what is left of the budget),
# never aborting the script; sets STEP_RC and STEP_S.
step() {
  local name=$1 max=$2 logf=$3
  shift 3
  local t t0
  t=$(left)
  [ "$t" -gt "$max" ] && t=$max
  STEP_S=0
  if [ "$t" -lt 5 ]; then
    STEP_RC=124
    log "$name: no time left"
    return 0
  fi
  log "$name (up to ${t}s): $*"
  t0=$(date +%s)
  timeout --kill-after=10 "$t" "$@" >"$logf" 2>&1
  STEP_RC=$?
  STEP_S=$(($(date +%s) - t0))
}
status_of() { # rc -> word
  case "$1" in 0) echo ok ;; 77) echo skipped ;; 124 | 137) echo timeout ;; *) echo "FAIL($1)" ;; esac
}

# --- the machine ------------------------------------------------------------------------------------
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo "${XREM_COMMIT:-unknown}")
{
  echo "== gpu_check: commit $COMMIT, $(date -u '+%F %T') UTC, $(uname -m), $(nproc) cores"
  GPU_NAME=$(nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>/dev/null |
    head -n 1)
  echo "GPU: ${GPU_NAME:-none (nvidia-smi found no GPU)}"
  if command -v nvcc >/dev/null; then echo "nvcc: $(nvcc --version | tail -n 1)"; else echo "nvcc: not on PATH"; fi
  echo "cmake: $(cmake --version | head -n 1); cc: $(cc --version 2>/dev/null | head -n 1)"
  echo "glibc: $(ldd --version 2>/dev/null | head -n 1 | awk '{print $NF}')"
} >"$LOGS/machine.log" 2>&1
cat "$LOGS/machine.log"
HAVE_GPU=0
nvidia-smi -L >/dev/null 2>&1 && HAVE_GPU=1

# --- configure: the carried bundle, else the system's packages ----------------------------------------
if want configure; then
  if [ ! -d "$DEPS/lib" ] && [ -f .gpudeps.tar.xz ]; then
    step unpack 60 "$LOGS/unpack.log" bash -c 'tar -xJf .gpudeps.tar.xz || python3 -m tarfile -e .gpudeps.tar.xz .'
    record unpack "$(status_of "$STEP_RC")" "$STEP_S" ".gpudeps.tar.xz -> .gpudeps/"
  fi
  CONF=(cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DXREM_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$ARCH")
  if [ -d "$DEPS/lib" ]; then
    CONF+=(-DXREM_DEPS="$DEPS")
    from=".gpudeps"
  else
    CONF+=(-DXREM_DEPS=)
    from="system packages (no .gpudeps: run scripts/gpu_bundle.sh for the device)"
  fi
  [ ! -f "$BUILD/CMakeCache.txt" ] && command -v ninja >/dev/null && CONF+=(-G Ninja)
  step configure 120 "$LOGS/configure.log" "${CONF[@]}"
  record configure "$(status_of "$STEP_RC")" "$STEP_S" "sm_$ARCH, $BUILD, deps from $from"
  if [ "$STEP_RC" -ne 0 ]; then
    tail -n 30 "$LOGS/configure.log"
    STOP=1
  elif ! grep -q "xrem: CUDA backend ON" "$LOGS/configure.log"; then
    log "warning: configure did not report the CUDA backend"
  fi
fi
# --- build: only what the stages below run ------------------------------------------------------------
GPU_TESTS=()
for f in tests/test_gpu_*.c; do [ -e "$f" ] && GPU_TESTS+=("$(basename "$f" .c)"); done
if want build; then
  step build 240 "$LOGS/build.log" cmake --build "$BUILD" -j"$(nproc)" --target xrem "${GPU_TESTS[@]}"
  record build "$(status_of "$STEP_RC")" "$STEP_S" \
    "xrem + ${#GPU_TESTS[@]} gpu tests, $(grep -c -i 'warning' "$LOGS/build.log") warning lines"
  if [ "$STEP_RC" -ne 0 ]; then
    grep -E -i -B2 -A6 'error' "$LOGS/build.log" | head -n 60 || tail -n 40 "$LOGS/build.log"
    STOP=1
  fi
fi

# What runs from here on finds the bundle's libraries (the compilers above ran without them). The
# binaries also carry the bundle as their DT_RPATH (CMake, XREM_DEPS), which covers libhdf5's own
# dependencies; XREM_GPU_NO_LDPATH=1 leaves LD_LIBRARY_PATH alone (should the image's ctest clash
# with a bundled library).
if [ -d "$DEPS/lib" ] && [ "${XREM_GPU_NO_LDPATH:-0}" != 1 ]; then
  export LD_LIBRARY_PATH="$DEPS/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

# --- deps: every library of what was built resolves (from .gpudeps when it is used) ---------------------
if want deps; then
  (
    bad=0
    for exe in "$BUILD/xrem" "${GPU_TESTS[@]/#/$BUILD/}"; do
      [ -x "$exe" ] || continue
      echo "== ldd $exe"
      ldd "$exe" | tee "$LOGS/ldd.tmp"
      grep -q 'not found' "$LOGS/ldd.tmp" && bad=1
      if [ -d "$DEPS/lib" ]; then
        # the bundled sonames must come from the bundle, not from the image
        for lib in "$DEPS"/lib/*; do
          so=${lib##*/}
          if grep -E "^\s*$so => " "$LOGS/ldd.tmp" | grep -v -q -F "$DEPS/lib/"; then
            echo "!! $so resolves outside $DEPS/lib"
            bad=1
          fi
        done
      fi
    done
    rm -f "$LOGS/ldd.tmp"
    exit $bad
  ) >"$LOGS/deps.log" 2>&1
  rc=$?
  detail=$(grep -c '=>' "$LOGS/deps.log") # ldd lines
  if [ "$rc" -ne 0 ]; then grep -E 'not found|!!' "$LOGS/deps.log" | sort -u | head -n 10; fi
  record deps "$(status_of "$rc")" 0 "$detail ldd lines, $(grep -c -E 'not found|!!' "$LOGS/deps.log") problems"
fi

# --- GPU tests ---------------------------------------------------------------------------------------------
if want ctest; then
  step "ctest -L gpu" 150 "$LOGS/ctest.log" ctest --test-dir "$BUILD" -L gpu --output-on-failure --timeout 120
  grep -E 'Test +#|tests passed|tests failed|SKIP' "$LOGS/ctest.log"
  detail=$(grep -E 'tests passed|tests failed' "$LOGS/ctest.log" | tail -n 1)
  if [ "$HAVE_GPU" = 0 ]; then
    record "ctest -L gpu" skipped "$STEP_S" "no GPU here: $detail"
  elif [ "$STEP_RC" -eq 0 ] && grep -q 'Skipped' "$LOGS/ctest.log"; then
    record "ctest -L gpu" SKIPPED "$STEP_S" "a GPU test skipped although a GPU is present: $detail"
  else
    record "ctest -L gpu" "$(status_of "$STEP_RC")" "$STEP_S" "$detail"
  fi
fi

# --- per-op timing ---------------------------------------------------------------------------------------------
if want ops; then
  if [ "$HAVE_GPU" = 0 ]; then
    record "op timing" skipped 0 "no GPU here"
  else
    step "op timing" 60 "$LOGS/ops.log" env XREM_GPU_BENCH=1 "$BUILD/test_gpu_ops"
    echo "== op timing (XREM_GPU_BENCH=1 test_gpu_ops)"
    cat "$LOGS/ops.log"
    st=$(status_of "$STEP_RC")
    [ "$st" = skipped ] && st=SKIPPED # a GPU is present: the CUDA backend should have been usable
    record "op timing" "$st" "$STEP_S" "$(tail -n 1 "$LOGS/ops.log")"
  fi
fi

# --- forward benches on the CUDA backend ---------------------------------------------------------------------
bench() { # NAME MAX ARGS...
  local name=$1 max=$2
  shift 2
  local logf="$LOGS/bench_${name// /_}.log"
  step "$name" "$max" "$logf" "$BUILD/xrem" bench "$@" --json
  local json rate
  json=$(grep '^{' "$logf" | tail -n 1)
  rate=$(sed -n 's/.*"\([a-z_]*_per_s\)":\([0-9.]*\).*/\2 \1/p' <<<"$json")
  [ "$STEP_RC" -ne 0 ] && rate="$(tail -n 2 "$logf" | tr '\n' ' ')"
  record "$name" "$(status_of "$STEP_RC")" "$STEP_S" "$rate"
  [ -n "$json" ] && echo "$json"
  return 0
}
if want bench; then
  if [ "$HAVE_GPU" = 0 ]; then
    record bench skipped 0 "no GPU here"
  else
    echo "== forward benches"
    bench "vit cuda" 60 vit --backend cuda --batch 8 --iters 5
    bench "itm cuda" 60 itm --backend cuda --iters 3
    bench "bert cuda" 45 bert --backend cuda --iters 5
    bench "vit cpu" 60 vit --backend cpu --batch 8 --iters 1
  fi
fi

# --- compute-sanitizer (opt-in) ----------------------------------------------------------------------------------
if want memcheck; then
  if [ "$HAVE_GPU" = 0 ] || ! command -v compute-sanitizer >/dev/null; then
    record memcheck skipped 0 "no GPU or no compute-sanitizer"
  else
    step memcheck 120 "$LOGS/memcheck.log" compute-sanitizer --tool memcheck --error-exitcode 9 "$BUILD/test_gpu_ops"
    record memcheck "$(status_of "$STEP_RC")" "$STEP_S" "$(grep -E 'ERROR SUMMARY' "$LOGS/memcheck.log" | tail -n 1)"
  fi
fi

# --- summary ------------------------------------------------------------------------------------------------------
{
  head -n 2 "$LOGS/machine.log"
  echo "stages:${STAGES% } ($(elapsed)s of ${BUDGET}s)"
  printf '%s\n' "${SUMMARY[@]}"
  echo "result: $([ "$FAILED" = 0 ] && echo ok || echo FAILED)$([ "$HAVE_GPU" = 0 ] && echo ' (no GPU: GPU stages skipped)')"
} >"$LOGS/summary.txt"
echo
echo "== gpu_check summary"
cat "$LOGS/summary.txt"
DEST=${OUT:-$LOGS}
mkdir -p "$DEST"
[ "$DEST" != "$LOGS" ] && cp "$LOGS/summary.txt" "$DEST/summary.txt"
tar -C "$LOGS" -czf "$DEST/logs.tgz" --exclude=logs.tgz . 2>/dev/null
echo "(summary.txt and logs.tgz in $DEST)"
exit "$FAILED"
