#!/usr/bin/python3
"""Make the NLI parity goldens (DESIGN.md §2 stage 3, §6): a random-weight model with ifcc BERTNLI's exact
state-dict keys, saved the way ifcc ships RadNLI (`model.dict.gz`: a gzip'd bare state dict), converted with
scripts/convert_nli.py, and the logits/labels its PyTorch forward gives on ~40 premise/hypothesis pairs.

usage: /usr/bin/python3 scripts/make_nli_goldens.py [--out tests/golden] [--data ../shared/data]
                                                    [--tok-python python3] [--keep-checkpoint DIR]

Two interpreters (neither has both torch and transformers here):
  - this script under Debian's /usr/bin/python3 (python3-torch 1.13, numpy, h5py): the model, the checkpoint,
    the conversion, ifcc's input building and the forward;
  - the same script with --tokenize-step under a python3 that has transformers (pyenv; default: `python3` on
    PATH, or $XREM_TOK_PYTHON, or --tok-python): tokenization with transformers' *slow* BertTokenizer
    (`BertTokenizerLegacy` in transformers 5), the pure-Python one. ifcc pins transformers 2.9.0, whose
    AutoTokenizer is that slow BertTokenizer too. What ifcc does to a text (clinicgen/models/bertnli.py,
    BERTNLI(length=384, force_lowercase=True) as ifcc's SimpleNLI and X-REM's M2TransNLI build it):
        toks = tokenizer.tokenize(text.lower())            # Python str.lower() of the whole text first
        tokens = ['[CLS]'] + toks1 + ['[SEP]'] + toks2 + ['[SEP]'];  boundary = len(toks1) + 2
        max_len = min(longest in the batch, 384); shorter rows padded with '[PAD]'; longer rows cut to
        tokens[:max_len] (from the END: the hypothesis first, then the final [SEP], ...: not HF longest_first)
        mask = token != '[PAD]';  token type = 0 if position < boundary else 1 (padding included)
    Lowercasing the whole text before the tokenizer matters: "[SEP]" in a text becomes "[sep]" (three
    ordinary tokens, not the special token) and str.lower() decides final sigma over the whole text, across
    characters the tokenizer later drops. (transformers >= 4.3x also NFC-normalises inside the basic tokenizer;
    2.9.0 did not. After str.lower() and NFD accent stripping the two agree on every golden text.)

The vocabulary (2,000 tokens, stored in the weights file's tokenizer group): [PAD] [UNK] [CLS] [SEP] [MASK],
then every wordpiece bert-base-uncased gives for the golden texts, then the most frequent wordpieces of the IU
X-Ray reports (../shared/data/NLMCXR_reports.tgz: IMPRESSION and FINDINGS, lowercased; ties: lower
bert-base-uncased id first), the non-special tokens ordered by their bert-base-uncased id. A subset of the full
vocabulary that holds every piece of a text's full-vocabulary segmentation segments it the same way (greedy
longest match), so the golden texts tokenize as with the real vocabulary (asserted). Only the vocabulary (a
token list, not frequency-ordered) derives from the reports; no report text is stored.

Model: hidden 48, 2 layers, 4 heads, intermediate 96, 512 positions, 2 token types; Linear/Embedding weights
N(0, 0.08) (so that erf vs tanh GELU, a wrong attention scale or a wrong token type show at 1e-4), biases
N(0, 0.02), LayerNorm weight 1 + N(0, 0.1), bias N(0, 0.1); seed SEED. The `linear` head is then re-drawn
so the labels vary over the golden pairs (calibrate_head).

Files (in --out):
  nli_small.weights.h5  convert_nli.py output (arch bert_nli, vocab included)
  nli_small.golden.h5   premise, hypothesis, name [n] (UTF-8 strings); for max_len 384 (the reference's) and 64:
                        ids{S}, types{S}, mask{S} [n, T] int32 (the n pairs encoded as ONE ifcc batch: padded
                        to the longest, T <= max_len), lens{S} [n], logits{S} [n, 3] float32 (ifcc's batches of
                        16, as SimpleNLI.predict runs them), labels{S} [n] int32 (argmax: 0 entailment, 1 neutral,
                        2 contradiction); S = "" for 384, "_64" for 64. Root attrs: max_len, max_len_short,
                        seed, margin_min (smallest top-1 minus top-2 logit: labels are robust to 1e-4 errors),
                        tokenizer, torch_version, generator, weights.
The checkpoint itself (model.dict.gz) goes to a temporary folder (or --keep-checkpoint DIR); it is not committed.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
try:  # the --tokenize-step interpreter has no torch
    import h5py
    import numpy as np
    import torch
    import torch.nn as nn
    import albef_torch as A
    import convert_nli
    import make_goldens
except ImportError:
    torch = None

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
VOCAB_SIZE = 2000
SEED = 31
MAX_LEN = 384
MAX_LEN_SHORT = 64
IFCC_BATCH = 16
LABEL_NAMES = ("entailment", "neutral", "contradiction")

# ----------------------------------------------------------------------------------------------------------
# the pairs: our own radiology-like sentences (no report text)
# ----------------------------------------------------------------------------------------------------------
PAIRS = [
    ("no_acute", "No acute cardiopulmonary process.", "No acute cardiopulmonary abnormality."),
    ("clear_vs_effusion", "The lungs are clear.", "There is a large right pleural effusion."),
    ("heart_normal", "Heart size is normal.", "Mild cardiomegaly is present."),
    ("effusion_atelectasis", "Small left pleural effusion with adjacent atelectasis.", "Left pleural effusion."),
    ("no_ptx", "No pneumothorax.", "There is a small apical pneumothorax on the right."),
    ("ett", "Endotracheal tube terminates 4 cm above the carina.", "The endotracheal tube is in standard position."),
    ("improving", "Interval improvement in bilateral airspace opacities.", "Worsening pulmonary edema."),
    ("cabg", "Stable postoperative appearance of the mediastinum after CABG.", "Median sternotomy wires are intact."),
    ("empty_hyp", "Right lower lobe consolidation concerning for pneumonia.", ""),  # X-REM's trailing candidate
    ("empty_prem", "", "No focal consolidation."),
    ("both_empty", "", ""),
    ("upper", "NO ACUTE INTRATHORACIC ABNORMALITY.", "no acute intrathoracic abnormality."),
    ("congestion", "Mild pulmonary vascular congestion without frank edema.", "Moderate pulmonary edema."),
    ("picc", "Left-sided PICC line tip in the low SVC.", "A right internal jugular catheter is seen."),
    ("spine", "Degenerative changes of the thoracic spine.", "Multilevel degenerative disease in the spine."),
    ("copd", "Hyperinflated lungs consistent with COPD.", "Emphysema."),
    ("granuloma", "Calcified granuloma in the right upper lobe, unchanged since 2015.", "Old granulomatous disease."),
    ("ngt", "Nasogastric tube courses below the diaphragm, tip not visualized.", "The nasogastric tube is in the stomach."),
    ("bibasilar", "Bibasilar atelectasis; no effusion.", "Bilateral pleural effusions."),
    ("whitespace", "Cardiomediastinal silhouette within normal limits.\nNo pneumothorax.",
     "  Normal heart size.\tNo   pneumothorax.\r\n"),
    ("accents", "R\u00e9sum\u00e9: opacit\u00e9 basale droite.", "Na\u00efve caf\u00e9-like pattern, no pneumothorax."),
    # str.lower() of the whole text: final sigma before a control character the tokenizer drops
    ("final_sigma", "\u0391\u03a3\u0001\u0392 \u03c3 opacity", "\u03a3\u0391\u03a3 \u039f\u0394\u039f\u03a3"),
    # lowercased first, special-token strings are ordinary text
    ("special_strings", "Findings: [SEP] compared to prior, no change.", "[CLS] unchanged [MASK] [PAD] [UNK]"),
    ("mastectomy", "Patient is status post left mastectomy.", "There has been a left mastectomy."),
    ("devices", "Lines and tubes are unchanged in position.", "Support devices are stable."),
    ("hedged", "Increased opacity at the left base may represent atelectasis or pneumonia.",
     "Left basilar pneumonia is definitely present."),
    ("enlarged", "Mild enlargement of the cardiac silhouette.", "The heart is not enlarged."),
    ("osseous", "Osseous structures are intact.", "No acute fracture."),
    ("ptx_resolved", "Right-sided pneumothorax has resolved after chest tube placement.", "Persistent right pneumothorax."),
    ("hila", "Hilar contours are prominent, possibly due to pulmonary arterial hypertension.",
     "Enlarged pulmonary arteries."),
    ("trachea", "The trachea is midline.", "Tracheal deviation to the right."),
    ("pacemaker", "Pacemaker leads terminate in the right atrium and right ventricle.", "Dual-chamber pacemaker in place."),
    ("interstitial", "Diffuse interstitial markings, likely chronic.", "Acute interstitial edema."),
    ("free_air", "Free air under the right hemidiaphragm.", "Pneumoperitoneum."),
    ("low_volumes", "Lung volumes are low, causing crowding of the bronchovascular markings.", "Low lung volumes."),
    ("long_word", "Opacity " + "x" * 120 + " at the base.", "Aorta is tortuous."),  # > 100 chars: [UNK]
    ("numbers", "Cardiomegaly 2/3 of the thoracic width, CTR 0.62.", "Heart is enlarged."),
]

# Sentences of single-wordpiece words (12 tokens each; asserted), for exact lengths around the 384 cut.
UNIT = "the heart is normal in size and the lungs are clear ."
UNIT_TOKENS = 12
FILL = " no"  # one token
REAL = ("Patchy opacities in the right lower lobe are again seen, with a small effusion and mild vascular "
        "congestion; the cardiomediastinal silhouette is stable. ")


def _exact(n):
    """A text of exactly n tokens (built from UNIT and FILL)."""
    return (UNIT + " ") * (n // UNIT_TOKENS) + FILL * (n % UNIT_TOKENS)


def long_pairs():
    """(name, premise, hypothesis, expected total tokens before the cut or None)."""
    return [
        ("long_premise", REAL * 20, "No pneumothorax.", None),           # > 382 alone: hypothesis cut away
        ("long_both", REAL * 9, REAL * 5, None),                         # cut inside the hypothesis
        ("exact_384", _exact(220), _exact(161), 384),                    # fits exactly
        ("exact_385", _exact(220), _exact(162), 385),                    # only the final [SEP] cut
        ("premise_382", _exact(382), "The lungs are clear.", 390),       # [CLS] a [SEP], nothing of b
        ("premise_383", _exact(383), "The lungs are clear.", 391),       # not even the first [SEP]
    ]


def all_pairs():
    return [(n, a, b, None) for n, a, b in PAIRS] + long_pairs()


# ----------------------------------------------------------------------------------------------------------
# tokenization step (run under a python3 with transformers; no torch)
# ----------------------------------------------------------------------------------------------------------
def _slow_tokenizer(vocab):
    try:  # transformers >= 5: BertTokenizer is the Rust one; the Python one is kept as legacy
        from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy as Slow
    except ImportError:
        from transformers import BertTokenizer as Slow
    tok = Slow(vocab_file=vocab, do_lower_case=True)
    assert not getattr(tok, "is_fast", False)
    return tok


def _report_counts(full, tgz):
    import make_tokenizer_goldens as TG  # stdlib-only report reader
    counts, n = Counter(), 0
    for _, sec in TG.report_sections(tgz):
        for text in sec.values():
            if text:
                counts.update(full.tokenize(text.lower()))
                n += 1
    return counts, n


def build_vocab(full, texts, tgz, size):
    """SPECIALS + the pieces of `texts` + the most frequent report pieces, non-specials in full-vocab id order."""
    fid = full.vocab
    need = set()
    for t in texts:
        need.update(full.tokenize(t))
    counts, nrep = _report_counts(full, tgz)
    chosen = set(need) - set(SPECIALS)
    for tok, _ in sorted(counts.items(), key=lambda kv: (-kv[1], fid[kv[0]])):
        if len(chosen) + len(SPECIALS) >= size:
            break
        if tok not in SPECIALS:
            chosen.add(tok)
    for tok in full.convert_ids_to_tokens(list(range(len(fid)))):  # reports exhausted: fill in id order
        if len(chosen) + len(SPECIALS) >= size:
            break
        if tok not in SPECIALS and not tok.startswith("[unused"):
            chosen.add(tok)
    if len(chosen) + len(SPECIALS) != size:
        raise SystemExit("make_nli_goldens: %d pieces needed, more than the vocabulary size %d"
                         % (len(chosen) + len(SPECIALS), size))
    return SPECIALS + sorted(chosen, key=lambda t: fid[t]), nrep


def tokenize_step(in_json, out_json):
    import transformers
    with open(in_json, encoding="utf-8") as f:
        job = json.load(f)
    full = _slow_tokenizer(job["full_vocab"])
    vocab, nrep = build_vocab(full, job["texts"], job["reports"], job["size"])
    with tempfile.TemporaryDirectory() as d:
        vpath = os.path.join(d, "vocab.txt")
        with open(vpath, "w", encoding="utf-8") as f:
            f.write("\n".join(vocab) + "\n")
        small = _slow_tokenizer(vpath)
        tokens = {}
        for t in job["texts"]:
            tokens[t] = small.tokenize(t)
            if tokens[t] != full.tokenize(t):
                raise SystemExit("make_nli_goldens: the small vocabulary segments %r differently" % t)
    out = {"vocab": vocab, "tokens": tokens, "reports": nrep,
           "tokenizer": "transformers %s %s(do_lower_case=True) on str.lower() of each text"
                        % (transformers.__version__, type(small).__name__)}
    with open(out_json, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)


def run_tokenize_step(tok_python, texts, data_dir):
    """texts: already lowercased. Returns the step's JSON."""
    job = {"texts": texts, "size": VOCAB_SIZE, "full_vocab": os.path.join(data_dir, "bert-base-uncased-vocab.txt"),
           "reports": os.path.join(data_dir, "NLMCXR_reports.tgz")}
    for k in ("full_vocab", "reports"):
        if not os.path.isfile(job[k]):
            raise SystemExit("make_nli_goldens: %s not found (--data)" % job[k])
    with tempfile.TemporaryDirectory() as d:
        src, dst = os.path.join(d, "in.json"), os.path.join(d, "out.json")
        with open(src, "w", encoding="utf-8") as f:
            json.dump(job, f, ensure_ascii=False)
        r = subprocess.run([tok_python, os.path.abspath(__file__), "--tokenize-step", src, dst])
        if r.returncode != 0 or not os.path.isfile(dst):
            raise SystemExit("make_nli_goldens: the tokenization step failed under %s (it needs transformers; "
                             "set --tok-python)" % tok_python)
        with open(dst, encoding="utf-8") as f:
            return json.load(f)


