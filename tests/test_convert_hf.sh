#!/usr/bin/env bash
# Self-check of scripts/convert_hf.py (ctest label: cpu). Needs only numpy and h5py (Debian's /usr/bin/python3
# as scripts/setup.sh installs it, or any python3 that has them); exit 77 (skip) without them. With torch
# importable, the pytorch_model.bin path is checked too.
#
# Builds tiny HF folders itself (safetensors written by hand, no torch or safetensors package): BERT with
# "bert."-prefixed keys and an MLM head, RoBERTa with "roberta." keys, lm_head and a bf16 tensor, tokenizer.json
# only folders. Checks the documented output (attrs, "bert." dataset names, values, tokenizer group: merges =
# merges.txt[1:-1], special tokens and their strip flags, model_max_length) and the refusals (exit 2, message
# naming the key or file): unknown model_type, hidden_act, unknown / missing key, shape, NaN, vocab gaps, missing
# special token, mixed prefixes, no weights, a corrupt safetensors header.
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY=""
for p in /usr/bin/python3 python3; do
    if "$p" -c 'import numpy, h5py' >/dev/null 2>&1; then PY="$p"; break; fi
done
if [ -z "$PY" ]; then
    echo "SKIP: no python3 with numpy and h5py"
    exit 77
fi
TMP="$(mktemp -d "${TMPDIR:-/tmp}/xrem_convert_hf.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
"$PY" - "$ROOT/scripts/convert_hf.py" "$TMP" <<'EOF'
import json, os, struct, subprocess, sys
import h5py
import numpy as np

CONV, D = sys.argv[1], sys.argv[2]
fails = 0
checks = 0


def fail(msg):
    global fails
    fails += 1
    print("FAIL: " + msg)


def write_safetensors(path, tensors, bf16=()):
    header, blobs, off = {}, [], 0
    for k, a in tensors.items():
        if k in bf16:
            raw = (np.ascontiguousarray(a, np.float32).view(np.uint32) >> 16).astype(np.uint16).tobytes()
            dt = "BF16"
        else:
            a = np.ascontiguousarray(a)
            raw = a.tobytes()
            dt = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64", np.dtype(np.float16): "F16"}[a.dtype]
        header[k] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def encoder_sd(H=8, L=2, I=16, V=20, P=12, T=2, seed=0):
    r = np.random.default_rng(seed)
    sd = {"embeddings.word_embeddings.weight": r.normal(size=(V, H)), "embeddings.position_embeddings.weight":
          r.normal(size=(P, H)), "embeddings.token_type_embeddings.weight": r.normal(size=(T, H)),
          "embeddings.LayerNorm.weight": r.normal(size=H), "embeddings.LayerNorm.bias": r.normal(size=H)}
    for i in range(L):
        b = "encoder.layer.%d." % i
        for n in ("query", "key", "value"):
            sd[b + "attention.self.%s.weight" % n] = r.normal(size=(H, H))
            sd[b + "attention.self.%s.bias" % n] = r.normal(size=H)
        for n, shp in (("attention.output.dense", (H, H)), ("intermediate.dense", (I, H)), ("output.dense", (H, I))):
            sd[b + n + ".weight"] = r.normal(size=shp)
            sd[b + n + ".bias"] = r.normal(size=shp[0])
        for n in ("attention.output.LayerNorm", "output.LayerNorm"):
            sd[b + n + ".weight"] = r.normal(size=H)
            sd[b + n + ".bias"] = r.normal(size=H)
    sd["pooler.dense.weight"] = r.normal(size=(H, H))
    sd["pooler.dense.bias"] = r.normal(size=H)
    return {k: v.astype(np.float32) for k, v in sd.items()}


def config(mt, **kw):
    c = {"model_type": mt, "hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2,
         "intermediate_size": 16, "vocab_size": 20, "max_position_embeddings": 12, "type_vocab_size": 2,
         "layer_norm_eps": 1e-12, "hidden_act": "gelu", "pad_token_id": 0}
    if mt == "roberta":
        c.update(type_vocab_size=1, layer_norm_eps=1e-5, pad_token_id=1)
    c.update(kw)
    return c


WP_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + ["w%d" % i for i in range(15)]
BPE_VOCAB = ["<s>", "<pad>", "</s>", "<unk>", "<mask>", "a", "b", "ab", "\u0120", "\u0120ab"] + ["t%d" % i for i in range(8)]


