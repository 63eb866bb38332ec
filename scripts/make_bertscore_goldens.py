#!/usr/bin/python3
"""Goldens for xrem's byte-level BPE tokenizer and BERTScore (tests/test_bpe.c, tests/test_bertscore.c).

Interpreter: Debian's /usr/bin/python3 with python3-torch 1.13, numpy, h5py, and from PyPI (no dependencies
pulled): transformers==4.30.2, tokenizers==0.13.3, bert-score==0.3.13 (plus python3-pandas, -matplotlib,
-regex, -tqdm, -filelock, -packaging from Debian for bert_score's imports). Nothing is downloaded: the models
are random, the tokenizers are trained here on text this script writes itself (no report text from any data
set).

    /usr/bin/python3 scripts/make_bertscore_goldens.py                 # tests/golden/bertscore (committed)
    /usr/bin/python3 scripts/make_bertscore_goldens.py --retrain       # also retrain the two tokenizers
    /usr/bin/python3 scripts/make_bertscore_goldens.py --full DIR      # distilroberta-base shapes, into DIR
    /usr/bin/python3 scripts/make_bertscore_goldens.py --hf HF_DIR --layer L DIR   # any local HF model

Committed (tests/golden/bertscore/):
  bpe/vocab.json, bpe/merges.txt   a byte-level BPE tokenizer (1000 tokens, RoBERTa's special tokens at ids 0-4)
                                   trained with `tokenizers` on corpus() below; made once, reused (--retrain)
  wordpiece/vocab.txt              a lowercasing WordPiece vocabulary (600 tokens) trained the same way
  bpe_cases.tsv                    ids from HF's slow RobertaTokenizer over that BPE tokenizer: columns mode
                                   (tok0: tokenize, add_prefix_space=False; tok1: add_prefix_space=True; sent:
                                   bert_score.utils.sent_encode = strip, prefix space, <s> … </s>, cut at 512),
                                   the text's UTF-8 bytes in hex (invalid UTF-8 allowed: Python decodes it with
                                   errors="replace"), the ids, and the text as JSON for people
  tiny_roberta.weights.h5          random RobertaModel (3 layers, hidden 32, 4 heads, 64, max_position 514,
                                   type_vocab 1, LN eps 1e-5) with the BPE tokenizer, via scripts/convert_hf.py
                                   from a model.safetensors folder
  tiny_roberta.golden.h5           bert_score.score(..., num_layers=2) P/R/F, see below
  tiny_bert.weights.h5             random BertModel (2 layers, hidden 32, 4 heads, 64, max_position 512) with the
                                   WordPiece vocabulary
  tiny_bert.golden.h5              bert_score.score(..., num_layers=1)

A golden file holds: attrs layer, model, generator versions; datasets cands, refs (UTF-8 strings, [n]),
ids (int32, every text's sent_encode ids back to back, text 2i = cands[i], 2i+1 = refs[i]), ids_off ([2n+1]),
and per case a group cases/NAME with P, R, F ([n] float64 holding bert_score's float32 values) and attrs idf,
layer (bert_score's num_layers), match_batch (bert_score's batch_size; 0 = no batching quirk: computed here in
float64 from bert_score's own per-sentence embeddings), rescale (then dataset baseline [3], the b that bert_score
read from baseline_path). Random weights: Linear/position/type N(0, 0.1), word embeddings N(0, 1), LayerNorm
weight 1 + N(0, 0.1), bias N(0, 0.1). At the scoring layer the token states share a common direction (cosines
positive: the batched and exact cases agree); at layer 0 (the l0_* cases) tokens are nearly orthogonal, many
cosines are negative and bert_score's padded-zero quirk changes the l0_b3* scores; the C test reproduces it.
"""
import argparse
import binascii
import contextlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SPECIAL_BPE = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


# ----------------------------------------------------------------------------------------------------------
# text written for these goldens (radiology-like phrasing made up here, plus general English)

