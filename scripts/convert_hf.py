#!/usr/bin/env python3
"""Convert a Hugging Face BERT or RoBERTa model folder into an xrem weights file (HDF5, DESIGN.md §4).

usage: convert_hf.py HF_DIR OUT.h5 [--dtype float32|float16|bfloat16] [--name NAME] [--trust-pickle]

Interpreter: any python3 with numpy and h5py. model.safetensors (or a sharded model.safetensors.index.json) is
read by this script's own parser: no torch and no safetensors package needed. pytorch_model.bin (or its sharded
index) needs torch (Debian's /usr/bin/python3 with python3-torch) and goes through convert_albef.py's restricted
unpickler. Nothing is downloaded.

HF_DIR holds config.json, the weights, and the tokenizer files:
  model_type "bert":    vocab.txt (or tokenizer.json with a WordPiece model), tokenizer_config.json optional
  model_type "roberta": vocab.json + merges.txt (or tokenizer.json with a BPE model), special_tokens_map.json and
                        tokenizer_config.json optional (RobertaTokenizer's defaults otherwise)
Any other model_type is refused, naming config.json's 'model_type'; so are hidden_act other than "gelu" (erf),
position_embedding_type other than "absolute", decoder / cross-attention configs.

Checkpoint keys: a BertModel / RobertaModel state dict ("embeddings.…", "encoder.layer.N.…", "pooler.…"), or
the same under a "bert." / "roberta." prefix (BertForMaskedLM, RobertaForMaskedLM, ...). Ignored (dropped):
pretraining heads "lm_head.*" and "cls.*", the buffers "*.position_ids" and "*.token_type_ids". Any other key, a
missing key, a shape inconsistent with config.json, a non-float or non-finite tensor is refused: exit status 2
and a message naming the key.

Output (written to OUT.tmp, then renamed):
  root attrs  xrem_format="weights", version=1, arch ("bert" | "roberta"), source (the weights file name),
              source_sha256 (of that file; of the index file for sharded weights), weights_dtype, model_name
              (--name, else config.json's _name_or_path, else HF_DIR's base name, or org/name for a hub cache
              snapshot folder .../models--org--name/snapshots/HASH). eval/bertscore.c looks up bert_score's
              published baseline by this name: convert distilroberta-base with --name distilroberta-base.
  /config     int attrs hidden_size num_layers num_heads intermediate_size vocab_size max_position
              type_vocab_size position_offset (RoBERTa: pad_token_id + 1, BERT: 0) pad_token_id;
              float attr bert_ln_eps (config.json layer_norm_eps)
  /bert.<key> every kept tensor, under ONE prefix "bert." whatever the checkpoint used: "bert.embeddings.…",
              "bert.encoder.layer.N.…", "bert.pooler.dense.…" (pooler only when the checkpoint has it).
              models/bert.c loads them with prefix "bert.".
  /tokenizer  WordPiece: dataset vocab (id order); attrs kind="wordpiece", do_lower_case, strip_accents
              ("none" | "true" | "false"), tokenize_chinese_chars, [model_max_length]
              BPE: datasets vocab (id order; ids must be 0..n-1 with n <= vocab_size) and merges (the lines of
              merges.txt after HF drops the first and the last element, in rank order); attrs kind="bpe",
              add_prefix_space, cls_token sep_token bos_token eos_token pad_token unk_token mask_token,
              lstrip_roles / rstrip_roles (comma-separated role names, e.g. "mask"), [model_max_length]
              model_max_length is written only when tokenizer_config.json gives one below 10^9 (HF's "no limit").
"""
import argparse
import hashlib
import json
import math
import os
import struct
import sys

import h5py
import numpy as np

ARCHS = ("bert", "roberta")
ROLES = ("cls", "sep", "bos", "eos", "pad", "unk", "mask")
ROBERTA_DEFAULTS = {"cls": "<s>", "sep": "</s>", "bos": "<s>", "eos": "</s>", "pad": "<pad>", "unk": "<unk>",
                    "mask": "<mask>"}
BERT_SPECIALS = {"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]",
                 "mask_token": "[MASK]"}
NO_LIMIT = 10 ** 9


class ConvertError(Exception):
    pass


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def read_json(path, what):
    try:
        with open(path, "r", encoding="utf-8") as f:
            return json.load(f)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ConvertError("%s: cannot read %s: %s" % (path, what, str(e).splitlines()[0][:200]))


# ----------------------------------------------------------------------------------------------------------
# weights

