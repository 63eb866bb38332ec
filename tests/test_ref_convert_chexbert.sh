#!/usr/bin/env bash
# Self-check of scripts/convert_chexbert.py (ctest label: reference).
# Interpreter for the Python parts: Debian's /usr/bin/python3 (python3-torch 1.13, transformers 4.30, numpy, h5py).
# Exit 77 (skip) where torch or transformers is not importable. Builds tiny random bert_labeler checkpoints with
# make_chexbert_goldens' functions and checks that the converter accepts what CheXbert saves ({'epoch',
# 'model_state_dict' with 'module.' keys, 'optimizer_state_dict'}; zip or legacy serialization) and what people
# re-save (a bare state dict without 'module.'; a position_ids buffer), writes the documented format with every
# tensor unchanged, and refuses (exit 2, message naming the key) an unknown key (a 15th head included), a missing
# key (a head, the pooler), a NaN tensor, a wrong head shape, mixed prefixes, a vocabulary of the wrong size, a
# missing --vocab, a pickle that would run code, and a file that is not a checkpoint. Finally xrem loads a
# converted file: `xrem eval --metrics chexbert` runs on it.
set -u
PY=/usr/bin/python3
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONV="$ROOT/scripts/convert_chexbert.py"

if ! "$PY" -c 'import torch, h5py, numpy, transformers' >/dev/null 2>&1; then
    echo "SKIP: $PY cannot import torch/h5py/numpy/transformers"
    exit 77
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/xrem_ref_convert_chexbert.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# ---- build the checkpoints --------------------------------------------------------------------------------
"$PY" - "$ROOT/scripts" "$TMP" >"$TMP/build.log" 2>&1 <<'EOF' || { echo "FAIL: could not build the test checkpoints"; cat "$TMP/build.log"; exit 1; }
import sys, os, torch
sys.path.insert(0, sys.argv[1])
import make_chexbert_goldens as G
import make_goldens
d = sys.argv[2]
P = lambda name: os.path.join(d, name)
cfg = G.tiny_cfg(vocab_size=40)
torch.manual_seed(5)
model = make_goldens.init_random_(G.bert_labeler(cfg), 0.08).eval()
ck = G.checkpoint_of(model)
sd = ck["model_state_dict"]                                     # 'module.' keys, no buffers
torch.save(ck, P("real.pth"))                                   # what CheXbert's training saves
torch.save(ck, P("legacy.pth"), _use_new_zipfile_serialization=False)
torch.save({k[7:]: v for k, v in sd.items()}, P("bare.pth"))    # re-saved without DataParallel
torch.save(G.checkpoint_of(model, extra_buffers=True), P("buffers.pth"))
def variant(name, edit):
    s = dict(sd); edit(s); torch.save({"epoch": 1, "model_state_dict": s}, P(name))
variant("bad_head14.pth", lambda s: s.update({"module.linear_heads.14.weight": torch.zeros(4, 24),
                                              "module.linear_heads.14.bias": torch.zeros(4)}))
variant("bad_unknown.pth", lambda s: s.update({"module.classifier.weight": torch.zeros(3, 24)}))
variant("bad_missing_head.pth", lambda s: s.pop("module.linear_heads.13.bias"))
variant("bad_missing_pooler.pth", lambda s: s.pop("module.bert.pooler.dense.weight"))
def nan(s):
    t = s["module.linear_heads.4.weight"].clone(); t[1, 2] = float("nan"); s["module.linear_heads.4.weight"] = t
variant("bad_nan.pth", nan)
variant("bad_shape.pth", lambda s: s.update({"module.linear_heads.13.weight": torch.zeros(4, 24)}))
variant("bad_mixed.pth", lambda s: s.update({"linear_heads.0.bias": s.pop("module.linear_heads.0.bias")}))
torch.save({"model_state_dict": [1, 2, 3]}, P("bad_msd.pth"))
with open(P("text.pth"), "w") as f:
    f.write("this is not a checkpoint\n")
class Evil:  # a pickle that would run code when loaded
    def __reduce__(self):
        return (os.system, ("touch " + P("PWNED"),))
torch.save({"model_state_dict": sd, "x": Evil()}, P("evil.pth"))
with open(P("vocab.txt"), "w") as f:
    f.write("\n".join(G.SPECIALS + ["tok%d" % i for i in range(40 - len(G.SPECIALS))]) + "\n")
with open(P("vocab_short.txt"), "w") as f:
    f.write("\n".join(G.SPECIALS + ["tok%d" % i for i in range(30)]) + "\n")
torch.save({k[7:]: v for k, v in sd.items()}, P("reference_sd.pt"))
EOF