def corpus(n=6000, seed=7):
    """Deterministic radiology-like sentences from word lists: the tokenizers' training text."""
    rng = random.Random(seed)
    organs = ["heart", "lungs", "mediastinum", "hila", "pleural spaces", "osseous structures", "diaphragm",
              "cardiac silhouette", "aorta", "trachea", "costophrenic angles", "upper abdomen", "soft tissues"]
    states = ["normal", "unremarkable", "within normal limits", "stable", "clear", "enlarged", "mildly enlarged",
              "tortuous", "calcified", "intact", "well expanded", "hyperinflated"]
    findings = ["pneumothorax", "pleural effusion", "focal consolidation", "pulmonary edema", "cardiomegaly",
                "atelectasis", "pneumonia", "nodule", "mass", "fracture", "opacity", "infiltrate",
                "interstitial markings", "vascular congestion", "hiatal hernia", "granuloma", "scarring"]
    sides = ["left", "right", "bilateral", "left basilar", "right upper lobe", "lingular", "retrocardiac",
             "right middle lobe", "left lower lobe", "perihilar", "apical"]
    sizes = ["small", "moderate", "large", "trace", "tiny", "mild", "severe", "minimal"]
    verbs = ["is seen", "is noted", "is present", "has resolved", "is unchanged", "has increased", "has decreased",
             "is again demonstrated", "cannot be excluded", "may represent atelectasis"]
    devices = ["endotracheal tube", "nasogastric tube", "right internal jugular catheter", "pacemaker leads",
               "sternotomy wires", "surgical clips", "PICC line", "chest tube"]
    out = []
    for _ in range(n):
        k = rng.randrange(9)
        if k == 0:
            out.append("The %s %s %s." % (rng.choice(organs), "are" if rng.random() < .5 else "is", rng.choice(states)))
        elif k == 1:
            out.append("No %s, %s, or %s." % tuple(rng.sample(findings, 3)))
        elif k == 2:
            out.append("%s %s %s %s." % (rng.choice(sizes).capitalize(), rng.choice(sides), rng.choice(findings),
                                         rng.choice(verbs)))
        elif k == 3:
            out.append("The %s terminates %d cm above the carina." % (rng.choice(devices), rng.randint(1, 9)))
        elif k == 4:
            out.append("Compared to the prior study from %02d/%02d/%d, there's no significant change."
                       % (rng.randint(1, 12), rng.randint(1, 28), rng.randint(1998, 2023)))
        elif k == 5:
            out.append("IMPRESSION: %s %s. %s." % (rng.choice(sizes).capitalize(), rng.choice(findings),
                                                  rng.choice(["No acute cardiopulmonary process",
                                                              "Otherwise unremarkable", "Recommend follow-up CT",
                                                              "Findings discussed with the referring physician"])))
        elif k == 6:
            out.append("It's %s that the %s %s; we'll reassess in %d weeks, they've said it isn't urgent."
                       % (rng.choice(["likely", "possible", "unlikely"]), rng.choice(findings), rng.choice(verbs),
                          rng.randint(2, 12)))
        elif k == 7:
            out.append("%s: %d.%d x %d.%d cm %s in the %s." % (rng.choice(["Finding", "Note", "Comparison"]),
                                                         rng.randint(1, 9), rng.randint(0, 9), rng.randint(1, 9),
                                                         rng.randint(0, 9), rng.choice(findings), rng.choice(sides)))
        else:
            out.append("FINDINGS:\n%s %s.  %s %s." % (rng.choice(organs).capitalize(), rng.choice(states),
                                                      rng.choice(findings).capitalize(), rng.choice(verbs)))
    return out


SENTENCES = [
    "No acute cardiopulmonary process.",
    "The heart size is normal. The lungs are clear.",
    "Normal heart size; the lungs are clear without focal consolidation.",
    "Mild cardiomegaly with small bilateral pleural effusions.",
    "Moderate cardiomegaly. Small left pleural effusion, unchanged.",
    "No pneumothorax.",
    "Stable mediastinal contours.",
    "The endotracheal tube terminates 4 cm above the carina.",
    "Interval removal of the right internal jugular catheter.",
    "Left basilar opacity may represent atelectasis or early pneumonia.",
    "Hyperinflated lungs consistent with emphysema; no acute findings.",
    "Degenerative changes of the thoracic spine.",
    "Compared to the prior study from 03/12/2019, there's no significant change.",
    "IMPRESSION: Small right pleural effusion. Recommend follow-up CT.",
]

