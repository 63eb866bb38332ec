#!/usr/bin/python3
"""Make the CheXbert parity goldens (DESIGN.md §3, §6): a random-weight model with CheXbert's exact state-dict
keys (bert_labeler: transformers BertModel + 14 linear_heads), saved as CheXbert saves it
({'model_state_dict': {'module.' + key: tensor}, ...}), converted with scripts/convert_chexbert.py, and what
CheXbert's own code path gives on ~45 report texts of ours: cleaned texts, ids, logits, classes, the raw
last-layer [CLS] vectors (CXR-Report-Metric encode.py) and s_emb of pairs (CXR-Report-Metric add_semb_col).

usage: /usr/bin/python3 scripts/make_chexbert_goldens.py [--out tests/golden] [--data ../shared/data]
                                                         [--keep-checkpoint DIR]

Interpreter: Debian's /usr/bin/python3 (python3-torch 1.13, transformers 4.30, pandas 1.5, numpy, h5py). The
reference path is CheXbert's code, reproduced line for line:
  bert_tokenizer.get_impressions_from_csv: imp.str.strip(); imp.replace('\\n', ' ', regex=True);
      imp.replace('\\s+', ' ', regex=True); imp.str.strip()         (pandas, on a Series of the texts)
  bert_tokenizer.tokenize: tokenizer.tokenize(imp) (transformers' slow BertTokenizer, do_lower_case=True); empty ->
      [CLS] [SEP]; else tokenizer.encode_plus(tokens)['input_ids'], cut to res[:511] + [SEP] when longer than 512
  label.py: DataLoader batches of BATCH_SIZE = 18 in file order, pad_sequence(padding_value=PAD_IDX = 0),
      utils.generate_attention_masks (1 for the first len tokens); model(batch, attn_mask); out[j].argmax(dim=1)
  models/bert_labeler.py: final_hidden = bert(ids, attention_mask=mask)[0]; cls = final_hidden[:, 0, :];
      dropout (identity in eval); out = [linear_heads[j](cls) for j in 0..13]
  CXR-Report-Metric add_semb_col: (a * b).sum() / (np.linalg.norm(a) * np.linalg.norm(b)) in float32 on the raw
      cls vectors (encode.py's bert_encoder returns final_hidden[:, 0] before the heads).

The vocabulary (1,200 tokens, in the weights file's tokenizer group): [PAD] [UNK] [CLS] [SEP] [MASK], every wordpiece
bert-base-uncased gives for the cleaned golden texts, then the most frequent wordpieces of the IU X-Ray reports
(../shared/data/NLMCXR_reports.tgz), built by make_nli_goldens.build_vocab; each golden text is asserted to
tokenize exactly as with the full vocabulary. No report text is stored; the texts below are ours.

Model: hidden 48, 2 layers, 4 heads, intermediate 96, 512 positions, 2 token types; weights N(0, 0.08), biases
N(0, 0.02), LayerNorm 1 + N(0, 0.1) / N(0, 0.1); seed SEED. Each head is then re-drawn (calibrate_heads) so that
over the golden texts every class of every head occurs and each argmax leads the runner-up by >= MARGIN (labels
robust to 1e-4 errors).

Files (in --out):
  chexbert_small.weights.h5  convert_chexbert.py output (arch chexbert, vocab included)
  chexbert_small.golden.h5   text, name, clean [n] (UTF-8 strings); ids [n, T] int32 (padded with 0 to the
                             longest), lens [n]; logits [n, 54] float32 (the 14 heads stacked in condition order:
                             4 logits each, No Finding's 2 last); classes [n, 14] int32; cls [n, 48] float32;
                             pair_a, pair_b [P] int32 and semb [P] float32 (s_emb of text pair_a[k] vs pair_b[k]).
                             Root attrs: seed, batch_size, margin_min, tokenizer, transformers_version,
                             torch_version, generator, weights.
The checkpoint (chexbert.pth) goes to a temporary folder (or --keep-checkpoint DIR); it is not committed.
"""
import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
try:
    import h5py
    import numpy as np
    import pandas as pd
    import torch
    import torch.nn as nn
    import transformers
    from transformers import BertConfig, BertModel
    import convert_chexbert
    import make_goldens
    import make_nli_goldens
