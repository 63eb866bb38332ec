#!/usr/bin/python3
"""Convert a CheXbert checkpoint (stanfordmlgroup/CheXbert `chexbert.pth`) into an xrem weights file (DESIGN.md §4).

Interpreter: Debian's /usr/bin/python3 (python3-torch 1.13, numpy 1.24, h5py 3.7). No network, no downloads.

usage: convert_chexbert.py IN.pth OUT.h5 (--vocab VOCAB.txt | --no-vocab) [--num-heads 12]
                           [--dtype float32|float16|bfloat16] [--trust-pickle]

The model (CheXbert src/models/bert_labeler.py; CXR-Report-Metric's bert_encoder.py has the same keys):
    bert = BertModel (bert-base-uncased);  linear_heads = 13 x Linear(768, 4) + Linear(768, 2)   (No Finding last)
    cls = bert(ids, attention_mask)[0][:, 0];  out[j] = linear_heads[j](dropout(cls))
The pooler (bert.pooler.dense) is part of BertModel and so of every checkpoint; CheXbert never uses it. It is
required (CheXbert's strict load_state_dict needs it) and kept in the output, unused by xrem.

Input: what CheXbert's training saves and label.py reads, torch.load(path)['model_state_dict'], every key prefixed
`module.` (nn.DataParallel; label.py drops the first 7 characters on CPU). Accepted: {'model_state_dict': sd, ...}
(other entries such as the optimizer state are ignored) or a bare state dict; all keys prefixed `module.` or none.
Keys (after dropping `module.`):
  bert.embeddings.{word,position,token_type}_embeddings.weight, bert.embeddings.LayerNorm.{weight,bias},
  bert.encoder.layer.N.attention.self.{query,key,value}.{weight,bias}, bert.encoder.layer.N.attention.output.dense.*,
  bert.encoder.layer.N.attention.output.LayerNorm.*, bert.encoder.layer.N.intermediate.dense.*,
  bert.encoder.layer.N.output.dense.*, bert.encoder.layer.N.output.LayerNorm.*, bert.pooler.dense.{weight,bias},
  linear_heads.{0..12}.{weight,bias} ([4, H], [4]), linear_heads.13.{weight,bias} ([2, H], [2]).
Ignored (dropped): bert.embeddings.position_ids (a buffer transformers >= 3 saves).
Any other key (a 15th head included), a missing key, a shape inconsistent with the inferred config, a non-float or
non-finite tensor, a vocabulary whose size differs from the embedding table, or an unreadable file is refused:
exit status 2 and a message naming the key. Pickles are read with a restricted unpickler (--trust-pickle: full
pickle).

Output (HDF5, written to OUT.tmp then renamed):
  root attrs  xrem_format="weights", version=1, arch="chexbert", source (input file name), source_sha256 (of the
              input file), weights_dtype
  /config     int attrs hidden_size num_layers num_heads intermediate_size vocab_size max_position type_vocab_size
              num_conditions (14); float attr bert_ln_eps (1e-12). No fusion_layer: no cross-attention.
  /<key>      every kept tensor under its key with `module.` dropped, shape as stored
  /tokenizer  dataset vocab (1-D variable-length UTF-8, id order), attrs do_lower_case=1, kind="wordpiece",
              max_len=512 (CheXbert's cut: the first 511 ids + [SEP])
"""
import argparse
import os
import re
import sys

import h5py
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import convert_albef  # noqa: E402  (restricted unpickler, sha256, vocab reader, ConvertError)
import convert_nli  # noqa: E402  (file reading, layer layout, tensor writer)

ARCH = "chexbert"
BERT_LN_EPS = 1e-12
NUM_CONDITIONS = 14
MAX_LEN = 512
ConvertError = convert_albef.ConvertError
IGNORED = {"bert.embeddings.position_ids"}


def head_classes(j):
    """Classes of linear_heads.j: 4 (blank, positive, negative, uncertain); No Finding (13): 2."""
    return 2 if j == NUM_CONDITIONS - 1 else 4