HARD = [
    "Hello world", " leading space", "trailing space ", "  two leading", "multiple   spaces  inside",
    "tabs\tand\nnewlines\r\nCRLF end", "\n\n", " ", "", "a\u00a0b", "\u3000ideographic space", "x\u2028y\u2029z",
    "\x1c\x1dinfo separators\x1e\x1f", "\tTab start", "end with newline\n", "   ",
    "don't I'm we're they've you'll he'd it's", "DON'T IT'S WE'RE", "'s at start", "rock 'n' roll",
    "O'Neil's dog's bone", "''s", "'ll'll'd", "it’s curly", "can't've",
    "12345 3.14 1,000,000 2019-03-12", "\u00bd \u00b2 \u0663 \u216b", "v2 a1b2 3rd", "T2/T3 C5-C6 L4-5",
    "Hello!!! ... ?!? (a) [b] {c} <d>", "--- *** ###", "e-mail@x.com http://a.b/c?d=e&f=g",
    "naïve café résumé", "Ελληνικά κείμενα", "русский текст", "中文字符测试", "日本語のテキスト", "한국어 문장",
    "עברית", "العربية", "emoji 🙂👍🏽 family 👨\u200d👩\u200d👧", "combining e\u0301 a\u0308", "zero width\u200bspace",
    "\ufeffBOM start", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛", "\U0010ffff last", "private \ue000 use",
    "<s>", "a <s> b", "x</s>y", "<mask>", "a <mask> b", "a  <mask>", "<pad><unk>", "<s<s>>", "< s>",
    "<mask>  tail", "text </s> <mask>", "\u0130stanbul \u00df \ufb01",
    "  Réévaluation: opacité basale — 3 cm × 2 cm 🙂  ",
]

INVALID_UTF8 = [b"a\xffb", b"\xe2\x82", b"\xe0\x80x", b"\xed\xa0\x80", b"\xf0\x9f\x98 tail", b"\xc3", b"\x80\x80",
                b"ok \xf4\x90\x80\x80 big", b"\xc0\xaf overlong"]


def random_texts(n=120, seed=5):
    """Random strings over an alphabet that stresses the pre-tokenization pattern (spaces of every kind,
    apostrophes and contraction letters, letters/digits/marks/symbols of several scripts, special tokens)."""
    rng = random.Random(seed)
    alpha = [" ", " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\x1c", "\u2028", "'", "'s", "'t", "'re",
             "'ll", "'d", "'m", "'ve", "s", "t", "re", "ll", "a", "Z", "é", "ß", "Ω", "ж", "中", "\u0301", "1", "23",
             "\u0663", "\u00bd", ".", ",", "!?", "-", "/", "(", ")", "\u2014", "\u20ac", "🙂", "👍🏽", "\u200d",
             "\u200b", "\ufeff", "<s>", "</s>", "<mask>", "<pad>", "<unk>", "<", ">"]
    return ["".join(rng.choice(alpha) for _ in range(rng.randint(1, 14))) for _ in range(n)]


def long_text(reps=70):
    return " ".join(SENTENCES[i % len(SENTENCES)] for i in range(reps))


