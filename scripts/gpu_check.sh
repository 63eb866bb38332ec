#!/usr/bin/env bash
# GPU check: on a machine with an NVIDIA GPU (an H200 by default: sm_90), build xrem with the CUDA
# backend in build-gpu/ (Release), run the GPU tests (ctest -L gpu: every CUDA op against the CPU
# backend), time each op, run the forward benches on the CUDA backend, and print a summary table.
# Everything is bounded to about 8 minutes in all; a step that runs out of time is reported as
# "timeout" and the script goes on. Exit status: 0 when every step that ran passed.
#
#   bash scripts/gpu_check.sh                  # from anywhere inside the repository
#   XREM_CUDA_ARCH=100 bash scripts/gpu_check.sh   # another GPU generation
#
# Missing build dependencies are installed with scripts/setup.sh (without PyTorch) only when the
# first configure fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

START=$(date +%s)
BUDGET=${XREM_GPU_CHECK_BUDGET:-480} # seconds for the whole script
BUILD=${XREM_GPU_BUILD:-build-gpu}
ARCH=${XREM_CUDA_ARCH:-90}
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/xrem-gpu-check.XXXXXX")
[ -d /usr/local/cuda/bin ] && export PATH="$PATH:/usr/local/cuda/bin"

SUMMARY=()
FAILED=0
elapsed() { echo $(($(date +%s) - START)); }
left() { local l=$((BUDGET - $(elapsed))); echo $((l > 0 ? l : 0)); }
log() { echo "[gpu_check $(elapsed)s] $*" >&2; }
# record NAME STATUS SECONDS DETAIL
record() {
  SUMMARY+=("$(printf '%-22s %-8s %6ss  %s' "$1" "$2" "$3" "$4")")
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
  if [ "$t" -lt 5 ]; then
    STEP_RC=124 STEP_S=0
    log "$name: no time left"
    return 0
  fi
  log "$name (up to ${t}s): $*"
  t0=$(date +%s)
  set +e
  timeout --kill-after=10 "$t" "$@" >"$logf" 2>&1
  STEP_RC=$?
  set -e
  STEP_S=$(($(date +%s) - t0))
}
status_of() { # rc -> word
  case "$1" in 0) echo ok ;; 77) echo skipped ;; 124 | 137) echo timeout ;; *) echo "FAIL($1)" ;; esac
}

echo "== GPUs"
nvidia-smi -L || log "nvidia-smi -L failed (no driver?)"
nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>/dev/null || true
if command -v nvcc >/dev/null; then nvcc --version | tail -n 2; else log "nvcc not on PATH"; fi

# --- configure (installing dependencies only if the first attempt fails) ------------------------
CONF=(cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DXREM_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$ARCH")
step configure 120 "$LOGS/configure.log" "${CONF[@]}"
if [ "$STEP_RC" -ne 0 ] && [ -f scripts/setup.sh ]; then
  log "configure failed; running scripts/setup.sh (without PyTorch) and retrying"
  step setup 240 "$LOGS/setup.log" env XREM_SETUP_NO_TORCH=1 bash scripts/setup.sh || true
  tail -n 5 "$LOGS/setup.log" >&2 || true
  step configure 120 "$LOGS/configure.log" "${CONF[@]}"
fi
record configure "$(status_of "$STEP_RC")" "$STEP_S" "sm_$ARCH, $BUILD"
if [ "$STEP_RC" -ne 0 ]; then
  tail -n 30 "$LOGS/configure.log"
else
  grep -q "xrem: CUDA backend ON" "$LOGS/configure.log" || log "warning: configure did not report the CUDA backend"

  # --- build ----------------------------------------------------------------------------------------
  step build 300 "$LOGS/build.log" cmake --build "$BUILD" -j"$(nproc)"
  record build "$(status_of "$STEP_RC")" "$STEP_S" "$(grep -c -i 'warning' "$LOGS/build.log" || true) warning lines"
  if [ "$STEP_RC" -ne 0 ]; then
    grep -E -i -B2 -A6 'error' "$LOGS/build.log" | head -n 60 || tail -n 40 "$LOGS/build.log"
  else
    # --- GPU tests --------------------------------------------------------------------------------
    step "ctest -L gpu" 180 "$LOGS/ctest.log" ctest --test-dir "$BUILD" -L gpu --output-on-failure
    cat "$LOGS/ctest.log"
    detail=$(grep -E 'tests passed|tests failed' "$LOGS/ctest.log" | tail -n 1 || true)
    # a skipped test means no usable GPU: that is a failure of this script's purpose
    if [ "$STEP_RC" -eq 0 ] && grep -q '(Skipped)' "$LOGS/ctest.log"; then
      record "ctest -L gpu" "SKIPPED" "$STEP_S" "a GPU test skipped: no usable device? ${detail}"
    else
      record "ctest -L gpu" "$(status_of "$STEP_RC")" "$STEP_S" "$detail"
    fi

    # --- per-op timing ------------------------------------------------------------------------------
    if [ -x "$BUILD/test_gpu_ops" ]; then
      step "op timing" 90 "$LOGS/ops.log" env XREM_GPU_BENCH=1 "$BUILD/test_gpu_ops"
      echo "== op timing (XREM_GPU_BENCH=1 test_gpu_ops)"
      cat "$LOGS/ops.log"
      record "op timing" "$(status_of "$STEP_RC")" "$STEP_S" "$(tail -n 1 "$LOGS/ops.log")"
    fi

    # --- forward benches on the CUDA backend ----------------------------------------------------------
    usage=$("$BUILD/xrem" bench 2>&1 || true)
    if [ -x "$BUILD/xrem" ] && [[ $usage == *"bench vit"* ]]; then
      bench() { # NAME MAX ARGS...
        local name=$1 max=$2
        shift 2
        step "$name" "$max" "$LOGS/$name.log" "$BUILD/xrem" bench "$@" --json
        local json
        json=$(grep '^{' "$LOGS/$name.log" | tail -n 1 || true)
        local rate
        rate=$(sed -n 's/.*"\([a-z_]*_per_s\)":\([0-9.]*\).*/\2 \1/p' <<<"$json")
        if [ "$STEP_RC" -ne 0 ]; then rate="$(tail -n 2 "$LOGS/$name.log" | tr '\n' ' ')"; fi
        record "$name" "$(status_of "$STEP_RC")" "$STEP_S" "$rate"
        if [ -n "$json" ]; then echo "$json"; fi
        return 0
      }
      echo "== forward benches"
      bench "bench vit cuda" 120 vit --backend cuda --batch 8 --iters 5
      bench "bench itm cuda" 120 itm --backend cuda --iters 3
      bench "bench bert cuda" 90 bert --backend cuda --iters 5
      bench "bench vit cpu" 90 vit --backend cpu --batch 8 --iters 1
    else
      record "bench" "skipped" 0 "xrem bench vit is not available in this build"
    fi
  fi
fi

echo
echo "== gpu_check summary ($(elapsed)s of ${BUDGET}s; logs in $LOGS)"
printf '%s\n' "${SUMMARY[@]}"
printf '%s\n' "${SUMMARY[@]}" >"$LOGS/summary.txt"
exit "$FAILED"