# ----------------------------------------------------------------------------------------------------------
def load_state_dict(path, trust_pickle=False):
    """A plain dict of the checkpoint's tensors: {'model_state_dict': sd, ...} or sd."""
    raw = convert_nli._read_bytes(path)
    try:
        obj = convert_nli._torch_load_bytes(raw, trust_pickle)
    except Exception as e:  # noqa: BLE001 - any failure means "not a checkpoint we can read"
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        hint = ""
        if "refusing to unpickle global" in msg:
            hint = " (if the checkpoint is trusted, --trust-pickle allows full pickle loading)"
        raise ConvertError("%s: not a readable PyTorch checkpoint (torch.load: %s)%s" % (path, msg[:300], hint))
    if isinstance(obj, dict) and "model_state_dict" in obj:
        obj = obj["model_state_dict"]
        if not isinstance(obj, dict):
            raise ConvertError("%s: 'model_state_dict' is a %s, not a state dict" % (path, type(obj).__name__))
    if not isinstance(obj, dict) or not obj:
        raise ConvertError("%s: not a checkpoint: expected {'model_state_dict': state_dict} or a state dict, got %s"
                           % (path, type(obj).__name__ if not isinstance(obj, dict) else "an empty dict"))
    for k in obj:
        if not isinstance(k, str):
            raise ConvertError("%s: not a state dict: key %r is not a string" % (path, k))
    return dict(obj)


def strip_layout(sd):
    """Drop the 7-character 'module.' prefix (all keys or none) and ignored keys.
    Returns ({key: (original key, value)}, [dropped original keys])."""
    pre = [k.startswith("module.") for k in sd]
    if any(pre) and not all(pre):
        k = sorted(k for k in sd if not k.startswith("module."))[0]
        raise ConvertError("mixed layouts: some keys start with 'module.' and '%s' does not" % k)
    kept, dropped = {}, []
    for k, v in sd.items():
        nk = k[7:] if pre[0] else k
        if nk in IGNORED:
            dropped.append(k)
        else:
            kept[nk] = (k, v)
    return kept, dropped


def _unknown(kept, keys):
    raise ConvertError("unknown key '%s'%s" % (kept[keys[0]][0],
                       "" if len(keys) == 1 else " (and %d more unknown keys)" % (len(keys) - 1)))


def infer_config(kept, num_heads=12):
    bad = sorted(k for k in kept if not (k.startswith("bert.") or k.startswith("linear_heads.")))
    if bad:
        _unknown(kept, bad)
    shape = lambda key: convert_nli._shape(kept, key)  # noqa: E731
    name = lambda key: convert_nli.orig_name(kept, key)  # noqa: E731
    c = {}
    we = shape("bert.embeddings.word_embeddings.weight")
    if len(we) != 2:
        raise ConvertError("key '%s' has shape %s, expected [vocab, hidden]"
                           % (name("bert.embeddings.word_embeddings.weight"), list(we)))
    c["vocab_size"], c["hidden_size"] = we
    for key in ("bert.embeddings.position_embeddings.weight", "bert.embeddings.token_type_embeddings.weight",
                "bert.encoder.layer.0.intermediate.dense.weight"):
        if len(shape(key)) != 2:
            raise ConvertError("key '%s' is not a matrix" % name(key))
    c["max_position"] = shape("bert.embeddings.position_embeddings.weight")[0]
    c["type_vocab_size"] = shape("bert.embeddings.token_type_embeddings.weight")[0]
    c["intermediate_size"] = shape("bert.encoder.layer.0.intermediate.dense.weight")[0]
    idx = sorted({int(m.group(1)) for m in (re.match(r"^bert\.encoder\.layer\.(\d+)\.", k) for k in kept) if m})
    c["num_layers"] = idx[-1] + 1  # a gap is reported as a missing key by validate()
    c["num_heads"] = int(num_heads)
    c["num_conditions"] = NUM_CONDITIONS
    if c["num_heads"] <= 0 or c["hidden_size"] % c["num_heads"]:
        raise ConvertError("hidden_size %d is not divisible by --num-heads %d" % (c["hidden_size"], c["num_heads"]))
    if c["max_position"] < 2:
        raise ConvertError("key '%s' has %d rows: [CLS] [SEP] needs 2 positions"
                           % (name("bert.embeddings.position_embeddings.weight"), c["max_position"]))
    return c


def expected_shapes(c):
    """Every key (after dropping 'module.') the model must have, with its shape."""
    H, I = c["hidden_size"], c["intermediate_size"]
    e = {"bert.embeddings.word_embeddings.weight": (c["vocab_size"], H),
         "bert.embeddings.position_embeddings.weight": (c["max_position"], H),
         "bert.embeddings.token_type_embeddings.weight": (c["type_vocab_size"], H),
         "bert.embeddings.LayerNorm.weight": (H,), "bert.embeddings.LayerNorm.bias": (H,),
         "bert.pooler.dense.weight": (H, H), "bert.pooler.dense.bias": (H,)}
    for j in range(NUM_CONDITIONS):
        e["linear_heads.%d.weight" % j] = (head_classes(j), H)
        e["linear_heads.%d.bias" % j] = (head_classes(j),)
    out_in = {1: (H, H), 2: (I, H), 3: (H, I)}  # kind: 0 LayerNorm [H], 1 [H,H], 2 [I,H], 3 [H,I]
    for i in range(c["num_layers"]):
        for part, kind in convert_nli.LAYER_PARTS:
            b = "bert.encoder.layer.%d.%s." % (i, part)
            if kind == 0:
                e[b + "weight"], e[b + "bias"] = (H,), (H,)
            else:
                e[b + "weight"], e[b + "bias"] = out_in[kind], (out_in[kind][0],)
    return e