# ----------------------------------------------------------------------------------------------------------
# the model: ifcc BERTNLI's module tree (transformers BertModel + pooler, dropout, linear)
# ----------------------------------------------------------------------------------------------------------
def small_cfg():
    return A.BertConfig(vocab_size=VOCAB_SIZE, hidden_size=48, num_layers=2, num_heads=4, intermediate_size=96,
                        max_position=512, type_vocab_size=2, fusion_layer=2, encoder_width=48)


def tiny_cfg(vocab_size=40):
    return A.BertConfig(vocab_size=vocab_size, hidden_size=24, num_layers=2, num_heads=2, intermediate_size=48,
                        max_position=32, type_vocab_size=2, fusion_layer=2, encoder_width=24)


if torch is not None:
    class BertPooler(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.dense = nn.Linear(cfg.hidden_size, cfg.hidden_size)

        def forward(self, x):
            return torch.tanh(self.dense(x[:, 0]))

    class BertModelPooled(nn.Module):
        """transformers BertModel (no cross-attention) with token types and the pooler."""

        def __init__(self, cfg):
            super().__init__()
            assert cfg.fusion_layer >= cfg.num_layers
            self.embeddings = A.BertEmbeddings(cfg)
            self.encoder = A.BertEncoder(cfg)
            self.pooler = BertPooler(cfg)

        def forward(self, input_ids, attention_mask, token_type_ids):
            x = self.embeddings(input_ids, token_type_ids)
            mask_ext = A.extended_mask(attention_mask)
            for layer in self.encoder.layer:
                x = layer(x, mask_ext)
            return x, self.pooler(x)

    class BERTNLI(nn.Module):
        """ifcc clinicgen/models/bertnli.py BERTNLI, bert_type='bert', cls='linear': the state-dict keys
        bert.*, linear.* and forward linear(dropout(pooled))."""

        def __init__(self, cfg):
            super().__init__()
            self.bert = BertModelPooled(cfg)
            self.dropout = nn.Dropout(0.1)
            self.linear = nn.Linear(cfg.hidden_size, 3)

        def forward(self, token_ids, attn_mask, seg_ids):
            reps, cls = self.bert(token_ids, attention_mask=attn_mask, token_type_ids=seg_ids)
            cls = self.dropout(cls)
            return self.linear(cls)


def make_model(cfg, seed, std=0.08):
    torch.manual_seed(seed)
    return make_goldens.init_random_(BERTNLI(cfg), std).eval()


def state_dict_of(model):
    """The state dict as transformers 2.9.0 saves it (no embeddings.position_ids buffer)."""
    sd = model.state_dict()
    del sd["bert.embeddings.position_ids"]
    return sd


def make_state_dict(cfg, seed, std=0.08):
    """A random BERTNLI state dict."""
    return state_dict_of(make_model(cfg, seed, std))


def calibrate_head(model, ids, mask, seg, seed):
    """Re-draw `linear` so the labels vary over the golden inputs. A random BERT's pooled output moves little
    from input to input (its [CLS] row is mostly its own embedding), so N(0, 0.08) head weights give one label
    for every pair. Here: random directions scaled so each logit has standard deviation 1 over the inputs, and
    a bias that centres them. Errors in the pooled output are amplified on the way (a stricter test)."""
    with torch.no_grad():
        _, pooled = model.bert(ids, mask, seg)
        g = torch.Generator().manual_seed(seed + 1)
        W = torch.randn(3, pooled.shape[1], generator=g)
        W = W / ((pooled - pooled.mean(0)) @ W.t()).std(0).unsqueeze(1)
        model.linear.weight.copy_(W)
        model.linear.bias.copy_(-(pooled.mean(0) @ W.t()))


def save_checkpoint(obj, path, gz=True, legacy=False):
    """torch.save (legacy = torch <= 1.5's format, as ifcc's file), gzip'd with mtime 0 like model.dict.gz."""
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=not legacy)
    raw = buf.getvalue()
    if gz:
        out = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as g:
            g.write(raw)
        raw = out.getvalue()
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(raw)
    os.replace(tmp, path)


