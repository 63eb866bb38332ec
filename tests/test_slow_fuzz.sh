#!/usr/bin/env bash
# The libFuzzer harnesses (tests/fuzz/) for a bounded time in CI: scripts/fuzz.sh builds them with
# clang (ASan + UBSan) in $XREM_BUILD_DIR/fuzz and runs each of the 8 targets for
# XREM_FUZZ_CI_SECONDS (default 8 s: about 65 s of fuzzing in all, plus a build of about a minute
# on 2 cores the first time). Fails when an input crashes xrem's own code (the input is left in
# $XREM_BUILD_DIR/fuzz/work/regress-new/); crashes entirely inside libhdf5/libjpeg/libpng are
# listed, not failed. Skips (77) without clang/libFuzzer or Python. Fixed -seed: repeatable.
set -euo pipefail
: "${XREM_SOURCE_DIR:?}" "${XREM_BUILD_DIR:?}"
command -v /usr/bin/python3 >/dev/null || command -v python3 >/dev/null || { echo "skip: no Python for the seed corpus"; exit 77; }
export XREM_FUZZ_BUILD="$XREM_BUILD_DIR/fuzz" XREM_FUZZ_WORK="$XREM_BUILD_DIR/fuzz/work" XREM_FUZZ_SEED=1
# the corpus is rebuilt from the seeds each time, so that a CI run does not depend on earlier ones
rm -rf "$XREM_FUZZ_WORK/corpus"
rc=0
bash "$XREM_SOURCE_DIR/scripts/fuzz.sh" "${XREM_FUZZ_CI_SECONDS:-8}" || rc=$?
if [ "$rc" = 77 ]; then echo "skip: no clang with libFuzzer"; exit 77; fi
[ -f "$XREM_FUZZ_WORK/findings.tsv" ] && column -t -s $'\t' "$XREM_FUZZ_WORK/findings.tsv" | cut -c1-220
[ "$rc" = 0 ] || { echo "FAIL: scripts/fuzz.sh exited $rc"; exit 1; }
# every target ran and executed inputs
for t in csv wordpiece bpe pylower labeler weights images decode; do
  n="$(awk -F'\t' -v t="$t" '$1 == t {print $3}' "$XREM_FUZZ_WORK/summary.tsv")"
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -gt 0 ] || { echo "FAIL: target $t executed '${n}' inputs"; exit 1; }
done
echo "ok: 8 targets fuzzed, nothing of ours crashed"
