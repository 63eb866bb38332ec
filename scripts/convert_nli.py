#!/usr/bin/python3
"""Convert ifcc's BERTNLI checkpoint (RadNLI weights, `model.dict.gz`) into an xrem weights file (DESIGN.md §4).

Interpreter: Debian's /usr/bin/python3 (python3-torch 1.13, numpy 1.24, h5py 3.7). No network, no downloads.

usage: convert_nli.py IN OUT.h5 (--vocab VOCAB.txt | --no-vocab) [--num-heads 12]
                      [--dtype float32|float16|bfloat16] [--trust-pickle]

The model (ifcc clinicgen/models/bertnli.py, as X-REM's M2TransNLI loads it): bert-base-uncased BertModel
(transformers 2.9.0) + Dropout(0.1) + Linear(768, 3) on the pooler output:
    reps, pooled = bert(ids, attention_mask, token_type_ids);  logits = linear(dropout(pooled))
with pooled = tanh(bert.pooler.dense(last_hidden[:, 0])). Labels: 0 entailment, 1 neutral, 2 contradiction.

Input: ifcc saves `torch.save(model.state_dict())` gzip'd (`model.dict.gz`, torch 1.5: legacy serialization);
accepted are gzip'd or plain files, legacy or zip serialization, a bare state dict or {'model': state_dict}, with
every key prefixed `module.` (DataParallel) or none. Keys (after stripping `module.`):
  bert.embeddings.{word,position,token_type}_embeddings.weight, bert.embeddings.LayerNorm.{weight,bias},
  bert.encoder.layer.N.attention.self.{query,key,value}.{weight,bias}, bert.encoder.layer.N.attention.output.dense.*,
  bert.encoder.layer.N.attention.output.LayerNorm.*, bert.encoder.layer.N.intermediate.dense.*,
  bert.encoder.layer.N.output.dense.*, bert.encoder.layer.N.output.LayerNorm.*, bert.pooler.dense.{weight,bias},
  linear.{weight,bias} ([3, H], [3]).
Ignored (dropped): bert.embeddings.position_ids (a buffer newer transformers versions save).
Any other key, a missing key, a shape inconsistent with the inferred config, a non-float or non-finite tensor, a
vocabulary whose size differs from the embedding table, or an unreadable file is refused: exit status 2 and a
message naming the key. Pickles are read with a restricted unpickler (--trust-pickle: full pickle).

Output (HDF5, written to OUT.tmp then renamed):
  root attrs  xrem_format="weights", version=1, arch="bert_nli", source (input file name), source_sha256 (of the
              input file as given, gzip'd or not), weights_dtype
  /config     int attrs hidden_size num_layers num_heads intermediate_size vocab_size max_position type_vocab_size
              num_labels (3); float attr bert_ln_eps (1e-12). No fusion_layer: no cross-attention.
  /<key>      every kept tensor under its checkpoint key (`bert.` kept as the prefix), shape as stored
  /tokenizer  dataset vocab (1-D variable-length UTF-8, id order), attrs do_lower_case=1, kind="wordpiece",
              force_lowercase=1 (ifcc lowercases each text with str.lower() before tokenizing)
"""
import argparse
import gzip
import io
import os
import pickle
import re
import sys

import h5py
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import convert_albef  # noqa: E402  (restricted unpickler, sha256, vocab reader, ConvertError)

ARCH = "bert_nli"
BERT_LN_EPS = 1e-12
NUM_LABELS = 3
ConvertError = convert_albef.ConvertError
IGNORED = {"bert.embeddings.position_ids"}
LAYER_PARTS = [("attention.self.query", 1), ("attention.self.key", 1), ("attention.self.value", 1),
               ("attention.output.dense", 1), ("attention.output.LayerNorm", 0), ("intermediate.dense", 2),
               ("output.dense", 3), ("output.LayerNorm", 0)]


