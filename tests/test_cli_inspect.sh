#!/usr/bin/env bash
# The CLI's face: `xrem --help` names every command and each command's --help exits 0; `xrem inspect`
# prints the arch stored in the file (not freed memory) and a real verdict for every arch it can load,
# and refuses a vocabulary that the model could not use (no [PAD]/[CLS]/[UNK], more tokens than
# vocab_size) the way `embed` would. Mutations are made with Debian's /usr/bin/python3 + h5py (that
# part is skipped, and says so, where h5py is missing).
set -u
BIN=${XREM_BIN:-}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY=/usr/bin/python3
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    echo "SKIP: \$XREM_BIN is not an executable xrem (got '$BIN')"
    exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/xrem_cli_inspect.XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# ---- help ------------------------------------------------------------------------------------------
"$BIN" --help >"$T/help" 2>&1 || fail "xrem --help exits $?"
for c in prep embed run sweep eval demo inspect forward bench dev version; do
    grep -q "^  $c " "$T/help" || fail "xrem --help does not list '$c'"
    [ "$c" = version ] && continue
    if "$BIN" "$c" --help >"$T/h_$c" 2>&1 && grep -qi "usage" "$T/h_$c"; then
        echo "ok   xrem $c --help"
    else
        fail "xrem $c --help: exit $? or no usage: $(head -1 "$T/h_$c")"
    fi
done

# ---- inspect on every committed weights file --------------------------------------------------------
declare -A ARCH=([albef_small_itm]=albef_itm [albef_small_retrieval]=albef_retrieval [chexbert_small]=chexbert
    [nli_small]=bert_nli [tiny_bert]=bert [tiny_roberta]=roberta)
for w in "$ROOT"/tests/golden/*.weights.h5 "$ROOT"/tests/golden/bertscore/*.weights.h5; do
    name=$(basename "$w" .weights.h5)
    want=${ARCH[$name]:-}
    [ -n "$want" ] || { fail "no expected arch for $w (add it to this test)"; continue; }
    "$BIN" inspect "$w" >"$T/out" 2>&1
    rc=$?
    got=$(awk '$1 == "arch" {print $2}' "$T/out")
    if [ $rc -eq 0 ] && [ "$got" = "$want" ] && grep -q '^verdict  *OK' "$T/out"; then
        echo "ok   inspect $name: arch $got, verdict OK"
    else
        fail "inspect $name: rc $rc, arch '$got' (want $want), $(grep verdict "$T/out")"
    fi
done

# ---- vocabularies the model cannot use ----------------------------------------------------------------
if ! "$PY" -c 'import h5py, numpy' >/dev/null 2>&1; then
    echo "SKIP (part): $PY cannot import h5py; vocabulary mutations not checked"
else
    W="$ROOT/tests/golden/albef_small_retrieval.weights.h5"
    printf 'report\nNo acute disease.\nClear lungs.\n' >"$T/corpus.csv"
    for m in no_pad no_cls no_unk too_big; do
        cp "$W" "$T/$m.h5"
        "$PY" - "$T/$m.h5" "$m" <<'PYEOF'
import sys, h5py, numpy as np
path, m = sys.argv[1:]
with h5py.File(path, "r+") as f:
    v = [x.decode() for x in f["tokenizer/vocab"][()]]
    if m == "too_big":
        v = v + ["extra%d" % i for i in range(10)]
    else:
        tok = {"no_pad": "[PAD]", "no_cls": "[CLS]", "no_unk": "[UNK]"}[m]
        v[v.index(tok)] = "replaced"
    del f["tokenizer/vocab"]
    f["tokenizer"].create_dataset("vocab", data=np.array(v, dtype=object), dtype=h5py.string_dtype())
PYEOF
        "$BIN" inspect "$T/$m.h5" >"$T/out" 2>&1
        rc=$?
        if [ $rc -ne 0 ] && grep -q 'verdict  *INVALID' "$T/out" && grep -qE 'vocab|\[PAD\]|\[CLS\]|\[UNK\]' "$T/out"; then
            echo "ok   inspect $m: $(grep verdict "$T/out")"
        else
            fail "inspect $m: rc $rc, $(grep verdict "$T/out")"
        fi
        if "$BIN" embed --weights "$T/$m.h5" --corpus "$T/corpus.csv" --out "$T/$m.corpus.h5" >"$T/log" 2>&1 ||
            [ -e "$T/$m.corpus.h5" ]; then
            fail "embed accepted the $m vocabulary (or wrote its output)"
        else
            echo "ok   embed $m refused: $(tail -1 "$T/log")"
        fi
    done
fi
if [ $fails -ne 0 ]; then
    echo "test_cli_inspect: $fails failure(s)"
    exit 1
fi
echo "test_cli_inspect: PASS"