_ST_DTYPES = {"F32": (np.float32, 4), "F16": (np.float16, 2), "BF16": (np.uint16, 2), "F64": (np.float64, 8),
              "I64": (np.int64, 8), "I32": (np.int32, 4), "I16": (np.int16, 2), "I8": (np.int8, 1),
              "U8": (np.uint8, 1), "BOOL": (np.bool_, 1)}


def read_safetensors(path):
    """{key: (numpy array, is_float)} from a .safetensors file (floats widened to float32)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise ConvertError("%s: not a safetensors file (shorter than 8 bytes)" % path)
        n = struct.unpack("<Q", raw)[0]
        if n > min(size - 8, 1 << 28):
            raise ConvertError("%s: not a safetensors file (header length %d)" % (path, n))
        try:
            header = json.loads(f.read(n).decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise ConvertError("%s: not a safetensors file (header: %s)" % (path, e))
    if not isinstance(header, dict):
        raise ConvertError("%s: not a safetensors file (header is not an object)" % path)
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n) if size > 8 + n else np.zeros(0, np.uint8)
    out = {}
    for k, info in header.items():
        if k == "__metadata__":
            continue
        try:
            dt, shape, (b, e) = info["dtype"], [int(d) for d in info["shape"]], info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise ConvertError("%s: key '%s': malformed header entry" % (path, k))
        if dt not in _ST_DTYPES:
            raise ConvertError("%s: key '%s' has unsupported dtype %s" % (path, k, dt))
        npdt, isz = _ST_DTYPES[dt]
        count = int(np.prod(shape)) if shape else 1
        if any(d < 0 for d in shape) or not (0 <= b <= e <= len(data)) or e - b != count * isz:
            raise ConvertError("%s: key '%s': data offsets [%s, %s) do not fit shape %s of %s in a %d-byte body"
                               % (path, k, b, e, shape, dt, len(data)))
        a = np.frombuffer(data[b:e].tobytes(), dtype=npdt).reshape(shape)
        if dt == "BF16":
            a = (a.astype(np.uint32) << 16).view(np.float32)
        isf = dt in ("F32", "F16", "BF16", "F64")
        out[k] = (a.astype(np.float32) if isf else a, isf)
    return out


def read_torch_bin(path, trust_pickle):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    try:
        import torch  # noqa: F401
        import convert_albef
    except ImportError as e:
        raise ConvertError("%s: reading pytorch_model.bin needs torch (%s); convert model.safetensors instead, "
                           "which needs only numpy and h5py" % (path, e))
    try:
        sd = convert_albef.load_state_dict(path, trust_pickle)
    except convert_albef.ConvertError as e:
        raise ConvertError(str(e))
    out = {}
    for k, v in sd.items():
        if not torch.is_tensor(v):
            raise ConvertError("key '%s' is not a tensor (%s)" % (k, type(v).__name__))
        isf = v.is_floating_point()
        out[k] = (v.detach().to(torch.float32).numpy() if isf else v.numpy(), isf)
    return out


def load_weights(d, trust_pickle):
    """(state dict {key: (array, is_float)}, source file name, sha256)."""
    for index, reader in (("model.safetensors.index.json", read_safetensors),
                          ("pytorch_model.bin.index.json", lambda p: read_torch_bin(p, trust_pickle))):
        ip = os.path.join(d, index)
        if os.path.isfile(ip):
            idx = read_json(ip, "the shard index")
            files = sorted(set((idx.get("weight_map") or {}).values())) if isinstance(idx, dict) else []
            if not files:
                raise ConvertError("%s: no 'weight_map'" % ip)
            sd = {}
            for fn in files:
                part = reader(os.path.join(d, os.path.basename(fn)))
                for k in part:
                    if k in sd:
                        raise ConvertError("key '%s' appears in two shards" % k)
                sd.update(part)
            return sd, index, sha256_file(ip)
    for fn, reader in (("model.safetensors", read_safetensors),
                       ("pytorch_model.bin", lambda p: read_torch_bin(p, trust_pickle))):
        p = os.path.join(d, fn)
        if os.path.isfile(p):
            return reader(p), fn, sha256_file(p)
    raise ConvertError("%s: no model.safetensors or pytorch_model.bin (nor a shard index)" % d)


def normalise_keys(sd, arch):
    """Drop ignored keys; strip 'bert.'/'roberta.'; returns {bare key: (orig key, array, is_float)}."""
    def ignored(k):
        return (k.startswith("lm_head.") or k.startswith("cls.") or k.endswith("embeddings.position_ids")
                or k.endswith("embeddings.token_type_ids"))
    kept_keys = [k for k in sd if not ignored(k)]
    prefixes = ("bert.", "roberta.")
    pref = sorted(set(p for k in kept_keys for p in prefixes if k.startswith(p)))
    if len(pref) > 1:
        raise ConvertError("mixed key prefixes: both 'bert.*' and 'roberta.*' keys")
    bare = [k for k in kept_keys if not any(k.startswith(p) for p in prefixes)]
    if pref and bare:
        raise ConvertError("unknown key '%s' (the other keys are under '%s')" % (sorted(bare)[0], pref[0]))
    out = {}
    for k in kept_keys:
        nk = k[len(pref[0]):] if pref else k
        out[nk] = (k, sd[k][0], sd[k][1])
    return out, len(sd) - len(kept_keys)


def read_config(d):
    p = os.path.join(d, "config.json")
    if not os.path.isfile(p):
        raise ConvertError("%s: no config.json" % d)
    cfg = read_json(p, "config.json")
    if not isinstance(cfg, dict):
        raise ConvertError("%s: not a JSON object" % p)
    mt = cfg.get("model_type")
    if mt not in ARCHS:
        raise ConvertError("%s: key 'model_type' is %r: unknown architecture (xrem converts %s)"
                           % (p, mt, ", ".join(ARCHS)))

    def need(key, lo=1, hi=1 << 24):
        v = cfg.get(key)
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            raise ConvertError("%s: key '%s' is %r, expected an integer in %d..%d" % (p, key, v, lo, hi))
        return v
    c = {"hidden_size": need("hidden_size"), "num_layers": need("num_hidden_layers", 1, 256),
         "num_heads": need("num_attention_heads", 1, 256), "intermediate_size": need("intermediate_size"),
         "vocab_size": need("vocab_size"), "max_position": need("max_position_embeddings", 1, 1 << 16),
         "type_vocab_size": need("type_vocab_size", 1, 64)}
    if c["hidden_size"] % c["num_heads"]:
        raise ConvertError("%s: key 'hidden_size' %d is not divisible by 'num_attention_heads' %d"
                           % (p, c["hidden_size"], c["num_heads"]))
    eps = cfg.get("layer_norm_eps", 1e-12)
    if not isinstance(eps, (int, float)) or not 0 < eps < 1:
        raise ConvertError("%s: key 'layer_norm_eps' is %r, expected a float in (0, 1)" % (p, eps))
    c["bert_ln_eps"] = float(eps)
    act = cfg.get("hidden_act", "gelu")
    if act != "gelu":
        raise ConvertError("%s: key 'hidden_act' is %r: xrem's BERT uses the exact (erf) 'gelu' only" % (p, act))
    pe = cfg.get("position_embedding_type", "absolute")
    if pe != "absolute":
        raise ConvertError("%s: key 'position_embedding_type' is %r: only 'absolute' is supported" % (p, pe))
    for k in ("is_decoder", "add_cross_attention"):
        if cfg.get(k):
            raise ConvertError("%s: key '%s' is true: decoders / cross-attention are not supported" % (p, k))
    pad = cfg.get("pad_token_id", 1 if mt == "roberta" else 0)
    if not isinstance(pad, int) or pad < 0:
        raise ConvertError("%s: key 'pad_token_id' is %r" % (p, pad))
    c["pad_token_id"] = pad
    c["position_offset"] = pad + 1 if mt == "roberta" else 0
    if c["position_offset"] >= c["max_position"]:
        raise ConvertError("%s: key 'pad_token_id' %d leaves no positions (max_position_embeddings %d)"
                           % (p, pad, c["max_position"]))
    return mt, c, cfg


def expected_shapes(c, has_pooler):
    H, I = c["hidden_size"], c["intermediate_size"]
    e = {"embeddings.word_embeddings.weight": (c["vocab_size"], H),
         "embeddings.position_embeddings.weight": (c["max_position"], H),
         "embeddings.token_type_embeddings.weight": (c["type_vocab_size"], H),
         "embeddings.LayerNorm.weight": (H,), "embeddings.LayerNorm.bias": (H,)}
    for i in range(c["num_layers"]):
        b = "encoder.layer.%d." % i
        for n in ("query", "key", "value"):
            e[b + "attention.self.%s.weight" % n] = (H, H)
            e[b + "attention.self.%s.bias" % n] = (H,)
        e[b + "attention.output.dense.weight"] = (H, H)
        e[b + "attention.output.dense.bias"] = (H,)
        e[b + "attention.output.LayerNorm.weight"] = (H,)
        e[b + "attention.output.LayerNorm.bias"] = (H,)
        e[b + "intermediate.dense.weight"] = (I, H)
        e[b + "intermediate.dense.bias"] = (I,)
        e[b + "output.dense.weight"] = (H, I)
        e[b + "output.dense.bias"] = (H,)
        e[b + "output.LayerNorm.weight"] = (H,)
        e[b + "output.LayerNorm.bias"] = (H,)
    if has_pooler:
        e["pooler.dense.weight"] = (H, H)
        e["pooler.dense.bias"] = (H,)
    return e


def validate(kept, c):
    has_pooler = any(k.startswith("pooler.") for k in kept)
    exp = expected_shapes(c, has_pooler)
    unknown = sorted(k for k in kept if k not in exp)
    if unknown:
        raise ConvertError("unknown key '%s'%s" % (kept[unknown[0]][0], "" if len(unknown) == 1
                                                    else " (and %d more unknown keys)" % (len(unknown) - 1)))
    missing = sorted(k for k in exp if k not in kept)
    if missing:
        raise ConvertError("missing required key '%s'%s" % (missing[0], "" if len(missing) == 1
                                                             else " (and %d more missing keys)" % (len(missing) - 1)))
    for k in sorted(exp):
        orig, a, isf = kept[k]
        if not isf:
            raise ConvertError("key '%s' has dtype %s, expected a floating-point tensor" % (orig, a.dtype))
        if tuple(a.shape) != exp[k]:
            raise ConvertError("key '%s' has shape %s, expected %s from config.json" % (orig, list(a.shape), list(exp[k])))
        if not np.isfinite(a).all():
            raise ConvertError("key '%s' holds NaN or Inf values" % orig)


# ----------------------------------------------------------------------------------------------------------
# tokenizers

def tok_config(d):
    p = os.path.join(d, "tokenizer_config.json")
    cfg = read_json(p, "tokenizer_config.json") if os.path.isfile(p) else {}
    if not isinstance(cfg, dict):
        raise ConvertError("%s: not a JSON object" % p)
    return cfg


def max_length(tcfg):
    m = tcfg.get("model_max_length")
    if isinstance(m, (int, float)) and not isinstance(m, bool) and 2 <= m < NO_LIMIT:
        return int(m)
    return None


def fast_tokenizer_model(d, kind):
    p = os.path.join(d, "tokenizer.json")
    if not os.path.isfile(p):
        return None
    t = read_json(p, "tokenizer.json")
    m = t.get("model") if isinstance(t, dict) else None
    if not isinstance(m, dict) or m.get("type") != kind:
        raise ConvertError("%s: key 'model.type' is %r, expected %r" % (p, (m or {}).get("type"), kind))
    return m


def vocab_in_id_order(tok2id, where, vocab_size):
    if not isinstance(tok2id, dict) or not tok2id:
        raise ConvertError("%s: the vocabulary is not a non-empty object" % where)
    ids = {}
    for t, i in tok2id.items():
        if not isinstance(i, int) or isinstance(i, bool) or i < 0:
            raise ConvertError("%s: token %r has id %r" % (where, t, i))
        ids[i] = t  # json.load semantics already applied; two tokens on one id: the later one names it
    n = max(ids) + 1
    for i in range(n):
        if i not in ids:
            raise ConvertError("%s: no token has id %d (ids must be 0..%d)" % (where, i, n - 1))
    if n > vocab_size:
        raise ConvertError("%s: %d tokens but config.json's vocab_size is %d" % (where, n, vocab_size))
    return [ids[i] for i in range(n)]


def wordpiece_tokenizer(d, vocab_size):
    tcfg = tok_config(d)
    for k, want in BERT_SPECIALS.items():
        v = tcfg.get(k, want)
        if isinstance(v, dict):
            v = v.get("content")
        if v != want:
            raise ConvertError("%s: key '%s' is %r: xrem's WordPiece tokenizer uses %r"
                               % (os.path.join(d, "tokenizer_config.json"), k, v, want))
    p = os.path.join(d, "vocab.txt")
    if os.path.isfile(p):
        try:
            with open(p, "r", encoding="utf-8") as f:  # HF's load_vocab: readlines(), rstrip("\n")
                toks = [line.rstrip("\n") for line in f.readlines()]
        except (OSError, UnicodeDecodeError) as e:
            raise ConvertError("%s: cannot read: %s" % (p, e))
        if not toks:
            raise ConvertError("%s: empty vocabulary" % p)
        if len(toks) > vocab_size:
            raise ConvertError("%s: %d tokens but config.json's vocab_size is %d" % (p, len(toks), vocab_size))
    else:
        m = fast_tokenizer_model(d, "WordPiece")
        if m is None:
            raise ConvertError("%s: no vocab.txt or tokenizer.json" % d)
        toks = vocab_in_id_order(m.get("vocab"), os.path.join(d, "tokenizer.json"), vocab_size)
    sa = tcfg.get("strip_accents", None)
    attrs = {"kind": "wordpiece", "do_lower_case": int(bool(tcfg.get("do_lower_case", True))),
             "strip_accents": "none" if sa is None else ("true" if sa else "false"),
             "tokenize_chinese_chars": int(bool(tcfg.get("tokenize_chinese_chars", True)))}
    ml = max_length(tcfg)
    if ml:
        attrs["model_max_length"] = ml
    return toks, None, attrs


def special_tokens(d, tcfg):
    """RobertaTokenizer's special tokens: (content by role, lstrip roles, rstrip roles)."""
    p = os.path.join(d, "special_tokens_map.json")
    smap = read_json(p, "special_tokens_map.json") if os.path.isfile(p) else {}
    content, lstrip, rstrip = {}, [], []
    for r in ROLES:
        v = smap.get(r + "_token", tcfg.get(r + "_token", ROBERTA_DEFAULTS[r]))
        if isinstance(v, dict):
            c, ls, rs = v.get("content"), bool(v.get("lstrip", False)), bool(v.get("rstrip", False))
        else:  # RobertaTokenizer.__init__ wraps plain strings: lstrip only for <mask>
            c, ls, rs = v, r == "mask", False
        if not isinstance(c, str) or not c:
            raise ConvertError("%s: key '%s_token' is %r" % (p, r, v))
        content[r] = c
        if ls:
            lstrip.append(r)
        if rs:
            rstrip.append(r)
    return content, lstrip, rstrip