# ----------------------------------------------------------------------------------------------------------
def _read_bytes(path):
    """The file's bytes, gunzipped when it starts with the gzip magic."""
    if not os.path.isfile(path):
        raise ConvertError("%s: no such file" % path)
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, gzip.BadGzipFile) as e:
            raise ConvertError("%s: corrupt gzip file (%s)" % (path, e))
    return raw


def _torch_load_bytes(raw, trust_pickle):
    buf = io.BytesIO(raw)
    if trust_pickle:
        return torch.load(buf, map_location="cpu")
    saved = torch.serialization.pickle  # see convert_albef._torch_load_restricted
    torch.serialization.pickle = convert_albef._SAFE_PICKLE
    try:
        return torch.load(buf, map_location="cpu", pickle_module=convert_albef._SAFE_PICKLE)
    finally:
        torch.serialization.pickle = saved


def load_state_dict(path, trust_pickle=False):
    """A plain dict of the checkpoint's tensors: gzip'd or plain, {'model': sd} or sd."""
    raw = _read_bytes(path)
    try:
        obj = _torch_load_bytes(raw, trust_pickle)
    except Exception as e:  # noqa: BLE001 - any failure means "not a checkpoint we can read"
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        hint = ""
        if "refusing to unpickle global" in msg:
            hint = " (if the checkpoint is trusted, --trust-pickle allows full pickle loading)"
        raise ConvertError("%s: not a readable PyTorch checkpoint (torch.load: %s)%s" % (path, msg[:300], hint))
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        obj = obj["model"]
    if not isinstance(obj, dict) or not obj:
        raise ConvertError("%s: not a checkpoint: expected a state dict or {'model': state_dict}, got %s"
                           % (path, type(obj).__name__))
    for k in obj:
        if not isinstance(k, str):
            raise ConvertError("%s: not a state dict: key %r is not a string" % (path, k))
    return dict(obj)


def strip_layout(sd):
    """Strip a DataParallel 'module.' prefix (all keys or none) and drop ignored keys.
    Returns ({key: (original key, value)}, [dropped original keys])."""
    pre = [k.startswith("module.") for k in sd]
    if any(pre) and not all(pre):
        k = sorted(k for k in sd if not k.startswith("module."))[0]
        raise ConvertError("mixed layouts: some keys start with 'module.' and '%s' does not" % k)
    kept, dropped = {}, []
    for k, v in sd.items():
        nk = k[len("module."):] if pre[0] else k
        if nk in IGNORED:
            dropped.append(k)
        else:
            kept[nk] = (k, v)
    return kept, dropped


# ----------------------------------------------------------------------------------------------------------
def _shape(kept, key):
    if key not in kept:
        raise ConvertError("missing required key '%s'" % orig_name(kept, key))
    v = kept[key][1]
    if not torch.is_tensor(v):
        raise ConvertError("key '%s' is not a tensor (%s)" % (kept[key][0], type(v).__name__))
    return tuple(v.shape)


def orig_name(kept, key):
    """A key as the checkpoint spells it (with 'module.' where the checkpoint has it)."""
    if key in kept:
        return kept[key][0]
    return ("module." + key) if any(o.startswith("module.") for o, _ in kept.values()) else key


