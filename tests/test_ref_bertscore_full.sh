#!/usr/bin/env bash
# BERTScore at distilroberta-base's full shapes (ctest label: reference).
# Interpreter for the Python parts: Debian's /usr/bin/python3 with python3-torch and, from PyPI,
# transformers 4.30.2 + tokenizers 0.13.3 + bert-score 0.3.13 (see scripts/make_bertscore_goldens.py).
# Exit 77 (skip) where those are not importable.
#
# scripts/make_bertscore_goldens.py --full makes, in a temporary folder, a random RobertaModel with
# distilroberta-base's shapes (6 layers, 768, 12 heads, 3072, vocab 50265, 514 positions, HF's own init) and the
# committed BPE tokenizer, converts it with scripts/convert_hf.py (model.safetensors when the safetensors package
# is there, else pytorch_model.bin), and records bert_score.score(..., num_layers=5) for idf off/on, batch sizes
# 64 and 4, no batching, and rescaled with bert_score's own distilroberta-base baseline. test_bertscore compares
# xrem's scores with them (1e-5). About 1 min on 2 cores and ~0.7 GB of temporary disk.
set -u
PY=/usr/bin/python3
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${XREM_BUILD_DIR:-$ROOT/build}"
BIN="$BUILD/test_bertscore"

if ! "$PY" -c 'import torch, h5py, numpy, transformers, bert_score, tokenizers' >/dev/null 2>&1; then
    echo "SKIP: $PY cannot import torch/transformers/bert_score/tokenizers"
    exit 77
fi
if [ ! -x "$BIN" ]; then
    echo "FAIL: $BIN not built"
    exit 1
fi
TMP="$(mktemp -d "${TMPDIR:-/tmp}/xrem_ref_bertscore.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
t0=$(date +%s)
if ! "$PY" "$ROOT/scripts/make_bertscore_goldens.py" --full "$TMP" 2>&1 | grep -v "^Token indices"; then
    echo "FAIL: could not make the full-size golden"
    exit 1
fi
t1=$(date +%s)
echo "golden made in $((t1 - t0)) s"
"$BIN" "$TMP/full_roberta.weights.h5" "$TMP/full_roberta.golden.h5"
rc=$?
echo "xrem checked in $(($(date +%s) - t1)) s"
exit $rc