def bpe_tokenizer(d, vocab_size):
    tcfg = tok_config(d)
    vj, mt = os.path.join(d, "vocab.json"), os.path.join(d, "merges.txt")
    if os.path.isfile(vj) and os.path.isfile(mt):
        toks = vocab_in_id_order(read_json(vj, "vocab.json"), vj, vocab_size)
        try:
            with open(mt, "r", encoding="utf-8") as f:  # RobertaTokenizer: read().split("\n")[1:-1]
                merges = f.read().split("\n")[1:-1]
        except (OSError, UnicodeDecodeError) as e:
            raise ConvertError("%s: cannot read: %s" % (mt, e))
    else:
        m = fast_tokenizer_model(d, "BPE")
        if m is None:
            raise ConvertError("%s: no vocab.json + merges.txt or tokenizer.json" % d)
        toks = vocab_in_id_order(m.get("vocab"), os.path.join(d, "tokenizer.json"), vocab_size)
        merges = []
        for x in m.get("merges") or []:
            if isinstance(x, list) and len(x) == 2:
                merges.append(x[0] + " " + x[1])
            elif isinstance(x, str):
                merges.append(x)
            else:
                raise ConvertError("%s: malformed merge %r" % (os.path.join(d, "tokenizer.json"), x))
    content, lstrip, rstrip = special_tokens(d, tcfg)
    tok_set = set(toks)
    for r in ROLES:
        if content[r] not in tok_set:
            raise ConvertError("special token %s_token %r is not in the vocabulary" % (r, content[r]))
    ap = os.path.join(d, "added_tokens.json")
    if os.path.isfile(ap):
        added = read_json(ap, "added_tokens.json")
        for t, i in (added.items() if isinstance(added, dict) else []):
            if i >= len(toks) or toks[i] != t:
                raise ConvertError("%s: added token %r (id %r) is not in the vocabulary: not supported" % (ap, t, i))
    attrs = {"kind": "bpe", "add_prefix_space": int(bool(tcfg.get("add_prefix_space", False))),
             "lstrip_roles": ",".join(lstrip), "rstrip_roles": ",".join(rstrip)}
    for r in ROLES:
        attrs[r + "_token"] = content[r]
    ml = max_length(tcfg)
    if ml:
        attrs["model_max_length"] = ml
    return toks, merges, attrs


