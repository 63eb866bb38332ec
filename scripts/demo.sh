#!/usr/bin/env bash
# `make demo`. The end-to-end X-REM demo (prep, embed, ITC top-k, ITM re-rank, filter, eval on the
# IU X-Ray reports) arrives with the pipeline issue. Until then this runs the engine: it inspects
# the committed small test models and runs `xrem forward` on a few report sentences.
set -euo pipefail
XREM=${1:-build/xrem}
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== xrem demo (engine only; the end-to-end pipeline demo arrives with the pipeline issue)"
"$XREM" version
"$XREM" inspect tests/golden/albef_small_retrieval.weights.h5
printf '%s\n' "no acute cardiopulmonary process." "the heart is normal in size. the lungs are clear." \
  "small left pleural effusion with basilar atelectasis." > "$out/texts.txt"
"$XREM" forward --weights tests/golden/albef_small_retrieval.weights.h5 --texts "$out/texts.txt" --out "$out/o.h5"
echo "wrote text_feat for 3 reports with the small random-weight test model (a smoke test: random"
echo "weights make the numbers meaningless)."