def folder(name, mt, sd=None, cfg=None, prefix="", extra=None, tok="files", bf16=()):
    d = os.path.join(D, name)
    os.makedirs(d, exist_ok=True)
    json.dump(cfg or config(mt), open(os.path.join(d, "config.json"), "w"))
    sd = encoder_sd(T=2 if mt == "bert" else 1) if sd is None else sd
    full = {prefix + k: v for k, v in sd.items()}
    full.update(extra or {})
    write_safetensors(os.path.join(d, "model.safetensors"), full, bf16=tuple(prefix + b for b in bf16))
    if mt == "bert":
        if tok == "files":
            open(os.path.join(d, "vocab.txt"), "w").write("\n".join(WP_VOCAB) + "\n")
            json.dump({"do_lower_case": True, "model_max_length": 512}, open(os.path.join(d, "tokenizer_config.json"), "w"))
        else:
            json.dump({"model": {"type": "WordPiece", "vocab": {t: i for i, t in enumerate(WP_VOCAB)}}},
                      open(os.path.join(d, "tokenizer.json"), "w"))
    else:
        if tok == "files":
            json.dump({t: i for i, t in enumerate(BPE_VOCAB)}, open(os.path.join(d, "vocab.json"), "w"))
            open(os.path.join(d, "merges.txt"), "w").write("#version: 0.2\na b\n\u0120 ab\n")
            json.dump({"mask_token": {"content": "<mask>", "lstrip": True, "rstrip": False}, "pad_token": "<pad>"},
                      open(os.path.join(d, "special_tokens_map.json"), "w"))
            json.dump({"model_max_length": 1000000000000000019884624838656}, open(os.path.join(d, "tokenizer_config.json"), "w"))
        else:
            json.dump({"model": {"type": "BPE", "vocab": {t: i for i, t in enumerate(BPE_VOCAB)},
                                 "merges": [["a", "b"], "\u0120 ab"]}}, open(os.path.join(d, "tokenizer.json"), "w"))
    return d, sd


def run(d, out, *args):
    return subprocess.run([sys.executable, CONV, d, out] + list(args), capture_output=True, text=True)


def accept(name, d, sd, mt, *args):
    global checks
    checks += 1
    out = os.path.join(D, name + ".h5")
    r = run(d, out, *args)
    if r.returncode:
        fail("%s refused: %s" % (name, r.stderr.strip()))
        return None
    with h5py.File(out, "r") as f:
        if f.attrs["xrem_format"] != "weights" or f.attrs["version"] != 1 or f.attrs["arch"] != mt:
            fail("%s: root attrs %r" % (name, dict(f.attrs)))
        names = []
        f.visit(lambda n: names.append(n) if isinstance(f[n], h5py.Dataset) else None)
        want = sorted("bert." + k for k in sd) + sorted(["tokenizer/vocab"] + (["tokenizer/merges"] if mt == "roberta" else []))
        if sorted(names) != sorted(want):
            fail("%s: datasets %s" % (name, sorted(set(names) ^ set(want))))
        for k, v in sd.items():
            a = f["bert." + k][()]
            if "bf16" in name and k == "embeddings.word_embeddings.weight":
                v = ((v.view(np.uint32) >> 16) << 16).view(np.float32)
            if a.shape != v.shape or not np.array_equal(a.astype(np.float32), v):
                fail("%s: values of %s" % (name, k))
        c = f["config"].attrs
        exp = dict(hidden_size=8, num_layers=2, num_heads=2, intermediate_size=16, vocab_size=20, max_position=12,
                   position_offset=2 if mt == "roberta" else 0)
        for k, v in exp.items():
            if c[k] != v:
                fail("%s: config %s = %s, want %s" % (name, k, c[k], v))
        if abs(c["bert_ln_eps"] - (1e-5 if mt == "roberta" else 1e-12)) > 1e-20:
            fail("%s: bert_ln_eps %r" % (name, c["bert_ln_eps"]))
        t = f["tokenizer"]
        vocab = [x.decode() if isinstance(x, bytes) else x for x in t["vocab"][()]]
        if vocab != (BPE_VOCAB if mt == "roberta" else WP_VOCAB):
            fail("%s: vocab" % name)
        if mt == "roberta":
            merges = [x.decode() if isinstance(x, bytes) else x for x in t["merges"][()]]
            if merges != ["a b", "\u0120 ab"]:
                fail("%s: merges %r" % (name, merges))
            if t.attrs["kind"] != "bpe" or t.attrs["mask_token"] != "<mask>" or t.attrs["lstrip_roles"] != "mask" \
                    or t.attrs["rstrip_roles"] != "" or t.attrs["cls_token"] != "<s>" or t.attrs["sep_token"] != "</s>":
                fail("%s: tokenizer attrs %r" % (name, dict(t.attrs)))
            if "model_max_length" in t.attrs:
                fail("%s: HF's 'no limit' model_max_length was recorded" % name)
        else:
            if t.attrs["kind"] != "wordpiece" or t.attrs["do_lower_case"] != 1:
                fail("%s: tokenizer attrs %r" % (name, dict(t.attrs)))
            if "files" in name and t.attrs.get("model_max_length") != 512:
                fail("%s: model_max_length %r" % (name, t.attrs.get("model_max_length")))
    return out


def refuse(name, d, want, *args):
    global checks
    checks += 1
    r = run(d, os.path.join(D, name + ".h5"), *args)
    if r.returncode != 2 or want not in r.stderr:
        fail("%s: expected exit 2 naming %r, got %d: %s" % (name, want, r.returncode, r.stderr.strip()))
    if os.path.exists(os.path.join(D, name + ".h5")) or os.path.exists(os.path.join(D, name + ".h5.tmp")):
        fail("%s: output left behind" % name)