def load_ifcc(path, cfg):
    """As ifcc's SimpleNLI.load_model: gzip.open + torch.load + load_state_dict."""
    model = BERTNLI(cfg)
    with gzip.open(path, "rb") as f:
        states = torch.load(f, map_location=torch.device("cpu"))
    missing, unexpected = model.load_state_dict(states, strict=False)
    assert not unexpected and missing == ["bert.embeddings.position_ids"], (missing, unexpected)
    return model.eval()


# ----------------------------------------------------------------------------------------------------------
# ifcc's input building (BERTNLI.forward), with the tokenizer's output looked up
# ----------------------------------------------------------------------------------------------------------
def ifcc_inputs(sent1s, sent2s, tokenize, vocab_ids, length):
    buffer, boundaries, max_len = [], [], 0
    for sent1, sent2 in zip(sent1s, sent2s):
        sent1, sent2 = sent1.lower(), sent2.lower()  # force_lowercase
        toks1, toks2 = tokenize(sent1), tokenize(sent2)
        tokens = ["[CLS]"] + toks1 + ["[SEP]"] + toks2 + ["[SEP]"]
        buffer.append(tokens)
        boundaries.append(len(toks1) + 2)
        max_len = max(max_len, len(tokens))
    max_len = min(max_len, length)
    ids, mask, seg, lens = [], [], [], []
    for idx, tokens in enumerate(buffer):
        if len(tokens) < max_len:
            tokens = tokens + ["[PAD]"] * (max_len - len(tokens))
        elif len(tokens) > max_len:
            tokens = tokens[:max_len]
        mask.append([1 if t != "[PAD]" else 0 for t in tokens])
        ids.append([vocab_ids[t] for t in tokens])
        seg.append([0 if i < boundaries[idx] else 1 for i in range(len(tokens))])
        lens.append(sum(mask[-1]))
    T = torch.tensor
    return T(ids), T(mask), T(seg), T(lens)


