#!/usr/bin/env bash
# Self-check of scripts/convert_albef.py (ctest label: reference).
# Interpreter for the Python parts: Debian's /usr/bin/python3 (python3-torch 1.13, numpy 1.24, h5py 3.7).
# Exit 77 (skip) where torch is not importable. Builds tiny random checkpoints with make_goldens' functions,
# checks that the converter accepts both layouts ({'model': sd} and a bare state dict; text_encoder.bert.* and
# text_encoder.*) and writes the documented format, and that it refuses (exit 2, message naming the key)
# an unknown key, a missing key, a NaN tensor, a wrong shape, a wrong --arch, and a non-checkpoint file.
set -u
PY=/usr/bin/python3
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONV="$ROOT/scripts/convert_albef.py"

if ! "$PY" -c 'import torch, h5py, numpy' >/dev/null 2>&1; then
    echo "SKIP: $PY cannot import torch/h5py/numpy"
    exit 77
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/xrem_ref_convert.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# ---- build the checkpoints --------------------------------------------------------------------------------
"$PY" - "$ROOT/scripts" "$TMP" <<'EOF' || { echo "FAIL: could not build the test checkpoints"; exit 1; }
import sys, os, torch
sys.path.insert(0, sys.argv[1])
import make_goldens as G
d = sys.argv[2]
vit, bert, E = G.tiny_cfg()
_, ret = G.make_checkpoint("albef_retrieval", vit, bert, E, seed=5, std=G.weight_std("tiny"))
_, itm = G.make_checkpoint("albef_itm", vit, bert, E, seed=6, std=G.weight_std("tiny"))
# what ALBEF saves beside 'model': optimizer state, config (floats), epoch; some scripts add argparse args
ret["optimizer"] = torch.optim.AdamW([torch.nn.Parameter(torch.ones(2))], lr=1e-4).state_dict()
ret["config"].update({"temp": 0.07, "alpha": 0.4, "image_res": 32, "bert_config": "configs/config_bert.json"})
import argparse
ret["args"] = argparse.Namespace(seed=42, distributed=False, lr=1e-4)
torch.save(ret, os.path.join(d, "ret_wrapped.pth"))
torch.save(dict(ret["model"]), os.path.join(d, "ret_bare.pth"))
# model_retrieval layout: text_encoder.* (BertModel) plus idx_queue
plain = {("text_encoder." + k[len("text_encoder.bert."):] if k.startswith("text_encoder.bert.") else k): v
         for k, v in ret["model"].items() if not k.startswith("text_encoder.cls.")}
plain["idx_queue"] = torch.full((1, 16), -100, dtype=torch.long)
torch.save({"model": plain}, os.path.join(d, "ret_plain.pth"))
torch.save(itm, os.path.join(d, "itm_wrapped.pth"))
sd = dict(itm["model"]); sd["text_encoder.encoder.layer.1.crossattention.extra.weight"] = torch.zeros(3)
torch.save({"model": sd}, os.path.join(d, "bad_extra.pth"))
sd = dict(itm["model"]); del sd["visual_encoder.blocks.0.attn.proj.bias"]
torch.save({"model": sd}, os.path.join(d, "bad_missing.pth"))
sd = dict(ret["model"]); del sd["text_encoder.bert.encoder.layer.1.crossattention.self.value.weight"]
torch.save({"model": sd}, os.path.join(d, "bad_missing_bert.pth"))
sd = dict(itm["model"]); t = sd["text_encoder.encoder.layer.0.output.dense.weight"].clone(); t[1, 2] = float("nan")
sd["text_encoder.encoder.layer.0.output.dense.weight"] = t
torch.save({"model": sd}, os.path.join(d, "bad_nan.pth"))
sd = dict(itm["model"]); sd["cls_head.0.weight"] = torch.zeros(bert.hidden_size, bert.hidden_size + 1)
torch.save({"model": sd}, os.path.join(d, "bad_shape.pth"))
with open(os.path.join(d, "not_a_ckpt.pth"), "w") as f:
    f.write("this is not a checkpoint\n")
torch.save([1, 2, 3], os.path.join(d, "a_list.pth"))
class Evil:  # a pickle that would run code when loaded
    def __reduce__(self):
        return (os.system, ("touch " + os.path.join(d, "PWNED"),))
