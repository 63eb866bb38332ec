#!/usr/bin/env bash
# Self-check of scripts/convert_nli.py (ctest label: reference).
# Interpreter for the Python parts: Debian's /usr/bin/python3 (python3-torch 1.13, numpy 1.24, h5py 3.7).
# Exit 77 (skip) where torch is not importable. Builds tiny random BERTNLI checkpoints with make_nli_goldens'
# functions and checks that the converter accepts what ifcc ships and what people re-save (gzip'd or plain; torch
# <= 1.5 legacy or zip serialization; a bare state dict or {'model': sd}; 'module.' prefixes; a position_ids
# buffer), writes the documented format, and refuses (exit 2, message naming the key) an unknown key, a missing
# key, a NaN tensor, a wrong shape, mixed prefixes, a vocabulary of the wrong size, a missing --vocab, a pickle
# that would run code, and a file that is not a checkpoint.
set -u
PY=/usr/bin/python3
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONV="$ROOT/scripts/convert_nli.py"

if ! "$PY" -c 'import torch, h5py, numpy' >/dev/null 2>&1; then
    echo "SKIP: $PY cannot import torch/h5py/numpy"
    exit 77
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/xrem_ref_convert_nli.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# ---- build the checkpoints --------------------------------------------------------------------------------
"$PY" - "$ROOT/scripts" "$TMP" <<'EOF' || { echo "FAIL: could not build the test checkpoints"; exit 1; }
import sys, os, torch
sys.path.insert(0, sys.argv[1])
import make_nli_goldens as G
d = sys.argv[2]
cfg = G.tiny_cfg(vocab_size=40)
sd = G.make_state_dict(cfg, seed=3, std=0.08)
P = lambda name: os.path.join(d, name)
G.save_checkpoint(sd, P("gz_legacy.dict.gz"), gz=True, legacy=True)        # what ifcc ships
G.save_checkpoint(sd, P("gz_zip.dict.gz"), gz=True, legacy=False)
G.save_checkpoint({"model": sd, "epoch": 3}, P("plain_wrapped.pth"), gz=False)
G.save_checkpoint({"module." + k: v for k, v in sd.items()}, P("module.dict.gz"))
pos = dict(sd); pos["bert.embeddings.position_ids"] = torch.arange(cfg.max_position).expand((1, -1))
G.save_checkpoint(pos, P("posids.pth"), gz=False)
bad = dict(sd); bad["classifier.weight"] = torch.zeros(3, cfg.hidden_size)
G.save_checkpoint(bad, P("bad_unknown.dict.gz"))
bad = dict(sd); bad["bert.encoder.layer.1.attention.self.extra"] = torch.zeros(3)
G.save_checkpoint(bad, P("bad_unknown_layer.dict.gz"))
bad = dict(sd); del bad["bert.pooler.dense.bias"]
G.save_checkpoint(bad, P("bad_missing.dict.gz"))
bad = {"module." + k: v for k, v in sd.items() if k != "bert.encoder.layer.0.output.LayerNorm.weight"}
G.save_checkpoint(bad, P("bad_missing_module.dict.gz"))
bad = dict(sd); t = bad["bert.encoder.layer.1.output.dense.weight"].clone(); t[2, 3] = float("nan")
bad["bert.encoder.layer.1.output.dense.weight"] = t
G.save_checkpoint(bad, P("bad_nan.dict.gz"))
bad = dict(sd); bad["linear.weight"] = torch.zeros(2, cfg.hidden_size)
G.save_checkpoint(bad, P("bad_shape.dict.gz"))
bad = dict(sd); bad["module.linear.bias"] = bad.pop("linear.bias")
G.save_checkpoint(bad, P("bad_mixed.dict.gz"))
with open(P("not_a_ckpt.dict.gz"), "wb") as f:
    f.write(b"\x1f\x8b this is not gzip either\n")
with open(P("text.pth"), "w") as f:
    f.write("this is not a checkpoint\n")
class Evil:  # a pickle that would run code when loaded
    def __reduce__(self):
        return (os.system, ("touch " + P("PWNED"),))
G.save_checkpoint({"model": sd, "x": Evil()}, P("evil.dict.gz"))
with open(P("vocab.txt"), "w") as f:
    f.write("\n".join(G.SPECIALS + ["tok%d" % i for i in range(40 - len(G.SPECIALS))]) + "\n")
with open(P("vocab_short.txt"), "w") as f:
    f.write("\n".join(G.SPECIALS + ["tok%d" % i for i in range(30)]) + "\n")
torch.save(sd, P("reference_sd.pt"))
EOF

HEADS="--num-heads 2"

# ---- accepted -----------------------------------------------------------------------------------------------
accept() { # name input extra-args...
    local name="$1" in="$2"; shift 2
    if ! "$PY" "$CONV" "$TMP/$in" "$TMP/$name.h5" $HEADS "$@" >"$TMP/$name.out" 2>&1; then
        fail "converter refused $name:"; cat "$TMP/$name.out"
    fi
}
accept gz_legacy gz_legacy.dict.gz --vocab "$TMP/vocab.txt"
accept gz_zip gz_zip.dict.gz --vocab "$TMP/vocab.txt"
accept plain_wrapped plain_wrapped.pth --vocab "$TMP/vocab.txt"
accept module module.dict.gz --no-vocab
accept posids posids.pth --vocab "$TMP/vocab.txt" --dtype float16

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
            type_vocab_size=2, num_labels=3)