except ImportError as e:  # noqa: F841
    torch = None

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
VOCAB_SIZE = 1200
SEED = 47
BATCH_SIZE = 18  # CheXbert constants.BATCH_SIZE
PAD_IDX = 0
MARGIN = 0.05
NCOND = 14

# ----------------------------------------------------------------------------------------------------------
# the texts: our own radiology-like reports (no IU / MIMIC text)
# ----------------------------------------------------------------------------------------------------------
UNIT = "the heart is normal in size and the lungs are clear ."  # 12 single-piece tokens (asserted)
UNIT_TOKENS = 12
FILL = " no"
REAL = ("FINDINGS: Patchy opacities in the right lower lobe are again seen, with a small effusion and mild "
        "vascular congestion.\n\nThe cardiomediastinal silhouette is stable.   Support lines unchanged.\n")


def _exact(n):
    """A text of exactly n tokens."""
    return (UNIT + " ") * (n // UNIT_TOKENS) + FILL * (n % UNIT_TOKENS)


TEXTS = [
    ("no_acute", "No acute cardiopulmonary process."),
    ("effusion", "Small left pleural effusion with adjacent atelectasis."),
    ("cardiomegaly", "Moderate cardiomegaly. Mild pulmonary vascular congestion without frank edema."),
    ("pneumothorax", "Large right pneumothorax with leftward mediastinal shift. Findings discussed with the team."),
    ("no_ptx", "No pneumothorax. No pleural effusion. Lungs are clear."),
    ("edema", "Worsening bilateral interstitial and alveolar edema, consistent with volume overload."),
    ("pneumonia", "Right lower lobe consolidation concerning for pneumonia in the appropriate clinical setting."),
    ("uncertain", "Increased opacity at the left base may represent atelectasis or possibly early pneumonia."),
    ("devices", "Endotracheal tube terminates 4 cm above the carina. Nasogastric tube courses below the diaphragm."),
    ("fracture", "Acute displaced fracture of the right seventh rib. No pneumothorax."),
    ("lesion", "A 2.3 cm nodule in the left upper lobe; recommend CT for further evaluation."),
    ("other", "Left apical pleural thickening, likely chronic scarring."),
    ("mediastinum", "The mediastinum is widened, which could reflect vascular engorgement or a mass."),
    ("normal_full", "The heart size is normal. The mediastinal and hilar contours are unremarkable. The lungs are "
                    "clear. There is no effusion or pneumothorax. Osseous structures are intact."),
    ("stable", "Stable appearance of the chest since the prior study."),
    ("picc", "Left-sided PICC line tip in the low SVC. Otherwise unchanged."),
    ("copd", "Hyperinflated lungs consistent with COPD. No focal consolidation."),
    ("granuloma", "Calcified granuloma in the right upper lobe, unchanged since 2015."),
    ("improving", "Interval improvement in bilateral airspace opacities. Small residual effusions."),
    ("pacemaker", "Dual-chamber pacemaker with leads in the right atrium and right ventricle."),
    ("hedged", "Cannot exclude a small left effusion. Possible mild edema."),
    ("negated", "No evidence of consolidation, edema, effusion, or pneumothorax. Heart size within normal limits."),
    # whitespace: CheXbert's cleaning (strip, newline -> space, runs of \s -> one space)
    ("newlines", "FINDINGS:\nThe lungs are clear.\n\nIMPRESSION:\nNo acute disease.\n"),
    ("spaces", "   Heart    size    is   normal.\t\tNo   effusion.   "),
    ("crlf", "Mild cardiomegaly.\r\nNo focal consolidation.\r\n"),
    ("python_space", "No\x0bpneumothorax.\x0cLungs\x1cclear.\x1dHeart\x1enormal\x1fsize.\x85Mild\u00a0edema."),
    ("unicode_space", "Small\u2028effusion\u2029on\u3000the\u202fleft\u205fside\u1680and\u2003mild\u200aedema."),
    ("empty", ""),
    ("whitespace_only", " \n\t \r\n  "),
    # tokenizer: special strings, case (per-character lowering), accents, controls, long words
    ("special_strings", "Findings: [SEP] no change. [CLS] atelectasis [MASK] [PAD] [UNK] [sep] [Cls]"),
    ("upper", "NO ACUTE INTRATHORACIC ABNORMALITY. SMALL RIGHT EFFUSION."),
    ("greek_sigma", "\u039f\u0394\u039f\u03a3 \u0391\u03a3\u0001\u0392 \u03c3 opacity \u03a3\u0391\u03a3."),
    ("dotted_i", "\u0130STANBUL protocol: minimal basilar atelectasis."),
    ("accents", "R\u00e9sum\u00e9: opacit\u00e9 basale droite, caf\u00e9 na\u00efve."),
    ("format_chars", "Pleu\u00adral effu\u200dsion, small.\u0007 No edema."),
    ("long_word", "Opacity " + "x" * 120 + " at the base."),  # > 100 characters: [UNK]
    ("cjk_numbers", "Cardiomegaly 2/3 of the thoracic width, CTR 0.62; \u80ba normal."),
    # lengths around CheXbert's cut at 512 ([CLS] + 511 + [SEP] ... )
    ("len_510", _exact(510)),                   # 512 ids: kept whole
    ("len_511", _exact(511)),                   # 513 ids: the last token cut, [SEP] kept
    ("len_700", _exact(700)),                   # far over
    ("long_real", REAL * 14),                   # a long report with newlines and runs of spaces, > 512
    ("long_real_short", REAL * 3),
]

# s_emb pairs: neighbours, a text with itself, and a few chosen contrasts
def semb_pairs(n, names):
    ix = {nm: i for i, nm in enumerate(names)}
    pairs = [(i, (i + 1) % n) for i in range(n)]
    pairs += [(ix["no_acute"], ix["no_acute"]), (ix["no_ptx"], ix["pneumothorax"]), (ix["empty"], ix["effusion"]),
              (ix["len_511"], ix["len_510"]), (ix["spaces"], ix["whitespace_only"])]
    return pairs


# ----------------------------------------------------------------------------------------------------------
# CheXbert's text path (bert_tokenizer.py), with transformers' slow BertTokenizer
# ----------------------------------------------------------------------------------------------------------
def slow_tokenizer(vocab_path):
    from transformers import BertTokenizer
    tok = BertTokenizer(vocab_file=vocab_path, do_lower_case=True)
    assert not getattr(tok, "is_fast", False)
    return tok


def get_impressions(texts):
    """bert_tokenizer.get_impressions_from_csv, on a Series instead of a CSV column."""
    imp = pd.Series(texts, dtype=object)
    imp = imp.str.strip()
    imp = imp.replace('\n', ' ', regex=True)
    imp = imp.replace(r'\s+', ' ', regex=True)
    imp = imp.str.strip()
    return imp


def chexbert_tokenize(impressions, tokenizer):
    """bert_tokenizer.tokenize."""
    new_impressions = []
    for i in range(impressions.shape[0]):
        tokenized_imp = tokenizer.tokenize(impressions.iloc[i])
        if tokenized_imp:  # not an empty report
            res = tokenizer.encode_plus(tokenized_imp)['input_ids']
            if len(res) > 512:  # length exceeds maximum size
                res = res[:511] + [tokenizer.sep_token_id]
            new_impressions.append(res)
        else:  # an empty report
            new_impressions.append([tokenizer.cls_token_id, tokenizer.sep_token_id])
    return new_impressions


# ----------------------------------------------------------------------------------------------------------
# the model: CheXbert's bert_labeler
# ----------------------------------------------------------------------------------------------------------
def small_cfg(vocab_size):
    return BertConfig(vocab_size=vocab_size, hidden_size=48, num_hidden_layers=2, num_attention_heads=4,
                      intermediate_size=96, max_position_embeddings=512, type_vocab_size=2, hidden_act="gelu",
                      layer_norm_eps=1e-12, pad_token_id=0)


def tiny_cfg(vocab_size=40):
    """For the converter's self-check (tests/test_ref_convert_chexbert.sh)."""
    return BertConfig(vocab_size=vocab_size, hidden_size=24, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=48, max_position_embeddings=32, type_vocab_size=2, hidden_act="gelu",
                      layer_norm_eps=1e-12, pad_token_id=0)


if torch is not None:
    class bert_labeler(nn.Module):  # noqa: N801 - CheXbert's name
        """CheXbert src/models/bert_labeler.py: state-dict keys bert.*, linear_heads.N.*."""

        def __init__(self, cfg, p=0.1):
            super().__init__()
            self.bert = BertModel(cfg)
            self.dropout = nn.Dropout(p)
            hidden_size = self.bert.pooler.dense.in_features
            self.linear_heads = nn.ModuleList([nn.Linear(hidden_size, 4, bias=True) for _ in range(13)])
            self.linear_heads.append(nn.Linear(hidden_size, 2, bias=True))

        def cls(self, source_padded, attention_mask):
            final_hidden = self.bert(source_padded, attention_mask=attention_mask)[0]
            return final_hidden[:, 0, :].squeeze(dim=1)

        def forward(self, source_padded, attention_mask):
            cls_hidden = self.dropout(self.cls(source_padded, attention_mask))
            return [self.linear_heads[i](cls_hidden) for i in range(14)]


def buffers_of(model):
    return {k for k, _ in model.named_buffers()}


def checkpoint_of(model, extra_buffers=False):
    """What CheXbert's training saves: DataParallel keys ('module.' + key), transformers 2.5.1's state dict (no
    position_ids / token_type_ids buffers), beside the epoch and an optimizer state."""
    bufs = buffers_of(model)
    sd = {"module." + k: v.clone() for k, v in model.state_dict().items() if extra_buffers or k not in bufs}
    opt = torch.optim.Adam(model.parameters(), lr=2e-5)
    return {"epoch": 3, "model_state_dict": sd, "optimizer_state_dict": opt.state_dict()}


def load_label_py(path, cfg):
    """label.py on a machine without a GPU: torch.load + k[7:] + load_state_dict."""
    model = bert_labeler(cfg)
    checkpoint = torch.load(path, map_location=torch.device("cpu"))
    new_state_dict = {k[7:]: v for k, v in checkpoint["model_state_dict"].items()}
    missing, unexpected = model.load_state_dict(new_state_dict, strict=False)
    assert not unexpected and set(missing) <= buffers_of(model), (missing, unexpected)
    return model.eval()


def generate_attention_masks(batch, source_lengths):
    masks = torch.ones(batch.size(0), batch.size(1), dtype=torch.float)
    for idx, src_len in enumerate(source_lengths):
        masks[idx, src_len:] = 0
    return masks


def label_py(model, encoded):
    """label.py's loop (plus encode.py's cls): logits [n, 54], classes [n, 14], cls [n, C]."""
    logits, classes, cls = [], [], []
    with torch.no_grad():
        for s in range(0, len(encoded), BATCH_SIZE):
            rows = [torch.LongTensor(e) for e in encoded[s:s + BATCH_SIZE]]
            batch = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True, padding_value=PAD_IDX)
            attn_mask = generate_attention_masks(batch, [r.shape[0] for r in rows])
            out = model(batch, attn_mask)
            logits.append(torch.cat(out, dim=1))
            classes.append(torch.stack([o.argmax(dim=1) for o in out], dim=1))
            cls.append(model.cls(batch, attn_mask))
    return torch.cat(logits), torch.cat(classes), torch.cat(cls)