torch.save({"model": itm["model"], "x": Evil()}, os.path.join(d, "evil.pth"))
with open(os.path.join(d, "vocab.txt"), "w") as f:
    f.write("\n".join(G.small_vocab(bert.vocab_size)) + "\n")
EOF

HEADS="--vit-heads 2 --bert-heads 2"

# ---- accepted -----------------------------------------------------------------------------------------------
accept() { # name arch extra-args...
    local name="$1" arch="$2"; shift 2
    if ! "$PY" "$CONV" "$TMP/$name.pth" "$TMP/$name.h5" --arch "$arch" $HEADS "$@" >"$TMP/$name.out" 2>&1; then
        fail "converter refused $name:"; cat "$TMP/$name.out"
    fi
}
accept ret_wrapped albef_retrieval --vocab "$TMP/vocab.txt" --image-res 48
accept ret_bare albef_retrieval --vocab "$TMP/vocab.txt"
accept ret_plain albef_retrieval --no-vocab
accept itm_wrapped albef_itm --vocab "$TMP/vocab.txt" --dtype float16

"$PY" - "$TMP" <<'EOF' || fail "output format check"
import sys, os, h5py, numpy as np, torch
d = sys.argv[1]
ok = True
def check(cond, msg):
    global ok
    if not cond:
        print("  format: " + msg); ok = False
ints = ["vision_width", "vit_depth", "vit_heads", "vit_mlp", "patch_size", "image_res", "hidden_size", "num_layers",
        "num_heads", "intermediate_size", "vocab_size", "max_position", "type_vocab_size", "fusion_layer",
        "encoder_width"]
want = dict(vision_width=32, vit_depth=1, vit_heads=2, vit_mlp=64, patch_size=16, image_res=32, hidden_size=24,
            num_layers=2, num_heads=2, intermediate_size=48, vocab_size=40, max_position=16, type_vocab_size=2,
            fusion_layer=1, encoder_width=32, embed_dim=16)
for name, arch in [("ret_wrapped", "albef_retrieval"), ("ret_bare", "albef_retrieval"),
                   ("ret_plain", "albef_retrieval"), ("itm_wrapped", "albef_itm")]:
    p = os.path.join(d, name + ".h5")
    if not os.path.exists(p):
        check(False, "%s missing" % p); continue
    check(not os.path.exists(p + ".tmp"), name + ": .tmp left behind")
    src = torch.load(os.path.join(d, name + ".pth"), map_location="cpu")
    src = src.get("model", src)
    with h5py.File(p, "r") as f:
        a = f.attrs
        check(a.get("xrem_format") == "weights", name + ": xrem_format")
        check(int(a.get("version", 0)) == 1, name + ": version")
        check(a.get("arch") == arch, name + ": arch")
        check(a.get("source") == name + ".pth", name + ": source")
        import hashlib
        check(a.get("source_sha256") == hashlib.sha256(open(os.path.join(d, name + ".pth"), "rb").read()).hexdigest(),
              name + ": source_sha256")
        c = f["config"].attrs
        for k in ints + (["embed_dim"] if arch == "albef_retrieval" else []):
            check(k in c and int(c[k]) == want[k], "%s: config %s = %s, want %s" % (name, k, c.get(k), want[k]))
        check(abs(float(c["vit_ln_eps"]) - 1e-6) < 1e-18 and abs(float(c["bert_ln_eps"]) - 1e-12) < 1e-24, name + ": eps")
        check(("run_image_res" in c) == (name == "ret_wrapped"), name + ": run_image_res only with --image-res")
        if name == "ret_wrapped":
            check(int(c["run_image_res"]) == 48, name + ": run_image_res")
        dt = "float16" if name == "itm_wrapped" else "float32"
        check(a.get("weights_dtype") == dt, name + ": weights_dtype")
        keys = [k for k in f if isinstance(f[k], h5py.Dataset)]
        for k in keys:
            check(not any(s in k for s in ("_m.", "queue", "temp", ".cls.", "position_ids", ".bert.")),
                  name + ": ignored key kept: " + k)
            o = k if k in src else "text_encoder.bert." + k[len("text_encoder."):]
            check(o in src, name + ": dataset without a source key: " + k)
            if o in src:
                v = f[k][()]
                check(v.dtype == np.dtype(dt), name + ": dtype of " + k)
                check(np.array_equal(v, src[o].numpy().astype(dt)), name + ": values of " + k)
        n_src = sum(1 for k in src if not (k.split(".")[0].endswith("_m") or k in ("image_queue", "text_queue",
                    "queue_ptr", "temp", "idx_queue") or ".cls." in k or k.endswith("position_ids")))
        check(len(keys) == n_src, "%s: %d datasets, %d kept source keys" % (name, len(keys), n_src))
        check(f["visual_encoder.pos_embed"].shape == (1, 5, 32), name + ": pos_embed as stored")
        check(f["visual_encoder.cls_token"].shape == (1, 1, 32), name + ": cls_token")
        check(f["visual_encoder.patch_embed.proj.weight"].shape == (32, 3, 16, 16), name + ": patch weight")
        if arch == "albef_itm":
            check(f["cls_head.2.bias"].shape == (3,), name + ": cls_head.2.bias")
            check("text_encoder.encoder.layer.1.crossattention.self.key.weight" in f, name + ": cross key")
            check("text_encoder.encoder.layer.0.crossattention.self.key.weight" not in f, name + ": layer 0 cross")
        else:
            check(f["vision_proj.weight"].shape == (16, 32) and f["itm_head.weight"].shape == (2, 24), name + ": heads")
        if name == "ret_plain":
            check("tokenizer" not in f, name + ": --no-vocab wrote a tokenizer")
        else:
            t = f["tokenizer"]
            v = [s.decode() if isinstance(s, bytes) else s for s in t["vocab"][()]]
            check(len(v) == 40 and v[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], name + ": vocab")
            check(h5py.check_string_dtype(t["vocab"].dtype) is not None, name + ": vocab dtype")
            check(int(t.attrs["do_lower_case"]) == 1 and t.attrs["kind"] == "wordpiece", name + ": tokenizer attrs")