def pairs_for_scoring():
    """(cands, refs) for the BERTScore goldens."""
    P = [
        (SENTENCES[0], SENTENCES[0]),                                  # identical
        (SENTENCES[1], SENTENCES[2]),                                  # paraphrase
        (SENTENCES[3], SENTENCES[4]),
        ("", SENTENCES[5]),                                            # empty candidate
        (SENTENCES[5], "   "),                                         # whitespace-only reference
        ("  Stable  mediastinal contours.\n", SENTENCES[6]),          # strip, inner double space
        ("Réévaluation: opacité basale — 3 cm × 2 cm 🙂", "Basal opacity measuring 3 cm."),
        ("There's no change since 12/03/2019; it's stable.", "No change from 2019."),
        ("Findings </s> impression <mask> unchanged.", "Impression unchanged."),   # special tokens in text
        (long_text(70), long_text(40)),                                # > 512 tokens: truncated
        (SENTENCES[7], SENTENCES[8]),
        ("Line one.\n\nLine two.\tTabbed.", "Line one. Line two."),
        (".", "Normal."),
        ("NO ACUTE DISEASE.", "no acute disease."),
        (SENTENCES[9], SENTENCES[10]),
        (SENTENCES[11], SENTENCES[12]),
        (SENTENCES[13], SENTENCES[2]),
        (SENTENCES[2], SENTENCES[13]),
        ("", ""),                                                      # both empty
    ]
    # very short pairs of different words, each in a match batch of 3 with longer texts: at layer 0 some token's
    # cosines with all 3-4 tokens of its partner are negative, which is where bert_score's quirk shows
    short = [("Yes", "No"), ("Calm", "Dense."), ("x", "Lungs"), ("Edema?", "Mass"), ("Ok", "Rib"),
             ("Fluid", "Tube"), ("Apex", "Hilum"), ("Wire", "Clear"), ("Gas", "Bone")]
    out = []
    for i, pr in enumerate(P):
        out.append(pr)
        if i % 2 == 1 and short:
            out.append(short.pop(0))
    out += short
    return [c for c, _ in out], [r for _, r in out]


# ----------------------------------------------------------------------------------------------------------
# tokenizers

def train_tokenizers(out, retrain):
    from tokenizers import BertWordPieceTokenizer, ByteLevelBPETokenizer
    bdir, wdir = os.path.join(out, "bpe"), os.path.join(out, "wordpiece")
    text = corpus() + SENTENCES + [h for h in HARD if h.strip()]
    if retrain or not os.path.isfile(os.path.join(bdir, "merges.txt")):
        os.makedirs(bdir, exist_ok=True)
        t = ByteLevelBPETokenizer()
        t.train_from_iterator(text, vocab_size=1000, min_frequency=2, show_progress=False, special_tokens=SPECIAL_BPE)
        t.save_model(bdir)
    if retrain or not os.path.isfile(os.path.join(wdir, "vocab.txt")):
        os.makedirs(wdir, exist_ok=True)
        t = BertWordPieceTokenizer(lowercase=True)
        t.train_from_iterator(text, vocab_size=600, min_frequency=2, show_progress=False)
        t.save_model(wdir)
    return bdir, wdir


def roberta_tokenizer_folder(bdir, dst):
    from transformers import RobertaTokenizer
    t = RobertaTokenizer(os.path.join(bdir, "vocab.json"), os.path.join(bdir, "merges.txt"), model_max_length=512)
    t.save_pretrained(dst)
    return t


def bert_tokenizer_folder(wdir, dst):
    from transformers import BertTokenizer
    t = BertTokenizer(os.path.join(wdir, "vocab.txt"), do_lower_case=True, model_max_length=512)
    t.save_pretrained(dst)
    return t


def bpe_cases(tok, path):
    from bert_score.utils import sent_encode
    texts = ([h.encode("utf-8") for h in SENTENCES + HARD + random_texts()] + INVALID_UTF8 +
             [long_text(70).encode("utf-8")])
    rows = []
    for raw in texts:
        s = raw.decode("utf-8", "replace")
        for mode in ("tok0", "tok1", "sent"):
            if mode == "sent":
                ids = sent_encode(tok, s)
            else:
                ids = tok.encode(s, add_special_tokens=False, add_prefix_space=(mode == "tok1"))
            rows.append("%s\t%s\t%s\t%s" % (mode, binascii.hexlify(raw).decode(), " ".join(map(str, ids)),
                                            json.dumps(s)))
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write("# mode\ttext (UTF-8 hex)\tids\ttext (JSON) -- scripts/make_bertscore_goldens.py\n")
        f.write("\n".join(rows) + "\n")
    os.replace(path + ".tmp", path)
    return len(rows)


# ----------------------------------------------------------------------------------------------------------
# models

