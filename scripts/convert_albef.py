#!/usr/bin/python3
"""Convert an ALBEF / X-REM PyTorch checkpoint (.pth) into an xrem weights file (HDF5, DESIGN.md §4).

Interpreter: Debian's /usr/bin/python3 (python3-torch 1.13, numpy 1.24, h5py 3.7). No network, no downloads.

usage: convert_albef.py IN.pth OUT.h5 --arch albef_retrieval|albef_itm
                        [--vocab VOCAB.txt | --no-vocab] [--image-res R] [--vit-heads 12] [--bert-heads 12]
                        [--dtype float32|float16|bfloat16] [--trust-pickle]

Layouts accepted: {'model': state_dict, ...} (what ALBEF saves) or a bare state dict.
  albef_retrieval: visual_encoder.*, text_encoder.bert.* (pretrain, BertForMaskedLM; 'bert.' is stripped) or
                   text_encoder.* (model_retrieval, BertModel), vision_proj.*, text_proj.*, itm_head.*
  albef_itm:       visual_encoder.*, text_encoder.*, cls_head.0.*, cls_head.2.*
Ignored (dropped): momentum copies (first component ending in '_m': visual_encoder_m, text_encoder_m, ...),
  image_queue, text_queue, idx_queue, queue_ptr, temp, text_encoder.cls.* (MLM head), *.embeddings.position_ids.
Any other key, a missing key, a shape inconsistent with the inferred config, a non-float or non-finite tensor,
or an unreadable file is refused: exit status 2 and a message naming the key.

Output (HDF5, written to OUT.tmp then renamed):
  root attrs  xrem_format="weights", version=1, arch, source (input file name), source_sha256,
              weights_dtype ("float32" | "float16" | "bfloat16"; bfloat16 datasets are uint16 with attr bfloat16=1)
  /config     int attrs vision_width vit_depth vit_heads vit_mlp patch_size image_res hidden_size num_layers
              num_heads intermediate_size vocab_size max_position type_vocab_size fusion_layer encoder_width
              [embed_dim (retrieval)] [run_image_res (only if --image-res)]; float attrs vit_ln_eps bert_ln_eps
  /<key>      every kept tensor at the root under its (stripped) checkpoint key, shape as stored
              (visual_encoder.pos_embed is NOT interpolated: image_res is the checkpoint's grid * patch)
  /tokenizer  dataset vocab (1-D variable-length UTF-8, id order), attrs do_lower_case=1, kind="wordpiece"
"""
import argparse
import hashlib
import math
import os
import pickle
import re
import sys
import types

import h5py
import numpy as np
import torch

ARCHS = ("albef_retrieval", "albef_itm")
VIT_LN_EPS = 1e-6
BERT_LN_EPS = 1e-12
IGNORED_EXACT = {"image_queue", "text_queue", "idx_queue", "queue_ptr", "temp"}


class ConvertError(Exception):
    pass


# ----------------------------------------------------------------------------------------------------------
def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