inputs = {"gz_legacy": "gz_legacy.dict.gz", "gz_zip": "gz_zip.dict.gz", "plain_wrapped": "plain_wrapped.pth",
          "module": "module.dict.gz", "posids": "posids.pth"}
for name, src in inputs.items():
    p = os.path.join(d, name + ".h5")
    if not os.path.exists(p):
        check(False, "%s missing" % p); continue
    check(not os.path.exists(p + ".tmp"), name + ": .tmp left behind")
    with h5py.File(p, "r") as f:
        a = f.attrs
        check(a.get("xrem_format") == "weights" and int(a.get("version", 0)) == 1, name + ": format/version")
        check(a.get("arch") == "bert_nli", name + ": arch")
        check(a.get("source") == src, name + ": source")
        check(a.get("source_sha256") == hashlib.sha256(open(os.path.join(d, src), "rb").read()).hexdigest(),
              name + ": source_sha256")
        c = f["config"].attrs
        for k, v in want.items():
            check(k in c and int(c[k]) == v, "%s: config %s = %s, want %s" % (name, k, c.get(k), v))
        check("fusion_layer" not in c, name + ": fusion_layer written")
        check(abs(float(c["bert_ln_eps"]) - 1e-12) < 1e-24, name + ": bert_ln_eps")
        dt = "float16" if name == "posids" else "float32"
        check(a.get("weights_dtype") == dt, name + ": weights_dtype")
        names = []
        f.visit(lambda k: names.append(k) if isinstance(f[k], h5py.Dataset) and not k.startswith("tokenizer/") else None)
        check(sorted(names) == sorted(sd), "%s: datasets %s != source keys" % (name, sorted(set(names) ^ set(sd))[:4]))
        for k in sd:
            if k in f:
                v = f[k][()]
                check(v.dtype == np.dtype(dt), name + ": dtype of " + k)
                check(np.array_equal(v, sd[k].numpy().astype(dt)), name + ": values of " + k)
        check(f["linear.weight"].shape == (3, 24) and f["bert.pooler.dense.weight"].shape == (24, 24), name + ": heads")
        check("bert.embeddings.position_ids" not in f, name + ": position_ids kept")
        if name == "module":
            check("tokenizer" not in f, name + ": --no-vocab wrote a tokenizer")
        else:
            t = f["tokenizer"]
            v = [s.decode() if isinstance(s, bytes) else s for s in t["vocab"][()]]
            check(len(v) == 40 and v[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], name + ": vocab")
            check(int(t.attrs["do_lower_case"]) == 1 and int(t.attrs["force_lowercase"]) == 1
                  and t.attrs["kind"] == "wordpiece", name + ": tokenizer attrs")
sys.exit(0 if ok else 1)
EOF

# ---- refused ------------------------------------------------------------------------------------------------
refuse() { # name input expected-substring [extra args]
    local name="$1" in="$2" want="$3"; shift 3
    "$PY" "$CONV" "$TMP/$in" "$TMP/$name.h5" $HEADS "$@" >"$TMP/$name.out" 2>&1
    local rc=$?
    echo "  refused $name: $(tail -n 1 "$TMP/$name.out")"
    if [ "$rc" -ne 2 ]; then fail "$name: exit $rc, want 2"; cat "$TMP/$name.out"; fi
    if ! grep -qF -- "$want" "$TMP/$name.out"; then fail "$name: message does not name '$want':"; cat "$TMP/$name.out"; fi
    if [ -e "$TMP/$name.h5" ] || [ -e "$TMP/$name.h5.tmp" ]; then fail "$name: output written despite refusal"; fi
}
refuse bad_unknown bad_unknown.dict.gz "unknown key 'classifier.weight'" --no-vocab
refuse bad_unknown_layer bad_unknown_layer.dict.gz "unknown key 'bert.encoder.layer.1.attention.self.extra'" --no-vocab
refuse bad_missing bad_missing.dict.gz "missing required key 'bert.pooler.dense.bias'" --no-vocab
refuse bad_missing_module bad_missing_module.dict.gz \
    "missing required key 'module.bert.encoder.layer.0.output.LayerNorm.weight'" --no-vocab
refuse bad_nan bad_nan.dict.gz "key 'bert.encoder.layer.1.output.dense.weight' holds NaN" --no-vocab
refuse bad_shape bad_shape.dict.gz "key 'linear.weight' has shape [2, 24]" --no-vocab
refuse bad_mixed bad_mixed.dict.gz "mixed layouts" --no-vocab
refuse bad_heads gz_zip.dict.gz "not divisible by --num-heads 5" --no-vocab --num-heads 5
refuse no_vocab gz_zip.dict.gz "no vocabulary"
refuse vocab_short gz_zip.dict.gz "vocabulary has 35 tokens" --vocab "$TMP/vocab_short.txt"
refuse not_gzip not_a_ckpt.dict.gz "corrupt gzip file" --no-vocab
refuse text text.pth "not a readable PyTorch checkpoint" --no-vocab
refuse evil evil.dict.gz "refusing to unpickle global posix.system" --no-vocab
[ -e "$TMP/PWNED" ] && fail "evil.dict.gz ran code while being loaded"

if [ "$fails" -ne 0 ]; then
    echo "test_ref_convert_nli: $fails failure(s)"
    exit 1
fi
echo "test_ref_convert_nli: ok"
exit 0