def calibrate_heads(model, cls, seed):
    """Re-draw each linear head: random directions scaled so every logit has standard deviation 1 over the golden
    texts, a bias that centres them; retried until every class occurs and the argmax leads by >= MARGIN on every
    text. Returns the smallest lead."""
    g = torch.Generator().manual_seed(seed + 1)
    centred = cls - cls.mean(0)
    worst = float("inf")
    with torch.no_grad():
        for j, head in enumerate(model.linear_heads):
            k = head.weight.shape[0]
            for attempt in range(5000):
                W = torch.randn(k, cls.shape[1], generator=g)
                W = W / (centred @ W.t()).std(0).unsqueeze(1)
                b = -(cls.mean(0) @ W.t()) + 0.3 * torch.randn(k, generator=g)
                z = cls @ W.t() + b
                top2 = z.topk(2, dim=1).values
                lead = (top2[:, 0] - top2[:, 1]).min().item()
                if lead >= MARGIN and len(set(z.argmax(dim=1).tolist())) == k:
                    break
            else:
                raise SystemExit("make_chexbert_goldens: head %d: no draw with all classes and lead >= %g" % (j, MARGIN))
            head.weight.copy_(W)
            head.bias.copy_(b)
            worst = min(worst, lead)
    return worst


def semb_numpy(a, b):
    """CXR-Report-Metric add_semb_col on float32 numpy vectors."""
    return (a * b).sum() / (np.linalg.norm(a) * np.linalg.norm(b))