# Restricted unpickling. torch 1.13's weights_only=True rejects plain floats (pickle opcode BINFLOAT), which every
# real ALBEF checkpoint holds in 'config' and the optimizer state, so we restrict find_class ourselves: every
# primitive opcode is allowed, globals only from this list (tensor rebuilding, containers, numpy scalars).
_SAFE_GLOBALS = {
    ("collections", "OrderedDict"), ("torch._utils", "_rebuild_tensor"), ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_parameter_with_state"),
    ("torch.nn.parameter", "Parameter"), ("torch", "Size"), ("torch", "Tensor"), ("torch", "device"),
    ("torch.serialization", "_get_layout"), ("argparse", "Namespace"), ("builtins", "set"),
    ("builtins", "frozenset"), ("builtins", "complex"), ("builtins", "slice"), ("builtins", "object"),
    ("copyreg", "_reconstructor"), ("_codecs", "encode"), ("numpy", "dtype"), ("numpy", "ndarray"),
    ("numpy.core.multiarray", "scalar"), ("numpy.core.multiarray", "_reconstruct"),
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        if module == "torch" and isinstance(getattr(torch, name, None), torch.dtype):
            return getattr(torch, name)
        if module.startswith("numpy") and name.endswith("DType"):  # numpy >= 1.20 dtype classes
            return super().find_class(module, name)
        raise pickle.UnpicklingError("refusing to unpickle global %s.%s" % (module, name))


class _SafePickleModule(types.ModuleType):
    """The pickle module with a restricted Unpickler/load (everything else forwarded to pickle)."""
    Unpickler = _SafeUnpickler

    @staticmethod
    def load(f, **kw):
        return _SafeUnpickler(f, **kw).load()

    def __getattr__(self, name):
        return getattr(pickle, name)


_SAFE_PICKLE = _SafePickleModule("xrem_safe_pickle")


def _torch_load_restricted(path):
    # Some torch builds (this Debian 1.13) replace pickle_module by the global `pickle` whenever weights_only is
    # off, silently ignoring the argument: swap torch.serialization's `pickle` for the call as well.
    saved = torch.serialization.pickle
    torch.serialization.pickle = _SAFE_PICKLE
    try:
        return torch.load(path, map_location="cpu", pickle_module=_SAFE_PICKLE)
    finally:
        torch.serialization.pickle = saved


def load_state_dict(path, trust_pickle=False):
    """torch.load(map_location='cpu') with a restricted unpickler (full pickle with trust_pickle);
    take ['model'] when present. Returns a plain dict."""
    if not os.path.isfile(path):
        raise ConvertError("%s: no such file" % path)
    try:
        if trust_pickle:
            obj = torch.load(path, map_location="cpu")
        else:
            obj = _torch_load_restricted(path)
    except Exception as e:  # noqa: BLE001 - any failure means "not a checkpoint we can read"
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        hint = ""
        if "refusing to unpickle global" in msg:
            hint = " (if the checkpoint is trusted, --trust-pickle allows full pickle loading)"
        raise ConvertError("%s: not a readable PyTorch checkpoint (torch.load: %s)%s" % (path, msg[:300], hint))
    if isinstance(obj, dict) and "model" in obj and isinstance(obj["model"], dict):
        obj = obj["model"]
    if not isinstance(obj, dict) or not obj:
        raise ConvertError("%s: not a checkpoint: expected a state dict or {'model': state_dict}, got %s"
                           % (path, type(obj).__name__))
    for k in obj:
        if not isinstance(k, str):
            raise ConvertError("%s: not a state dict: key %r is not a string" % (path, k))
    return dict(obj)


def is_ignored(key):
    first = key.split(".", 1)[0]
    if first.endswith("_m"):
        return True
    if key in IGNORED_EXACT:
        return True
    if key.startswith("text_encoder.cls.") or key.startswith("text_encoder.bert.cls."):
        return True
    if key.endswith("embeddings.position_ids"):
        return True
    return False


def strip_layout(sd, arch):
    """Drop ignored keys, strip 'text_encoder.bert.' -> 'text_encoder.'. Returns (kept, dropped_keys)."""
    kept, dropped = {}, []
    has_bert = any(k.startswith("text_encoder.bert.") for k in sd if not is_ignored(k))
    has_plain = any(k.startswith("text_encoder.") and not k.startswith("text_encoder.bert.")
                    for k in sd if not is_ignored(k))
    if has_bert and has_plain:
        k = sorted(k for k in sd if k.startswith("text_encoder.") and not k.startswith("text_encoder.bert.")
                   and not is_ignored(k))[0]
        raise ConvertError("mixed text encoder layouts: both 'text_encoder.bert.*' and '%s'" % k)
    for k, v in sd.items():
        if is_ignored(k):
            dropped.append(k)
            continue
        nk = "text_encoder." + k[len("text_encoder.bert."):] if k.startswith("text_encoder.bert.") else k
        kept[nk] = (k, v)
    return kept, dropped


# ----------------------------------------------------------------------------------------------------------
def orig_name(kept, key):
    """The checkpoint's own name for a stripped key (re-inserting 'bert.' for a BertForMaskedLM layout)."""
    if key in kept:
        return kept[key][0]
    if key.startswith("text_encoder.") and any(o.startswith("text_encoder.bert.") for o, _ in kept.values()):
        return "text_encoder.bert." + key[len("text_encoder."):]
    return key


def _shape(kept, key):
    if key not in kept:
        raise ConvertError("missing required key '%s'" % orig_name(kept, key))
    v = kept[key][1]
    if not torch.is_tensor(v):
        raise ConvertError("key '%s' is not a tensor (%s)" % (kept[key][0], type(v).__name__))
    return tuple(v.shape)


def _max_index(kept, pattern):
    rx = re.compile(pattern)
    idx = [int(m.group(1)) for m in (rx.match(k) for k in kept) if m]
    return (max(idx) + 1) if idx else 0, sorted(set(idx))


TOP_LEVEL = {"albef_retrieval": ("visual_encoder", "text_encoder", "vision_proj", "text_proj", "itm_head"),
             "albef_itm": ("visual_encoder", "text_encoder", "cls_head")}


def check_top_level(kept, arch):
    """Refuse keys under a first component the arch does not have (before inferring anything)."""
    bad = sorted(k for k in kept if k.split(".", 1)[0] not in TOP_LEVEL[arch])
    if bad:
        other = "albef_itm" if arch == "albef_retrieval" else "albef_retrieval"
        hint = ""
        if any(k.split(".", 1)[0] in TOP_LEVEL[other] for k in bad):
            hint = " (does the checkpoint belong to --arch %s?)" % other
        raise ConvertError("unknown key '%s'%s%s" % (kept[bad[0]][0], hint,
                           "" if len(bad) == 1 else " (and %d more unknown keys)" % (len(bad) - 1)))


def infer_config(kept, arch, vit_heads=12, bert_heads=12):
    check_top_level(kept, arch)
    c = {}
    pw = _shape(kept, "visual_encoder.patch_embed.proj.weight")
    if len(pw) != 4 or pw[1] != 3 or pw[2] != pw[3]:
        raise ConvertError("key 'visual_encoder.patch_embed.proj.weight' has shape %s, expected [C,3,p,p]" % (list(pw),))
    c["vision_width"], c["patch_size"] = pw[0], pw[2]
    pe = _shape(kept, "visual_encoder.pos_embed")
    if len(pe) != 3 or pe[0] != 1 or pe[1] < 2:
        raise ConvertError("key 'visual_encoder.pos_embed' has shape %s, expected [1,1+P,C]" % (list(pe),))
    P = pe[1] - 1
    g = math.isqrt(P)
    if g * g != P:
        raise ConvertError("key 'visual_encoder.pos_embed' has %d grid tokens: not a square grid" % P)
    c["image_res"] = g * c["patch_size"]
    c["vit_depth"], _ = _max_index(kept, r"^visual_encoder\.blocks\.(\d+)\.")
    if c["vit_depth"] == 0:
        raise ConvertError("missing required key 'visual_encoder.blocks.0.norm1.weight'")  # no block at all
    c["vit_mlp"] = _shape(kept, "visual_encoder.blocks.0.mlp.fc1.weight")[0]
    c["vit_heads"] = int(vit_heads)

    we = _shape(kept, "text_encoder.embeddings.word_embeddings.weight")
    if len(we) != 2:
        raise ConvertError("key 'text_encoder.embeddings.word_embeddings.weight' has shape %s" % (list(we),))
    c["vocab_size"], c["hidden_size"] = we
    c["max_position"] = _shape(kept, "text_encoder.embeddings.position_embeddings.weight")[0]
    c["type_vocab_size"] = _shape(kept, "text_encoder.embeddings.token_type_embeddings.weight")[0]
    c["num_layers"], _ = _max_index(kept, r"^text_encoder\.encoder\.layer\.(\d+)\.")
    if c["num_layers"] == 0:
        raise ConvertError("missing required key '%s'"
                           % orig_name(kept, "text_encoder.encoder.layer.0.attention.self.query.weight"))
    c["intermediate_size"] = _shape(kept, "text_encoder.encoder.layer.0.intermediate.dense.weight")[0]
    c["num_heads"] = int(bert_heads)
    _, cross = _max_index(kept, r"^text_encoder\.encoder\.layer\.(\d+)\.crossattention\.")
    if not cross:
        raise ConvertError("no text_encoder.encoder.layer.*.crossattention.* keys: not an ALBEF fusion encoder "
                           "(missing required key '%s')"
                           % orig_name(kept, "text_encoder.encoder.layer.%d.crossattention.self.key.weight"
                                       % (c["num_layers"] - 1)))
    c["fusion_layer"] = cross[0]
    c["encoder_width"] = _shape(kept, "text_encoder.encoder.layer.%d.crossattention.self.key.weight" % cross[0])[1]
    if arch == "albef_retrieval":
        c["embed_dim"] = _shape(kept, "vision_proj.weight")[0]

    if c["vision_width"] % c["vit_heads"]:
        raise ConvertError("vision_width %d is not divisible by --vit-heads %d" % (c["vision_width"], c["vit_heads"]))
    if c["hidden_size"] % c["num_heads"]:
        raise ConvertError("hidden_size %d is not divisible by --bert-heads %d" % (c["hidden_size"], c["num_heads"]))
    if c["encoder_width"] != c["vision_width"]:
        raise ConvertError("key '%s': encoder_width %d != vision_width %d" % (
            orig_name(kept, "text_encoder.encoder.layer.%d.crossattention.self.key.weight" % c["fusion_layer"]),
            c["encoder_width"], c["vision_width"]))
    return c


def expected_shapes(c, arch):
    """Every key (after stripping) the arch must have, with its shape."""
    e = {}
    C, p, P = c["vision_width"], c["patch_size"], (c["image_res"] // c["patch_size"]) ** 2
    e["visual_encoder.cls_token"] = (1, 1, C)
    e["visual_encoder.pos_embed"] = (1, 1 + P, C)
    e["visual_encoder.patch_embed.proj.weight"] = (C, 3, p, p)
    e["visual_encoder.patch_embed.proj.bias"] = (C,)
    for i in range(c["vit_depth"]):
        b = "visual_encoder.blocks.%d." % i
        for n in ("norm1", "norm2"):
            e[b + n + ".weight"] = (C,)
            e[b + n + ".bias"] = (C,)
        e[b + "attn.qkv.weight"] = (3 * C, C)
        e[b + "attn.qkv.bias"] = (3 * C,)
        e[b + "attn.proj.weight"] = (C, C)
        e[b + "attn.proj.bias"] = (C,)
        e[b + "mlp.fc1.weight"] = (c["vit_mlp"], C)
        e[b + "mlp.fc1.bias"] = (c["vit_mlp"],)
        e[b + "mlp.fc2.weight"] = (C, c["vit_mlp"])
        e[b + "mlp.fc2.bias"] = (C,)
    e["visual_encoder.norm.weight"] = (C,)
    e["visual_encoder.norm.bias"] = (C,)

    H, I, W = c["hidden_size"], c["intermediate_size"], c["encoder_width"]
    t = "text_encoder."
    e[t + "embeddings.word_embeddings.weight"] = (c["vocab_size"], H)
    e[t + "embeddings.position_embeddings.weight"] = (c["max_position"], H)
    e[t + "embeddings.token_type_embeddings.weight"] = (c["type_vocab_size"], H)
    e[t + "embeddings.LayerNorm.weight"] = (H,)
    e[t + "embeddings.LayerNorm.bias"] = (H,)
    for i in range(c["num_layers"]):
        b = t + "encoder.layer.%d." % i
        atts = [("attention.", H)] + ([("crossattention.", W)] if i >= c["fusion_layer"] else [])
        for a, kv in atts:
            e[b + a + "self.query.weight"] = (H, H)
            e[b + a + "self.query.bias"] = (H,)
            e[b + a + "self.key.weight"] = (H, kv)
            e[b + a + "self.key.bias"] = (H,)
            e[b + a + "self.value.weight"] = (H, kv)
            e[b + a + "self.value.bias"] = (H,)
            e[b + a + "output.dense.weight"] = (H, H)
            e[b + a + "output.dense.bias"] = (H,)
            e[b + a + "output.LayerNorm.weight"] = (H,)
            e[b + a + "output.LayerNorm.bias"] = (H,)
        e[b + "intermediate.dense.weight"] = (I, H)
        e[b + "intermediate.dense.bias"] = (I,)
        e[b + "output.dense.weight"] = (H, I)
        e[b + "output.dense.bias"] = (H,)
        e[b + "output.LayerNorm.weight"] = (H,)
        e[b + "output.LayerNorm.bias"] = (H,)
    if arch == "albef_retrieval":
        E = c["embed_dim"]
        e["vision_proj.weight"] = (E, C)
        e["vision_proj.bias"] = (E,)
        e["text_proj.weight"] = (E, H)
        e["text_proj.bias"] = (E,)
        e["itm_head.weight"] = (2, H)
        e["itm_head.bias"] = (2,)
    else:
        e["cls_head.0.weight"] = (H, H)
        e["cls_head.0.bias"] = (H,)
        e["cls_head.2.weight"] = (3, H)
        e["cls_head.2.bias"] = (3,)
    return e


def validate(kept, c, arch):
    exp = expected_shapes(c, arch)
    unknown = sorted(k for k in kept if k not in exp)
    if unknown:
        orig = kept[unknown[0]][0]
        hint = ""
        other = "albef_itm" if arch == "albef_retrieval" else "albef_retrieval"
        if any(k.startswith(("vision_proj.", "text_proj.", "itm_head.", "cls_head.")) for k in unknown):
            hint = " (does the checkpoint belong to --arch %s?)" % other
        raise ConvertError("unknown key '%s'%s%s" % (orig, hint,
                           "" if len(unknown) == 1 else " (and %d more unknown keys)" % (len(unknown) - 1)))
    missing = sorted(k for k in exp if k not in kept)
    if missing:
        raise ConvertError("missing required key '%s'%s" % (orig_name(kept, missing[0]),
                           "" if len(missing) == 1 else " (and %d more missing keys)" % (len(missing) - 1)))
    for k in sorted(exp):
        orig, v = kept[k]
        if not torch.is_tensor(v):
            raise ConvertError("key '%s' is not a tensor (%s)" % (orig, type(v).__name__))
        if tuple(v.shape) != exp[k]:
            raise ConvertError("key '%s' has shape %s, expected %s from the inferred config"
                               % (orig, list(v.shape), list(exp[k])))
        if not v.is_floating_point():
            raise ConvertError("key '%s' has dtype %s, expected a floating-point tensor" % (orig, v.dtype))
        if not bool(torch.isfinite(v).all()):
            raise ConvertError("key '%s' holds NaN or Inf values" % orig)


def read_vocab(path):
    try:
        with open(path, "r", encoding="utf-8") as f:
            toks = [line.rstrip("\n").rstrip("\r") for line in f]
    except (OSError, UnicodeDecodeError) as e:
        raise ConvertError("--vocab %s: cannot read: %s" % (path, e))
    while toks and toks[-1] == "":  # a trailing blank line is not a token
        toks.pop()
    return toks


# ---- shared by convert_albef.py, convert_nli.py and convert_chexbert.py ----------------------------------
def prepare_vocab(vocab, vocab_tokens, no_vocab, dtype):
    """Check --dtype and return the vocabulary tokens (read from `vocab` unless given), or None with --no-vocab."""
    if dtype not in ("float32", "float16", "bfloat16"):
        raise ConvertError("--dtype must be float32, float16 or bfloat16, got '%s'" % dtype)
    if vocab is not None and vocab_tokens is None:
        vocab_tokens = read_vocab(vocab)
    if vocab_tokens is None and not no_vocab:
        raise ConvertError("no vocabulary: pass --vocab VOCAB.txt (bert-base-uncased vocab) or --no-vocab")
    return vocab_tokens


def check_vocab(vocab_tokens, vocab_size, specials=()):
    """The vocabulary must fit the word-embedding rows and hold the special tokens the model needs."""
    if vocab_tokens is None:
        return
    if len(vocab_tokens) != vocab_size:
        raise ConvertError("vocabulary has %d tokens, the checkpoint's word_embeddings has %d rows"
                           % (len(vocab_tokens), vocab_size))
    for t in specials:
        if t not in vocab_tokens:
            raise ConvertError("vocabulary lacks %s" % t)


def write_tensor(f, key, orig, t, dtype):
    """One weight as float32, float16 (refused when it overflows) or bfloat16 (uint16 + attr 'bfloat16')."""
    t = t.detach().to(torch.float32).contiguous()
    if dtype == "float32":
        f.create_dataset(key, data=t.numpy())
    elif dtype == "float16":
        h = t.to(torch.float16)
        if not bool(torch.isfinite(h).all()):
            raise ConvertError("key '%s' overflows float16" % orig)
        f.create_dataset(key, data=h.numpy())
    else:
        bits = t.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
        f.create_dataset(key, data=bits).attrs["bfloat16"] = np.int32(1)


def write_wordpiece(f, vocab_tokens, **attrs):
    """Group `tokenizer`: the vocabulary in id order (variable-length UTF-8), lowercasing WordPiece, + attrs."""
    if vocab_tokens is None:
        return
    tg = f.create_group("tokenizer")
    tg.create_dataset("vocab", data=np.array(vocab_tokens, dtype=object), dtype=h5py.string_dtype(encoding="utf-8"))
    tg.attrs["do_lower_case"] = np.int32(1)
    tg.attrs["kind"] = "wordpiece"
    for k, v in attrs.items():
        tg.attrs[k] = np.int32(v)


# ----------------------------------------------------------------------------------------------------------
def convert(in_path, out_path, arch, vocab=None, vocab_tokens=None, no_vocab=False, image_res=None,
            vit_heads=12, bert_heads=12, dtype="float32", trust_pickle=False, quiet=False):
    """Convert in_path -> out_path. vocab: a vocab file path, or vocab_tokens: a list of tokens.
    Returns the config dict. Raises ConvertError on anything it refuses."""
    if arch not in ARCHS:
        raise ConvertError("--arch must be one of %s, got '%s'" % ("|".join(ARCHS), arch))
    vocab_tokens = prepare_vocab(vocab, vocab_tokens, no_vocab, dtype)

    sd = load_state_dict(in_path, trust_pickle)
    kept, dropped = strip_layout(sd, arch)
    c = infer_config(kept, arch, vit_heads, bert_heads)
    validate(kept, c, arch)
    check_vocab(vocab_tokens, c["vocab_size"])
    if image_res is not None and (image_res <= 0 or image_res % c["patch_size"]):
        raise ConvertError("--image-res %d is not a positive multiple of patch_size %d" % (image_res, c["patch_size"]))

    tmp = out_path + ".tmp"
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["xrem_format"] = "weights"
            f.attrs["version"] = np.int32(1)
            f.attrs["arch"] = arch
            f.attrs["source"] = os.path.basename(in_path)
            f.attrs["source_sha256"] = sha256_file(in_path)
            f.attrs["weights_dtype"] = dtype
            g = f.create_group("config")
            order = ["vision_width", "vit_depth", "vit_heads", "vit_mlp", "patch_size", "image_res",
                     "hidden_size", "num_layers", "num_heads", "intermediate_size", "vocab_size", "max_position",
                     "type_vocab_size", "fusion_layer", "encoder_width"]
            if arch == "albef_retrieval":
                order.append("embed_dim")
            for k in order:
                g.attrs[k] = np.int32(c[k])
            if image_res is not None:
                g.attrs["run_image_res"] = np.int32(image_res)
            g.attrs["vit_ln_eps"] = np.float64(VIT_LN_EPS)
            g.attrs["bert_ln_eps"] = np.float64(BERT_LN_EPS)
            for k in sorted(kept):
                write_tensor(f, k, kept[k][0], kept[k][1], dtype)
            write_wordpiece(f, vocab_tokens)
        os.replace(tmp, out_path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    if not quiet:
        print("convert_albef: %s -> %s: arch %s, %d tensors kept, %d ignored (%s)" % (
            in_path, out_path, arch, len(kept), len(dropped), dtype))
        print("convert_albef: config " + " ".join("%s=%s" % (k, c[k]) for k in sorted(c)))
    return c


def main(argv=None):
    ap = argparse.ArgumentParser(description="Convert an ALBEF/X-REM .pth checkpoint to an xrem weights HDF5 file.")
    ap.add_argument("input", help="checkpoint .pth ({'model': state_dict} or a bare state dict)")
    ap.add_argument("output", help="output weights .h5")
    ap.add_argument("--arch", required=True, choices=ARCHS)
    ap.add_argument("--vocab", help="WordPiece vocab.txt (bert-base-uncased), one token a line in id order")
    ap.add_argument("--no-vocab", action="store_true", help="write no tokenizer group")
    ap.add_argument("--image-res", type=int, default=None,
                    help="resolution the model is meant to run at (recorded as config/run_image_res)")
    ap.add_argument("--vit-heads", type=int, default=12, help="ViT attention heads (not inferable; default 12)")
    ap.add_argument("--bert-heads", type=int, default=12, help="BERT attention heads (not inferable; default 12)")
    ap.add_argument("--dtype", default="float32", choices=("float32", "float16", "bfloat16"))
    ap.add_argument("--trust-pickle", action="store_true",
                    help="allow full pickle loading (runs arbitrary code!) for checkpoints holding objects "
                         "outside the restricted unpickler's allow-list")
    a = ap.parse_args(argv)
    try:
        convert(a.input, a.output, a.arch, vocab=a.vocab, no_vocab=a.no_vocab, image_res=a.image_res,
                vit_heads=a.vit_heads, bert_heads=a.bert_heads, dtype=a.dtype, trust_pickle=a.trust_pickle)
    except ConvertError as e:
        print("convert_albef: error: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