def ifcc_predict(model, prem, hyp, tokenize, vocab_ids, length, batch=IFCC_BATCH):
    """SimpleNLI.predict's batching: logits of consecutive batches of `batch` pairs."""
    out = []
    with torch.no_grad():
        for s in range(0, len(prem), batch):
            ids, mask, seg, _ = ifcc_inputs(prem[s:s + batch], hyp[s:s + batch], tokenize, vocab_ids, length)
            out.append(model(ids, mask, seg))
    return torch.cat(out, 0)


# ----------------------------------------------------------------------------------------------------------
def check_lengths(pairs, tokenize):
    for name, a, b, want in pairs:
        if want is not None:
            got = len(tokenize(a.lower())) + len(tokenize(b.lower())) + 3
            assert got == want, "%s: %d tokens, expected %d" % (name, got, want)


def golden_set(model, prem, hyp, tokenize, vocab_ids, length, suffix):
    ids, mask, seg, lens = ifcc_inputs(prem, hyp, tokenize, vocab_ids, length)
    logits = ifcc_predict(model, prem, hyp, tokenize, vocab_ids, length)
    with torch.no_grad():
        one = model(ids, mask, seg)  # the whole set as one batch: same logits up to rounding
    d = (one - logits).abs().max().item()
    assert d < 1e-5, "batching changed the logits by %g" % d
    top2 = logits.topk(2, dim=1).values
    margin = (top2[:, 0] - top2[:, 1]).min().item()
    out = {"ids" + suffix: ids, "types" + suffix: seg, "mask" + suffix: mask, "lens" + suffix: lens,
           "logits" + suffix: logits, "labels" + suffix: logits.argmax(dim=1)}
    return out, margin