def randomise(model, std, seed):
    """Linear/embedding N(0, std), LayerNorm 1 + N(0, 0.1) / N(0, 0.1); word embeddings N(0, 1): at layer 0
    (the embedding output) different tokens are then nearly orthogonal and many cosines are negative."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "word_embeddings" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            elif "LayerNorm.weight" in name:
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif "LayerNorm.bias" in name:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(std * torch.randn(p.shape, generator=g))


def save_weights(model, dst):
    """model.safetensors when the safetensors package is there (exercises the converter's torch-free path),
    else pytorch_model.bin."""
    sd = {k: v.contiguous() for k, v in model.state_dict().items()}
    try:
        from safetensors.torch import save_file
        save_file(sd, os.path.join(dst, "model.safetensors"), metadata={"format": "pt"})
    except ImportError:
        torch.save(sd, os.path.join(dst, "pytorch_model.bin"))


def make_roberta_folder(dst, bdir, vocab_size, H, L, NH, I, std, seed):
    from transformers import RobertaConfig, RobertaModel
    os.makedirs(dst, exist_ok=True)
    roberta_tokenizer_folder(bdir, dst)
    cfg = RobertaConfig(vocab_size=vocab_size, hidden_size=H, num_hidden_layers=L, num_attention_heads=NH,
                        intermediate_size=I, max_position_embeddings=514, type_vocab_size=1, layer_norm_eps=1e-5,
                        pad_token_id=1, bos_token_id=0, eos_token_id=2, hidden_act="gelu")
    torch.manual_seed(seed)
    m = RobertaModel(cfg, add_pooling_layer=True).eval()
    if std is not None:
        randomise(m, std, seed)
    cfg.save_pretrained(dst)
    save_weights(m, dst)


def make_bert_folder(dst, wdir, vocab_size, H, L, NH, I, std, seed):
    from transformers import BertConfig, BertModel
    os.makedirs(dst, exist_ok=True)
    bert_tokenizer_folder(wdir, dst)
    cfg = BertConfig(vocab_size=vocab_size, hidden_size=H, num_hidden_layers=L, num_attention_heads=NH,
                     intermediate_size=I, max_position_embeddings=512, type_vocab_size=2, hidden_act="gelu")
    torch.manual_seed(seed)
    m = BertModel(cfg).eval()
    if std is not None:
        randomise(m, std, seed)
    cfg.save_pretrained(dst)
    save_weights(m, dst)


def convert(hf_dir, out_h5, name):
    r = subprocess.run([sys.executable, os.path.join(HERE, "convert_hf.py"), hf_dir, out_h5, "--name", name],
                       capture_output=True, text=True)
    if r.returncode:
        raise SystemExit("convert_hf.py failed:\n" + r.stdout + r.stderr)


# ----------------------------------------------------------------------------------------------------------
# BERTScore

def exact_scores(model_dir, layer, cands, refs, idf):
    """Greedy matching without the batching quirk, in float64, from bert_score's own embeddings of each
    sentence alone (no padding)."""
    from collections import defaultdict
    from bert_score.utils import get_bert_embedding, get_idf_dict, get_model, get_tokenizer, sent_encode
    tok = get_tokenizer(model_dir, use_fast=False)
    model = _cached_get_model(model_dir, layer)
    if idf:
        idf_dict = get_idf_dict(refs, tok, nthreads=0)
    else:
        idf_dict = defaultdict(lambda: 1.0)
        idf_dict[tok.sep_token_id] = 0
        idf_dict[tok.cls_token_id] = 0
    cache = {}

    def emb(s):
        if s not in cache:
            e, _, w = get_bert_embedding([s], model, tok, idf_dict, device="cpu")
            e = e[0].double().numpy()
            cache[s] = (e / np.linalg.norm(e, axis=1, keepdims=True), w[0].double().numpy(),
                        len(sent_encode(tok, s)))
        return cache[s]
    P, R, F = [], [], []
    with np.errstate(invalid="ignore", divide="ignore"):
        for c, r in zip(cands, refs):
            ec, wc, lc = emb(c)
            er, wr, lr = emb(r)
            sim = ec @ er.T
            p = (wc * sim.max(axis=1)).sum() / wc.sum()
            rr = (wr * sim.max(axis=0)).sum() / wr.sum()
            f = 2 * p * rr / (p + rr)
            if np.isnan(f):
                f = 0.0
            if lc == 2 or lr == 2:
                p = rr = 0.0
            P.append(p)
            R.append(rr)
            F.append(f)
    return np.array(P), np.array(R), np.array(F)


def write_golden(path, model_dir, weights_name, layer, cases, cands, refs, quiet=False):
    """cases: list of (name, dict(idf, batch_size or 0 for exact, baseline or None, layer or the default))."""
    import bert_score
    import transformers
    from bert_score.utils import get_tokenizer, sent_encode
    tok = get_tokenizer(model_dir, use_fast=False)
    ids, off = [], [0]
    for c, r in zip(cands, refs):
        for s in (c, r):
            ids += sent_encode(tok, s)
            off.append(len(ids))
    tmp = path + ".tmp"
    try:
        _write_golden(tmp, model_dir, weights_name, layer, cases, cands, refs, ids, off, quiet)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


_MODELS = {}


def _cached_get_model(model_type, num_layers, all_layers=None):
    """bert_score.utils.get_model, loaded once per (model, num_layers): score() would reload the weights from disk
    on every call. get_model's result is only read by score()."""
    import bert_score.utils
    key = (model_type, num_layers, bool(all_layers))
    if key not in _MODELS:
        _MODELS[key] = bert_score.utils.get_model(model_type, num_layers, all_layers)
    return _MODELS[key]


_EMBEDDINGS = {}
_ORIG = {}


def _cached_get_bert_embedding(all_sens, model, tokenizer, idf_dict, batch_size=-1, device="cuda:0",
                               all_layers=False):
    """bert_score.utils.get_bert_embedding with the model's output kept per (model, batch of sentences): cases that
    batch the same sentences the same way (idf off / on / rescaled) run the encoder once. The idf weights, the
    only part that depends on idf_dict, are recomputed every call with bert_score's own collate_idf."""
    import bert_score.utils as U
    key = (id(model), tuple(all_sens), batch_size, all_layers)
    if key not in _EMBEDDINGS:
        _EMBEDDINGS[key] = _ORIG["get_bert_embedding"](all_sens, model, tokenizer, idf_dict, batch_size, device,
                                                       all_layers)
    emb, mask, _ = _EMBEDDINGS[key]
    _, padded_idf, _, _ = U.collate_idf(all_sens, tokenizer, idf_dict, device=device)
    return emb.clone(), mask, padded_idf


def _write_golden(tmp, model_dir, weights_name, layer, cases, cands, refs, ids, off, quiet):
    import bert_score
    import bert_score.score as bs_score_module
    import bert_score.utils as bs_utils
    import transformers
    bs_score_module.get_model = _cached_get_model
    _ORIG.setdefault("get_bert_embedding", bs_utils.get_bert_embedding)
    bs_utils.get_bert_embedding = _cached_get_bert_embedding  # looked up by bert_cos_score_idf at call time
    with h5py.File(tmp, "w") as f:
        f.attrs["layer"] = np.int32(layer)
        f.attrs["weights"] = weights_name
        f.attrs["generator"] = "scripts/make_bertscore_goldens.py"
        f.attrs["versions"] = "bert_score %s, transformers %s, torch %s" % (
            bert_score.__version__, transformers.__version__, torch.__version__)
        sdt = h5py.string_dtype(encoding="utf-8")
        f.create_dataset("cands", data=np.array(cands, dtype=object), dtype=sdt)
        f.create_dataset("refs", data=np.array(refs, dtype=object), dtype=sdt)
        f.create_dataset("ids", data=np.array(ids, dtype=np.int32))
        f.create_dataset("ids_off", data=np.array(off, dtype=np.int32))
        for name, c in cases:
            L = c.get("layer", layer)
            if c["batch_size"] == 0:
                P, R, F = exact_scores(model_dir, L, cands, refs, c["idf"])
            else:
                kw = {}
                if c.get("baseline") is not None:
                    bpath = os.path.join(tempfile.mkdtemp(), "baseline.tsv")
                    with open(bpath, "w") as bf:
                        bf.write("LAYER,P,R,F\n")
                        for li in range(L + 1):
                            bf.write("%d,%r,%r,%r\n" % ((li,) + tuple(c["baseline"])))
                    kw = dict(lang="en", rescale_with_baseline=True, baseline_path=bpath)
                with contextlib.redirect_stderr(io.StringIO()):
                    P, R, F = bert_score.score(cands, refs, model_type=model_dir, num_layers=L, idf=c["idf"],
                                               batch_size=c["batch_size"], device="cpu", nthreads=1, **kw)
                P, R, F = (x.double().numpy() for x in (P, R, F))
            g = f.create_group("cases/" + name)
            g.attrs["idf"] = np.int32(c["idf"])
            g.attrs["layer"] = np.int32(L)
            g.attrs["match_batch"] = np.int32(c["batch_size"])
            g.attrs["rescale"] = np.int32(c.get("baseline") is not None)
            if c.get("baseline") is not None:
                g.create_dataset("baseline", data=np.array(c["baseline"], dtype=np.float64))
            for k, v in (("P", P), ("R", R), ("F", F)):
                g.create_dataset(k, data=np.asarray(v, dtype=np.float64))
            if not quiet:
                print("  %-16s F = %s" % (name, np.array2string(np.asarray(F)[:6], precision=4)))


STD_CASES = [
    ("b64", dict(idf=False, batch_size=64)),
    ("b64_idf", dict(idf=True, batch_size=64)),
    ("b3", dict(idf=False, batch_size=3)),
    ("b3_idf", dict(idf=True, batch_size=3)),
    ("exact", dict(idf=False, batch_size=0)),
    ("exact_idf", dict(idf=True, batch_size=0)),
    ("b64_rescaled", dict(idf=False, batch_size=64, baseline=(0.61, 0.62, 0.615))),
    ("l0_b64", dict(idf=False, batch_size=64, layer=0)),
    ("l0_b3", dict(idf=False, batch_size=3, layer=0)),
    ("l0_b3_idf", dict(idf=True, batch_size=3, layer=0)),
    ("l0_exact", dict(idf=False, batch_size=0, layer=0)),
]


def quirk_fired(path):
    with h5py.File(path, "r") as f:
        return any(np.abs(f["cases/l0_b3/" + k][:] - f["cases/l0_exact/" + k][:]).max() > 1e-4 for k in "PR")


def make_committed(out, retrain):
    os.makedirs(out, exist_ok=True)
    bdir, wdir = train_tokenizers(out, retrain)
    work = tempfile.mkdtemp(prefix="xrem_bs_gold_")
    try:
        roberta_tokenizer_folder(bdir, os.path.join(work, "tok_roberta"))
        from bert_score.utils import get_tokenizer  # as bert_score loads it: from_pretrained splits specials
        rt = get_tokenizer(os.path.join(work, "tok_roberta"), use_fast=False)
        print("bpe_cases.tsv: %d rows" % bpe_cases(rt, os.path.join(out, "bpe_cases.tsv")))
        cands, refs = pairs_for_scoring()
        nb = len(json.load(open(os.path.join(bdir, "vocab.json"), encoding="utf-8")))
        d = os.path.join(work, "tiny_roberta")
        make_roberta_folder(d, bdir, nb, 32, 3, 4, 64, 0.1, seed=11)
        convert(d, os.path.join(out, "tiny_roberta.weights.h5"), "xrem-tiny-roberta")
        print("tiny_roberta:")
        write_golden(os.path.join(out, "tiny_roberta.golden.h5"), d, "tiny_roberta.weights.h5", 2, STD_CASES,
                     cands, refs)
        if not quirk_fired(os.path.join(out, "tiny_roberta.golden.h5")):
            print("WARNING: tiny_roberta: the l0_b3 cases do not exercise bert_score's padding quirk")
        nw = sum(1 for _ in open(os.path.join(wdir, "vocab.txt"), encoding="utf-8"))
        d = os.path.join(work, "tiny_bert")
        make_bert_folder(d, wdir, nw, 32, 2, 4, 64, 0.1, seed=12)
        convert(d, os.path.join(out, "tiny_bert.weights.h5"), "xrem-tiny-bert")
        print("tiny_bert:")
        write_golden(os.path.join(out, "tiny_bert.golden.h5"), d, "tiny_bert.weights.h5", 1, STD_CASES, cands, refs)
        if not quirk_fired(os.path.join(out, "tiny_bert.golden.h5")):
            print("WARNING: tiny_bert: the l0_b3 cases do not exercise bert_score's padding quirk")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def make_full(out):
    """distilroberta-base's shapes (6 layers, 768, 12 heads, 3072, vocab 50265, max_position 514, type_vocab 1,
    LN eps 1e-5), HF's own init (std 0.02), the committed BPE tokenizer; layer 5; the real distilroberta-base
    baseline from bert_score's package for the rescaled case."""
    import bert_score
    os.makedirs(out, exist_ok=True)
    bdir = os.path.join(ROOT, "tests", "golden", "bertscore", "bpe")
    d = os.path.join(out, "full_roberta")
    make_roberta_folder(d, bdir, 50265, 768, 6, 12, 3072, None, seed=13)
    convert(d, os.path.join(out, "full_roberta.weights.h5"), "xrem-random-distilroberta-shapes")
    import pandas as pd
    tsv = os.path.join(os.path.dirname(bert_score.__file__), "rescale_baseline", "en", "distilroberta-base.tsv")
    b = tuple(float(x) for x in pd.read_csv(tsv).iloc[5].to_numpy()[1:])
    # without the > 512-token pair: bert_score pads a whole batch to 512 for it, which costs minutes on 2 cores;
    # truncation and the 514-row position table are covered by the committed tiny_roberta golden
    cands, refs = zip(*[(c, r) for c, r in zip(*pairs_for_scoring()) if len(c) < 1000 and len(r) < 1000])
    cands, refs = list(cands), list(refs)
    cases = [("b64", dict(idf=False, batch_size=64)), ("b64_idf", dict(idf=True, batch_size=64)),
             ("b4", dict(idf=False, batch_size=4)), ("exact", dict(idf=False, batch_size=0)),
             ("b64_rescaled", dict(idf=False, batch_size=64, baseline=b))]
    print("full_roberta:")
    write_golden(os.path.join(out, "full_roberta.golden.h5"), d, "full_roberta.weights.h5", 5, cases, cands, refs)


def make_from_hf(hf_dir, layer, out):
    os.makedirs(out, exist_ok=True)
    convert(hf_dir, os.path.join(out, "hf.weights.h5"), os.path.basename(os.path.normpath(hf_dir)))
    cands, refs = pairs_for_scoring()
    cases = [("b64", dict(idf=False, batch_size=64)), ("b64_idf", dict(idf=True, batch_size=64)),
             ("exact", dict(idf=False, batch_size=0))]
    print("%s:" % hf_dir)
    write_golden(os.path.join(out, "hf.golden.h5"), hf_dir, "hf.weights.h5", layer, cases, cands, refs)


def main():
    if os.environ.get("PYTHONHASHSEED") != "0":
        # bert_score orders sentences through a set() before batching them: fix str hashing so the batches, and
        # so the last bits of the goldens, are the same on every run
        os.execve(sys.executable, [sys.executable] + sys.argv, dict(os.environ, PYTHONHASHSEED="0"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "golden", "bertscore"))
    ap.add_argument("--retrain", action="store_true", help="retrain the committed BPE and WordPiece tokenizers")
    ap.add_argument("--full", metavar="DIR", help="make the distilroberta-shaped model and golden in DIR")
    ap.add_argument("--hf", metavar="HF_DIR", help="make a golden for a local HF model (needs --layer and DIR)")
    ap.add_argument("--layer", type=int)
    ap.add_argument("dir", nargs="?")
    a = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    torch.set_num_threads(2)
    if a.full:
        make_full(a.full)
    elif a.hf:
        if a.layer is None or not a.dir:
            ap.error("--hf needs --layer L and an output DIR")
        make_from_hf(a.hf, a.layer, a.dir)
    else:
        make_committed(a.out, a.retrain)


if __name__ == "__main__":
    main()