HEADS="--num-heads 2"

# ---- accepted: the real layout through the command line, the others in one process (torch loads once) ---------
if ! "$PY" "$CONV" "$TMP/real.pth" "$TMP/real.h5" $HEADS --vocab "$TMP/vocab.txt" >"$TMP/real.out" 2>&1; then
    fail "converter refused real.pth:"; cat "$TMP/real.out"
fi
"$PY" - "$ROOT/scripts" "$TMP" <<'EOF' || fail "converter refused an accepted layout"
import contextlib, io, os, sys
sys.path.insert(0, sys.argv[1])
import convert_chexbert as C
d = sys.argv[2]
ok = True
for name, extra in (("legacy", ["--vocab", d + "/vocab.txt"]), ("bare", ["--no-vocab"]),
                    ("buffers", ["--vocab", d + "/vocab.txt", "--dtype", "float16"])):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        rc = C.main([os.path.join(d, name + ".pth"), os.path.join(d, name + ".h5"), "--num-heads", "2"] + extra)
    if rc != 0:
        print("FAIL: converter refused %s: %s" % (name, out.getvalue()))
        ok = False
sys.exit(0 if ok else 1)
EOF

"$PY" - "$TMP" <<'EOF' || fail "output format check"
import sys, os, hashlib, h5py, numpy as np, torch
d = sys.argv[1]
ok = True
def check(cond, msg):
    global ok
    if not cond:
        print("  format: " + msg); ok = False
sd = torch.load(os.path.join(d, "reference_sd.pt"))
want = dict(hidden_size=24, num_layers=2, num_heads=2, intermediate_size=48, vocab_size=40, max_position=32,
            type_vocab_size=2, num_conditions=14)
inputs = {"real": "real.pth", "legacy": "legacy.pth", "bare": "bare.pth", "buffers": "buffers.pth"}
for name, src in inputs.items():
    p = os.path.join(d, name + ".h5")
    if not os.path.exists(p):
        check(False, "%s missing" % p); continue
    check(not os.path.exists(p + ".tmp"), name + ": .tmp left behind")
    with h5py.File(p, "r") as f:
        a = f.attrs
        check(a.get("xrem_format") == "weights" and int(a.get("version", 0)) == 1, name + ": format/version")
        check(a.get("arch") == "chexbert", name + ": arch")
        check(a.get("source") == src, name + ": source")
        check(a.get("source_sha256") == hashlib.sha256(open(os.path.join(d, src), "rb").read()).hexdigest(),
              name + ": source_sha256")
        c = f["config"].attrs
        for k, v in want.items():
            check(k in c and int(c[k]) == v, "%s: config %s = %s, want %s" % (name, k, c.get(k), v))
        check("fusion_layer" not in c, name + ": fusion_layer written")
        check(abs(float(c["bert_ln_eps"]) - 1e-12) < 1e-24, name + ": bert_ln_eps")
        dt = "float16" if name == "buffers" else "float32"
        check(a.get("weights_dtype") == dt, name + ": weights_dtype")
        names = []
        f.visit(lambda k: names.append(k) if isinstance(f[k], h5py.Dataset) and not k.startswith("tokenizer/") else None)
        check(sorted(names) == sorted(sd), "%s: datasets %s != source keys" % (name, sorted(set(names) ^ set(sd))[:4]))
        for k in sd:
            if k in f:
                v = f[k][()]
                check(v.dtype == np.dtype(dt), name + ": dtype of " + k)
                check(np.array_equal(v, sd[k].numpy().astype(dt)), name + ": values of " + k)
        check(f["linear_heads.13.weight"].shape == (2, 24) and f["linear_heads.0.weight"].shape == (4, 24), name + ": heads")
        check(not any(k.startswith("module.") for k in names), name + ": 'module.' kept")
        check("bert.embeddings.position_ids" not in f, name + ": position_ids kept")
        if name == "bare":
            check("tokenizer" not in f, name + ": --no-vocab wrote a tokenizer")
        else:
            t = f["tokenizer"]
            v = [s.decode() if isinstance(s, bytes) else s for s in t["vocab"][()]]
            check(len(v) == 40 and v[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], name + ": vocab")
            check(int(t.attrs["do_lower_case"]) == 1 and t.attrs["kind"] == "wordpiece" and int(t.attrs["max_len"]) == 512,
                  name + ": tokenizer attrs")
sys.exit(0 if ok else 1)
EOF