# ----------------------------------------------------------------------------------------------------------
def build_vocab(clean_texts, data_dir, d):
    full_path = os.path.join(data_dir, "bert-base-uncased-vocab.txt")
    tgz = os.path.join(data_dir, "NLMCXR_reports.tgz")
    for p in (full_path, tgz):
        if not os.path.isfile(p):
            raise SystemExit("make_chexbert_goldens: %s not found (--data)" % p)
    full = slow_tokenizer(full_path)
    vocab, nrep = make_nli_goldens.build_vocab(full, clean_texts, tgz, VOCAB_SIZE)
    vpath = os.path.join(d, "vocab.txt")
    with open(vpath, "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    small = slow_tokenizer(vpath)
    for t in clean_texts:
        if small.tokenize(t) != full.tokenize(t):
            raise SystemExit("make_chexbert_goldens: the small vocabulary segments %r differently" % t)
    return vocab, small, nrep


def write_golden(path, data, strings, attrs):
    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as f:
        for k, v in attrs.items():
            f.attrs[k] = v
        for k, v in strings.items():
            f.create_dataset(k, data=np.array(v, dtype=object), dtype=h5py.string_dtype(encoding="utf-8"))
        for k, v in data.items():
            a = np.ascontiguousarray(v)
            a = a.astype(np.float32) if a.dtype.kind == "f" else a.astype(np.int32)
            f.create_dataset(k, data=a, compression="gzip", compression_opts=9, shuffle=True)
    os.replace(tmp, path)


def make(out_dir, data_dir, keep_dir, command):
    t0 = time.time()
    names, texts = [t[0] for t in TEXTS], [t[1] for t in TEXTS]
    assert len(set(names)) == len(names)
    clean = get_impressions(texts)
    tmpd = tempfile.mkdtemp(prefix="xrem_chexbert_")
    try:
        vocab, tok, nrep = build_vocab(list(clean), data_dir, tmpd)
        assert len(tok.tokenize(UNIT)) == UNIT_TOKENS and len(tok.tokenize(FILL)) == 1
        encoded = chexbert_tokenize(clean, tok)
        lens = [len(e) for e in encoded]
        ix = dict(zip(names, range(len(names))))
        assert lens[ix["len_510"]] == 512 and lens[ix["len_511"]] == 512 and encoded[ix["len_511"]][-1] == 3
        assert len(tok.tokenize(clean[ix["len_511"]])) == 511 and lens[ix["empty"]] == 2

        cfg = small_cfg(len(vocab))
        torch.manual_seed(SEED)
        model = make_goldens.init_random_(bert_labeler(cfg), 0.08).eval()
        _, _, cls0 = label_py(model, encoded)
        margin = calibrate_heads(model, cls0, SEED)

        ckdir = keep_dir or tmpd
        os.makedirs(ckdir, exist_ok=True)
        ck = os.path.join(ckdir, "chexbert.pth")
        torch.save(checkpoint_of(model), ck)
        wpath = os.path.join(out_dir, "chexbert_small.weights.h5")
        convert_chexbert.convert(ck, wpath, vocab_tokens=vocab, num_heads=cfg.num_attention_heads, quiet=True)
        model = load_label_py(ck, cfg)
    finally:
        shutil.rmtree(tmpd)

    logits, classes, cls = label_py(model, encoded)
    top = [logits[:, 4 * j:4 * j + (2 if j == NCOND - 1 else 4)].topk(2, dim=1).values for j in range(NCOND)]
    margin = min(margin, min((t[:, 0] - t[:, 1]).min().item() for t in top))
    assert margin >= MARGIN * 0.99, "a label is within %g of a tie" % margin
    pairs = semb_pairs(len(texts), names)
    cn = cls.numpy().astype(np.float32)
    semb = np.array([semb_numpy(cn[a], cn[b]) for a, b in pairs], dtype=np.float32)
    T = max(lens)
    ids = np.zeros((len(texts), T), dtype=np.int32)
    for i, e in enumerate(encoded):
        ids[i, :len(e)] = e
    data = {"ids": ids, "lens": np.array(lens), "logits": logits.numpy(), "classes": classes.numpy(), "cls": cn,
            "pair_a": np.array([a for a, _ in pairs]), "pair_b": np.array([b for _, b in pairs]), "semb": semb}
    attrs = {"seed": np.int32(SEED), "batch_size": np.int32(BATCH_SIZE), "margin_min": np.float64(margin),
             "tokenizer": "transformers %s %s(do_lower_case=True)" % (transformers.__version__, type(tok).__name__),
             "transformers_version": transformers.__version__, "torch_version": str(torch.__version__),
             "generator": command, "weights": os.path.basename(wpath),
             "classes": "0 blank, 1 positive, 2 negative, 3 uncertain (No Finding: 0 blank, 1 positive)"}
    gpath = os.path.join(out_dir, "chexbert_small.golden.h5")
    write_golden(gpath, data, {"text": texts, "name": names, "clean": list(clean)}, attrs)
    cnt = [[int((classes[:, j] == c).sum()) for c in range(4)] for j in range(NCOND)]
    print("make_chexbert_goldens: %d texts (max %d ids), %d s_emb pairs (%.4f..%.4f), min lead %.3g, vocab %d "
          "(%d report sections), %.1fs" % (len(texts), T, len(pairs), semb.min(), semb.max(), margin, len(vocab),
                                            nrep, time.time() - t0))
    print("  class counts per head: %s" % cnt)
    for p in (wpath, gpath):
        print("  %s %d bytes sha256 %s" % (p, os.path.getsize(p), hashlib.sha256(open(p, "rb").read()).hexdigest()[:16]))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description="Make the CheXbert goldens (random bert_labeler, PyTorch fp32 reference).")
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "golden"))
    ap.add_argument("--data", default=os.path.normpath(os.path.join(ROOT, "..", "shared", "data")),
                    help="folder with bert-base-uncased-vocab.txt and NLMCXR_reports.tgz")
    ap.add_argument("--keep-checkpoint", default=None, help="write chexbert.pth here (default: a temp folder)")
    a = ap.parse_args(argv)
    if torch is None:
        ap.error("run this under /usr/bin/python3 (needs torch, transformers, pandas, h5py, numpy)")
    torch.set_num_threads(2)
    os.makedirs(a.out, exist_ok=True)
    make(a.out, a.data, a.keep_checkpoint,
         "/usr/bin/python3 scripts/make_chexbert_goldens.py " + " ".join(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