def write_golden(path, data, strings, attrs):
    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as f:
        for k, v in attrs.items():
            f.attrs[k] = v
        for k, v in strings.items():
            f.create_dataset(k, data=np.array(v, dtype=object), dtype=h5py.string_dtype(encoding="utf-8"))
        for k, v in data.items():
            a = v.detach().cpu().contiguous().numpy()
            a = a.astype(np.float32) if a.dtype.kind == "f" else a.astype(np.int32)
            f.create_dataset(k, data=a, compression="gzip", compression_opts=9, shuffle=True)
    os.replace(tmp, path)


def make(out_dir, data_dir, tok_python, keep_dir, command):
    t0 = time.time()
    pairs = all_pairs()
    prem, hyp = [p[1] for p in pairs], [p[2] for p in pairs]
    tok = run_tokenize_step(tok_python, sorted({t.lower() for t in prem + hyp}), data_dir)
    vocab, table = tok["vocab"], tok["tokens"]
    vocab_ids = {t: i for i, t in enumerate(vocab)}
    tokenize = table.__getitem__
    check_lengths(pairs, tokenize)

    cfg = small_cfg()
    ckdir = keep_dir or tempfile.mkdtemp(prefix="xrem_nli_")
    os.makedirs(ckdir, exist_ok=True)
    ck = os.path.join(ckdir, "model.dict.gz")
    model = make_model(cfg, SEED)
    calibrate_head(model, *ifcc_inputs(prem, hyp, tokenize, vocab_ids, MAX_LEN)[:3], SEED)
    save_checkpoint(state_dict_of(model), ck)
    wpath = os.path.join(out_dir, "nli_small.weights.h5")
    convert_nli.convert(ck, wpath, vocab_tokens=vocab, num_heads=cfg.num_heads, quiet=True)
    model = load_ifcc(ck, cfg)
    if not keep_dir:
        shutil.rmtree(ckdir)

    data, m1 = golden_set(model, prem, hyp, tokenize, vocab_ids, MAX_LEN, "")
    short, m2 = golden_set(model, prem, hyp, tokenize, vocab_ids, MAX_LEN_SHORT, "_64")
    data.update(short)
    margin = min(m1, m2)
    assert margin > 1e-3, "a label is within %g of a tie: pick another SEED" % margin
    attrs = {"max_len": np.int32(MAX_LEN), "max_len_short": np.int32(MAX_LEN_SHORT), "seed": np.int32(SEED),
             "margin_min": np.float64(margin), "tokenizer": tok["tokenizer"], "torch_version": str(torch.__version__),
             "generator": command, "weights": os.path.basename(wpath), "ifcc_batch": np.int32(IFCC_BATCH),
             "labels": "0 entailment, 1 neutral, 2 contradiction"}
    gpath = os.path.join(out_dir, "nli_small.golden.h5")
    write_golden(gpath, data, {"premise": prem, "hypothesis": hyp, "name": [p[0] for p in pairs]}, attrs)
    counts = Counter(int(x) for x in data["labels"])
    print("make_nli_goldens: %d pairs, labels %s, min margin %.3g, max tokens %d, vocab %d (%d report sections), "
          "%.1fs" % (len(pairs), {LABEL_NAMES[k]: v for k, v in sorted(counts.items())}, margin,
                     int(data["lens"].max()), len(vocab), tok["reports"], time.time() - t0))
    for p in (wpath, gpath):
        print("  %s %d bytes sha256 %s" % (p, os.path.getsize(p), hashlib.sha256(open(p, "rb").read()).hexdigest()[:16]))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--tokenize-step"]:
        tokenize_step(argv[1], argv[2])
        return 0
    ap = argparse.ArgumentParser(description="Make the NLI goldens (random BERTNLI weights, PyTorch fp32 reference).")
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "golden"))
    ap.add_argument("--data", default=os.path.normpath(os.path.join(ROOT, "..", "shared", "data")),
                    help="folder with bert-base-uncased-vocab.txt and NLMCXR_reports.tgz")
    ap.add_argument("--tok-python", default=os.environ.get("XREM_TOK_PYTHON", "python3"),
                    help="a python3 with transformers (the tokenization step)")
    ap.add_argument("--keep-checkpoint", default=None, help="write model.dict.gz here (default: a temp folder)")
    a = ap.parse_args(argv)
    if torch is None:
        ap.error("run this under /usr/bin/python3 (needs torch, h5py, numpy)")
    torch.set_num_threads(2)
    os.makedirs(a.out, exist_ok=True)
    make(a.out, a.data, a.tok_python, a.keep_checkpoint, "/usr/bin/python3 scripts/make_nli_goldens.py " + " ".join(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