def validate(kept, c):
    exp = expected_shapes(c)
    unknown = sorted(k for k in kept if k not in exp)
    if unknown:
        _unknown(kept, unknown)
    missing = sorted(k for k in exp if k not in kept)
    if missing:
        raise ConvertError("missing required key '%s'%s" % (convert_nli.orig_name(kept, missing[0]),
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


# ----------------------------------------------------------------------------------------------------------
def _write(in_path, out_path, kept, c, vocab_tokens, dtype):
    tmp = out_path + ".tmp"
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["xrem_format"] = "weights"
            f.attrs["version"] = np.int32(1)
            f.attrs["arch"] = ARCH
            f.attrs["source"] = os.path.basename(in_path)
            f.attrs["source_sha256"] = convert_albef.sha256_file(in_path)
            f.attrs["weights_dtype"] = dtype
            g = f.create_group("config")
            for k in ("hidden_size", "num_layers", "num_heads", "intermediate_size", "vocab_size", "max_position",
                      "type_vocab_size", "num_conditions"):
                g.attrs[k] = np.int32(c[k])
            g.attrs["bert_ln_eps"] = np.float64(BERT_LN_EPS)
            for k in sorted(kept):
                convert_albef.write_tensor(f, k, kept[k][0], kept[k][1], dtype)
            convert_albef.write_wordpiece(f, vocab_tokens, max_len=MAX_LEN)
        os.replace(tmp, out_path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def convert(in_path, out_path, vocab=None, vocab_tokens=None, no_vocab=False, num_heads=12, dtype="float32",
            trust_pickle=False, quiet=False):
    """Convert in_path -> out_path. vocab: a vocab file path, or vocab_tokens: a list of tokens.
    Returns the config dict. Raises ConvertError on anything it refuses."""
    vocab_tokens = convert_albef.prepare_vocab(vocab, vocab_tokens, no_vocab, dtype)
    kept, dropped = strip_layout(load_state_dict(in_path, trust_pickle))
    c = infer_config(kept, num_heads)
    validate(kept, c)
    convert_albef.check_vocab(vocab_tokens, c["vocab_size"], ("[PAD]", "[UNK]", "[CLS]", "[SEP]"))
    _write(in_path, out_path, kept, c, vocab_tokens, dtype)
    if not quiet:
        print("convert_chexbert: %s -> %s: arch %s, %d tensors kept, %d ignored (%s)" % (
            in_path, out_path, ARCH, len(kept), len(dropped), dtype))
        print("convert_chexbert: config " + " ".join("%s=%s" % (k, c[k]) for k in sorted(c)))
    return c


def main(argv=None):
    ap = argparse.ArgumentParser(description="Convert a CheXbert checkpoint (chexbert.pth) to an xrem weights file.")
    ap.add_argument("input", help="chexbert.pth ({'model_state_dict': sd, ...} or a bare state dict)")
    ap.add_argument("output", help="output weights .h5")
    ap.add_argument("--vocab", help="WordPiece vocab.txt (bert-base-uncased), one token a line in id order")
    ap.add_argument("--no-vocab", action="store_true", help="write no tokenizer group")
    ap.add_argument("--num-heads", dest="num_heads", type=int, default=12,
                    help="attention heads (not inferable from the weights; default 12)")
    ap.add_argument("--dtype", default="float32", choices=("float32", "float16", "bfloat16"))
    ap.add_argument("--trust-pickle", action="store_true",
                    help="allow full pickle loading (runs arbitrary code!) for checkpoints holding objects "
                         "outside the restricted unpickler's allow-list")
    a = ap.parse_args(argv)
    try:
        convert(a.input, a.output, vocab=a.vocab, no_vocab=a.no_vocab, num_heads=a.num_heads, dtype=a.dtype,
                trust_pickle=a.trust_pickle)
    except ConvertError as e:
        print("convert_chexbert: error: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