def default_name(hf_dir):
    """The folder's name; for a hub cache snapshot (.../models--org--name/snapshots/<hash>) the hub id org/name."""
    parts = os.path.normpath(os.path.abspath(hf_dir)).split(os.sep)
    if len(parts) >= 3 and parts[-2] == "snapshots" and parts[-3].startswith("models--"):
        return parts[-3][len("models--"):].replace("--", "/")
    return parts[-1]


# ----------------------------------------------------------------------------------------------------------
def convert(hf_dir, out_path, dtype="float32", name=None, trust_pickle=False, quiet=False):
    if dtype not in ("float32", "float16", "bfloat16"):
        raise ConvertError("--dtype must be float32, float16 or bfloat16, got '%s'" % dtype)
    if not os.path.isdir(hf_dir):
        raise ConvertError("%s: not a folder" % hf_dir)
    arch, c, cfg = read_config(hf_dir)
    if arch == "bert":
        toks, merges, tattrs = wordpiece_tokenizer(hf_dir, c["vocab_size"])
    else:
        toks, merges, tattrs = bpe_tokenizer(hf_dir, c["vocab_size"])
    sd, src, sha = load_weights(hf_dir, trust_pickle)
    kept, ndropped = normalise_keys(sd, arch)
    validate(kept, c)
    model_name = name or cfg.get("_name_or_path") or default_name(hf_dir)

    tmp = out_path + ".tmp"
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["xrem_format"] = "weights"
            f.attrs["version"] = np.int32(1)
            f.attrs["arch"] = arch
            f.attrs["source"] = src
            f.attrs["source_sha256"] = sha
            f.attrs["weights_dtype"] = dtype
            f.attrs["model_name"] = model_name
            g = f.create_group("config")
            for k in ("hidden_size", "num_layers", "num_heads", "intermediate_size", "vocab_size", "max_position",
                      "type_vocab_size", "position_offset", "pad_token_id"):
                g.attrs[k] = np.int32(c[k])
            g.attrs["bert_ln_eps"] = np.float64(c["bert_ln_eps"])
            for k in sorted(kept):
                a = np.ascontiguousarray(kept[k][1], dtype=np.float32)
                key = "bert." + k
                if dtype == "float32":
                    f.create_dataset(key, data=a)
                elif dtype == "float16":
                    h = a.astype(np.float16)
                    if not np.isfinite(h).all():
                        raise ConvertError("key '%s' overflows float16" % kept[k][0])
                    f.create_dataset(key, data=h)
                else:  # round to nearest even, stored as uint16 with attr bfloat16=1 (as convert_albef.py)
                    u = a.view(np.uint32)
                    bits = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
                    ds = f.create_dataset(key, data=bits)
                    ds.attrs["bfloat16"] = np.int32(1)
            tg = f.create_group("tokenizer")
            sdt = h5py.string_dtype(encoding="utf-8")
            tg.create_dataset("vocab", data=np.array(toks, dtype=object), dtype=sdt)
            if merges is not None:
                tg.create_dataset("merges", data=np.array(merges, dtype=object), dtype=sdt)
            for k, v in tattrs.items():
                tg.attrs[k] = np.int32(v) if isinstance(v, int) else v
        os.replace(tmp, out_path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    if not quiet:
        print("convert_hf: %s -> %s: arch %s (%s), %d tensors kept, %d ignored, tokenizer %s with %d tokens (%s)"
              % (hf_dir, out_path, arch, model_name, len(kept), ndropped, tattrs["kind"], len(toks), dtype))
    return c


def main(argv=None):
    ap = argparse.ArgumentParser(description="Convert a Hugging Face BERT/RoBERTa folder to an xrem weights file.")
    ap.add_argument("hf_dir", help="folder with config.json, model.safetensors or pytorch_model.bin, tokenizer files")
    ap.add_argument("output", help="output weights .h5")
    ap.add_argument("--dtype", default="float32", choices=("float32", "float16", "bfloat16"))
    ap.add_argument("--name", help="model name recorded in the file (default: config.json's _name_or_path)")
    ap.add_argument("--trust-pickle", action="store_true",
                    help="pytorch_model.bin only: allow full pickle loading (runs arbitrary code!)")
    a = ap.parse_args(argv)
    try:
        convert(a.hf_dir, a.output, a.dtype, a.name, a.trust_pickle)
    except ConvertError as e:
        print("convert_hf: error: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