def infer_config(kept, num_heads=12):
    bad = sorted(k for k in kept if not (k.startswith("bert.") or k.startswith("linear.")))
    if bad:
        raise ConvertError("unknown key '%s'%s" % (kept[bad[0]][0],
                           "" if len(bad) == 1 else " (and %d more unknown keys)" % (len(bad) - 1)))
    c = {}
    we = _shape(kept, "bert.embeddings.word_embeddings.weight")
    if len(we) != 2:
        raise ConvertError("key '%s' has shape %s, expected [vocab, hidden]"
                           % (orig_name(kept, "bert.embeddings.word_embeddings.weight"), list(we)))
    c["vocab_size"], c["hidden_size"] = we
    pe = _shape(kept, "bert.embeddings.position_embeddings.weight")
    te = _shape(kept, "bert.embeddings.token_type_embeddings.weight")
    if len(pe) != 2 or len(te) != 2:
        key = "bert.embeddings.position_embeddings.weight" if len(pe) != 2 else \
            "bert.embeddings.token_type_embeddings.weight"
        raise ConvertError("key '%s' is not a matrix" % orig_name(kept, key))
    c["max_position"], c["type_vocab_size"] = pe[0], te[0]
    idx = sorted({int(m.group(1)) for m in (re.match(r"^bert\.encoder\.layer\.(\d+)\.", k) for k in kept) if m})
    if not idx:
        raise ConvertError("missing required key '%s'" % orig_name(kept, "bert.encoder.layer.0.attention.self.query.weight"))
    c["num_layers"] = idx[-1] + 1  # a gap is reported as a missing key by validate()
    it = _shape(kept, "bert.encoder.layer.0.intermediate.dense.weight")
    if len(it) != 2:
        raise ConvertError("key '%s' is not a matrix" % orig_name(kept, "bert.encoder.layer.0.intermediate.dense.weight"))
    c["intermediate_size"] = it[0]
    c["num_heads"] = int(num_heads)
    c["num_labels"] = NUM_LABELS
    if c["num_heads"] <= 0 or c["hidden_size"] % c["num_heads"]:
        raise ConvertError("hidden_size %d is not divisible by --num-heads %d" % (c["hidden_size"], c["num_heads"]))
    if c["type_vocab_size"] < 2:
        raise ConvertError("key '%s' has %d rows: a sentence pair needs token types 0 and 1"
                           % (orig_name(kept, "bert.embeddings.token_type_embeddings.weight"), c["type_vocab_size"]))
    return c


def expected_shapes(c):
    """Every key (after stripping) the model must have, with its shape."""
    H, I = c["hidden_size"], c["intermediate_size"]
    e = {"bert.embeddings.word_embeddings.weight": (c["vocab_size"], H),
         "bert.embeddings.position_embeddings.weight": (c["max_position"], H),
         "bert.embeddings.token_type_embeddings.weight": (c["type_vocab_size"], H),
         "bert.embeddings.LayerNorm.weight": (H,), "bert.embeddings.LayerNorm.bias": (H,),
         "bert.pooler.dense.weight": (H, H), "bert.pooler.dense.bias": (H,),
         "linear.weight": (c["num_labels"], H), "linear.bias": (c["num_labels"],)}
    # kind: 0 LayerNorm [H], 1 [H,H] dense, 2 [I,H] dense, 3 [H,I] dense
    out_in = {1: (H, H), 2: (I, H), 3: (H, I)}
    for i in range(c["num_layers"]):
        for part, kind in LAYER_PARTS:
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
        raise ConvertError("unknown key '%s'%s" % (kept[unknown[0]][0],
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
                      "type_vocab_size", "num_labels"):
                g.attrs[k] = np.int32(c[k])
            g.attrs["bert_ln_eps"] = np.float64(BERT_LN_EPS)
            for k in sorted(kept):
                convert_albef.write_tensor(f, k, kept[k][0], kept[k][1], dtype)
            convert_albef.write_wordpiece(f, vocab_tokens, force_lowercase=1)
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
        print("convert_nli: %s -> %s: arch %s, %d tensors kept, %d ignored (%s)" % (
            in_path, out_path, ARCH, len(kept), len(dropped), dtype))
        print("convert_nli: config " + " ".join("%s=%s" % (k, c[k]) for k in sorted(c)))
    return c


def main(argv=None):
    ap = argparse.ArgumentParser(description="Convert ifcc's BERTNLI checkpoint (model.dict.gz) to an xrem weights file.")
    ap.add_argument("input", help="model.dict.gz (gzip'd or plain torch file; {'model': sd} or a bare state dict)")
    ap.add_argument("output", help="output weights .h5")
    ap.add_argument("--vocab", help="WordPiece vocab.txt (bert-base-uncased), one token a line in id order")
    ap.add_argument("--no-vocab", action="store_true", help="write no tokenizer group")
    ap.add_argument("--num-heads", "--bert-heads", dest="num_heads", type=int, default=12,
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
        print("convert_nli: error: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