sys.exit(0 if ok else 1)
EOF

# ---- refused ------------------------------------------------------------------------------------------------
refuse() { # name arch expected-substring [extra args]
    local name="$1" arch="$2" want="$3"; shift 3
    "$PY" "$CONV" "$TMP/$name.pth" "$TMP/$name.h5" --arch "$arch" $HEADS "$@" >"$TMP/$name.out" 2>&1
    local rc=$?
    echo "  refused $name: $(tail -n 1 "$TMP/$name.out")"
    if [ "$rc" -ne 2 ]; then fail "$name: exit $rc, want 2"; cat "$TMP/$name.out"; fi
    if ! grep -qF -- "$want" "$TMP/$name.out"; then fail "$name: message does not name '$want':"; cat "$TMP/$name.out"; fi
    if [ -e "$TMP/$name.h5" ] || [ -e "$TMP/$name.h5.tmp" ]; then fail "$name: output written despite refusal"; fi
}
refuse bad_extra albef_itm "text_encoder.encoder.layer.1.crossattention.extra.weight" --no-vocab
refuse bad_missing albef_itm "visual_encoder.blocks.0.attn.proj.bias" --no-vocab
refuse bad_missing_bert albef_retrieval "text_encoder.bert.encoder.layer.1.crossattention.self.value.weight" --no-vocab
refuse bad_nan albef_itm "text_encoder.encoder.layer.0.output.dense.weight" --no-vocab
refuse bad_shape albef_itm "cls_head.0.weight" --no-vocab
cp "$TMP/itm_wrapped.pth" "$TMP/itm_as_ret.pth"
refuse itm_as_ret albef_retrieval "cls_head.0.bias" --no-vocab
refuse not_a_ckpt albef_itm "not a readable PyTorch checkpoint" --no-vocab
refuse a_list albef_itm "not a checkpoint" --no-vocab
refuse evil albef_itm "refusing to unpickle global posix.system" --no-vocab
[ -e "$TMP/PWNED" ] && fail "evil.pth ran code while being loaded"
cp "$TMP/itm_wrapped.pth" "$TMP/itm_novocab.pth"
refuse itm_novocab albef_itm "no vocabulary"
cp "$TMP/ret_bare.pth" "$TMP/ret_heads.pth"
refuse ret_heads albef_retrieval "not divisible by --vit-heads 5" --no-vocab --vit-heads 5

if [ "$fails" -ne 0 ]; then
    echo "test_ref_convert: $fails failure(s)"
    exit 1
fi
echo "test_ref_convert: ok"
exit 0