# ---- accepted
d, sd = folder("bert_files", "bert", prefix="bert.",
               extra={"cls.predictions.bias": np.zeros(20, np.float32), "bert.embeddings.position_ids":
                      np.arange(12, dtype=np.int64)[None]})
accept("bert_files", d, sd, "bert")
d, sd = folder("bert_json", "bert", tok="json")
accept("bert_json", d, sd, "bert")
d, sd = folder("roberta_files", "roberta", prefix="roberta.", extra={"lm_head.dense.weight": np.zeros((8, 8), np.float32)})
accept("roberta_files", d, sd, "roberta")
d, sd = folder("roberta_json_bf16", "roberta", tok="json", bf16=("embeddings.word_embeddings.weight",))
accept("roberta_json_bf16", d, sd, "roberta")
for dt in ("float16", "bfloat16"):
    r = run(os.path.join(D, "roberta_files"), os.path.join(D, "rf_%s.h5" % dt), "--dtype", dt)
    if r.returncode:
        fail("--dtype %s refused: %s" % (dt, r.stderr))
    else:
        with h5py.File(os.path.join(D, "rf_%s.h5" % dt), "r") as f:
            ds = f["bert.embeddings.word_embeddings.weight"]
            if (dt == "float16") != (ds.dtype == np.float16) or (dt == "bfloat16") != (ds.attrs.get("bfloat16") == 1):
                fail("--dtype %s: stored as %s" % (dt, ds.dtype))
try:
    import torch
    d = os.path.join(D, "bert_bin")
    os.makedirs(d, exist_ok=True)
    for fn in ("config.json", "vocab.txt", "tokenizer_config.json"):
        open(os.path.join(d, fn), "wb").write(open(os.path.join(D, "bert_files", fn), "rb").read())
    sd = encoder_sd()
    torch.save({"bert." + k: torch.from_numpy(v) for k, v in sd.items()}, os.path.join(d, "pytorch_model.bin"))
    accept("bert_bin", d, sd, "bert")
except ImportError:
    print("note: torch not importable, pytorch_model.bin path not checked")

# ---- refused
d, _ = folder("bad_type", "bert", cfg=config("xlnet"))
refuse("bad_type", d, "'model_type'")
d, _ = folder("bad_act", "bert", cfg=config("bert", hidden_act="gelu_new"))
refuse("bad_act", d, "'hidden_act'")
d, _ = folder("bad_pos", "bert", cfg=config("bert", position_embedding_type="relative_key"))
refuse("bad_pos", d, "'position_embedding_type'")
d, _ = folder("bad_extra", "bert", extra={"classifier.weight": np.zeros((2, 8), np.float32)})
refuse("bad_extra", d, "unknown key 'classifier.weight'")
sd = encoder_sd()
del sd["encoder.layer.1.output.dense.bias"]
d, _ = folder("bad_missing", "bert", sd=sd)
refuse("bad_missing", d, "missing required key 'encoder.layer.1.output.dense.bias'")
sd = encoder_sd()
sd["encoder.layer.0.intermediate.dense.weight"] = np.zeros((16, 9), np.float32)
d, _ = folder("bad_shape", "bert", sd=sd, prefix="bert.")
refuse("bad_shape", d, "key 'bert.encoder.layer.0.intermediate.dense.weight' has shape [16, 9]")
sd = encoder_sd()
sd["embeddings.LayerNorm.bias"][3] = np.nan
d, _ = folder("bad_nan", "bert", sd=sd)
refuse("bad_nan", d, "key 'embeddings.LayerNorm.bias' holds NaN")
d, _ = folder("bad_mixed", "bert", prefix="bert.", extra={"roberta.pooler.dense.bias": np.zeros(8, np.float32)})
refuse("bad_mixed", d, "mixed key prefixes")
d, _ = folder("bad_vocab_gap", "roberta")
v = {t: i for i, t in enumerate(BPE_VOCAB)}
v["t7"] = 30
json.dump(v, open(os.path.join(d, "vocab.json"), "w"))
refuse("bad_vocab_gap", d, "no token has id 17")
d, _ = folder("bad_special", "roberta")
json.dump({"mask_token": "[MASK]"}, open(os.path.join(d, "special_tokens_map.json"), "w"))
refuse("bad_special", d, "mask_token '[MASK]' is not in the vocabulary")
d, _ = folder("bad_no_weights", "bert")
os.remove(os.path.join(d, "model.safetensors"))
refuse("bad_no_weights", d, "no model.safetensors or pytorch_model.bin")
d, _ = folder("bad_header", "bert")
open(os.path.join(d, "model.safetensors"), "wb").write(struct.pack("<Q", 1 << 40) + b"{}")
refuse("bad_header", d, "not a safetensors file")
d, _ = folder("bad_wp_special", "bert")
json.dump({"cls_token": "<cls>"}, open(os.path.join(d, "tokenizer_config.json"), "w"))
refuse("bad_wp_special", d, "'cls_token'")
print("convert_hf: %d conversions checked, %d failures" % (checks, fails))
sys.exit(1 if fails else 0)
EOF