# ---- refused: exit status 2 through the command line once, then every case in one process -------------------------
"$PY" "$CONV" "$TMP/bad_head14.pth" "$TMP/cli_refused.h5" $HEADS --no-vocab >"$TMP/cli_refused.out" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -qF "convert_chexbert: error: unknown key 'module.linear_heads.14.bias'" "$TMP/cli_refused.out" ||
    { fail "command line refusal: exit $rc, want 2:"; cat "$TMP/cli_refused.out"; }
[ -e "$TMP/cli_refused.h5" ] && fail "command line refusal: output written"
"$PY" - "$ROOT/scripts" "$TMP" <<'EOF' || fail "refusals"
import contextlib, io, os, sys
sys.path.insert(0, sys.argv[1])
import convert_chexbert as C
d = sys.argv[2]
S = ["--vocab", d + "/vocab_short.txt"]
cases = [  # name, input, expected message part, extra args
    ("bad_head14", "bad_head14.pth", "unknown key 'module.linear_heads.14.bias'", ["--no-vocab"]),
    ("bad_unknown", "bad_unknown.pth", "unknown key 'module.classifier.weight'", ["--no-vocab"]),
    ("bad_missing_head", "bad_missing_head.pth", "missing required key 'module.linear_heads.13.bias'", ["--no-vocab"]),
    ("bad_missing_pooler", "bad_missing_pooler.pth", "missing required key 'module.bert.pooler.dense.weight'", ["--no-vocab"]),
    ("bad_nan", "bad_nan.pth", "key 'module.linear_heads.4.weight' holds NaN", ["--no-vocab"]),
    ("bad_shape", "bad_shape.pth", "key 'module.linear_heads.13.weight' has shape [4, 24]", ["--no-vocab"]),
    ("bad_mixed", "bad_mixed.pth", "mixed layouts", ["--no-vocab"]),
    ("bad_msd", "bad_msd.pth", "'model_state_dict' is a list", ["--no-vocab"]),
    ("bad_heads", "real.pth", "not divisible by --num-heads 5", ["--no-vocab", "--num-heads", "5"]),
    ("no_vocab", "real.pth", "no vocabulary", []),
    ("vocab_short", "real.pth", "vocabulary has 35 tokens", S),
    ("text", "text.pth", "not a readable PyTorch checkpoint", ["--no-vocab"]),
    ("evil", "evil.pth", "refusing to unpickle global posix.system", ["--no-vocab"]),
]
ok = True
for name, src, want, extra in cases:
    out = os.path.join(d, name + ".h5")
    err = io.StringIO()
    with contextlib.redirect_stdout(err), contextlib.redirect_stderr(err):
        rc = C.main([os.path.join(d, src), out, "--num-heads", "2"] + extra)
    msg = err.getvalue().strip()
    print("  refused %s: %s" % (name, msg.splitlines()[-1] if msg else "(no message)"))
    if rc != 2 or want not in msg:
        print("FAIL: %s: return %s (want 2), message lacks '%s'" % (name, rc, want)); ok = False
    if os.path.exists(out) or os.path.exists(out + ".tmp"):
        print("FAIL: %s: output written despite refusal" % name); ok = False
sys.exit(0 if ok else 1)
EOF
[ -e "$TMP/PWNED" ] && fail "evil.pth ran code while being loaded"

# ---- xrem reads what the converter wrote ---------------------------------------------------------------------
BIN="${XREM_BIN:-$ROOT/build/xrem}"
if [ -x "$BIN" ] && [ -f "$TMP/real.h5" ]; then
    printf 'study_id,report\n1,No acute process.\n2,Small left effusion.\n' >"$TMP/gt.csv"
    printf 'study_id,report\n1,Normal chest.\n2,Left pleural effusion.\n' >"$TMP/pred.csv"
    if ! "$BIN" eval --gt "$TMP/gt.csv" --pred "$TMP/pred.csv" --out "$TMP/ev" --metrics chexbert,semb \
        --chexbert "$TMP/real.h5" --bootstrap 10 >"$TMP/ev.out" 2>&1; then
        fail "xrem eval on the converted weights:"; cat "$TMP/ev.out"
    elif ! grep -q "chexbert:$("$PY" -c "import hashlib;print(hashlib.sha256(open('$TMP/real.pth','rb').read()).hexdigest())")" "$TMP/ev/summary.json"; then
        fail "summary.json does not name the labeler by the checkpoint's sha256"
    fi
else
    echo "  (no xrem binary at $BIN: skipping the load check)"
fi

if [ "$fails" -ne 0 ]; then
    echo "test_ref_convert_chexbert: $fails failure(s)"
    exit 1
fi
echo "test_ref_convert_chexbert: ok"
exit 0
