#!/usr/bin/python3
"""Make the ALBEF parity goldens (DESIGN.md §6): random-weight checkpoints in the real key layouts, their xrem
weights files (through convert_albef.convert) and PyTorch fp32 reference activations.

Interpreter: Debian's /usr/bin/python3 (python3-torch 1.13, numpy 1.24, h5py 3.7). No network, no downloads.

usage: make_goldens.py --out DIR [--full] [--vocab VOCAB.txt] [--only NAME ...]
  default : albef_small_retrieval, albef_small_itm (committed under tests/golden/)
  --full  : also albef_full_retrieval, albef_full_itm (ViT-B/16 + BERT-base; large, never committed)
Per case NAME it writes DIR/NAME.pth ({'model': state_dict}, gitignored), DIR/NAME.weights.h5, DIR/NAME.golden.h5.
See tests/golden/README.md for the dataset list and tolerances.
"""
import argparse
import os
import sys
import time

import h5py
import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import albef_torch as A  # noqa: E402
import convert_albef  # noqa: E402

SHARED_VOCAB = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data", "bert-base-uncased-vocab.txt"))
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


# ----------------------------------------------------------------------------------------------------------
# configurations
# ----------------------------------------------------------------------------------------------------------
def small_cfg():
    vit = A.ViTConfig(img_size=32, patch_size=16, width=64, depth=2, heads=4, mlp=256)
    bert = A.BertConfig(vocab_size=300, hidden_size=48, num_layers=4, num_heads=4, intermediate_size=96,
                        max_position=40, type_vocab_size=2, fusion_layer=2, encoder_width=64)
    return vit, bert, 32  # embed_dim


def tiny_cfg():
    """Smallest useful config (converter self-test)."""
    vit = A.ViTConfig(img_size=32, patch_size=16, width=32, depth=1, heads=2, mlp=64)
    bert = A.BertConfig(vocab_size=40, hidden_size=24, num_layers=2, num_heads=2, intermediate_size=48,
                        max_position=16, type_vocab_size=2, fusion_layer=1, encoder_width=32)
    return vit, bert, 16


def full_cfg():
    vit = A.ViTConfig(img_size=256, patch_size=16, width=768, depth=12, heads=12, mlp=3072)
    bert = A.BertConfig(vocab_size=30522, hidden_size=768, num_layers=12, num_heads=12, intermediate_size=3072,
                        max_position=512, type_vocab_size=2, fusion_layer=6, encoder_width=768)
    return vit, bert, 256


def small_vocab(n, vocab_path=None):
    """[PAD] [UNK] [CLS] [SEP] [MASK] then bert-base-uncased tokens from id 1000 on (or tokNNN if absent)."""
    toks = list(SPECIALS)
    path = vocab_path or SHARED_VOCAB
    if os.path.isfile(path):
        real = convert_albef.read_vocab(path)
        toks += real[1000:1000 + n - len(SPECIALS)]
    while len(toks) < n:
        toks.append("tok%d" % len(toks))
    return toks[:n]


# ----------------------------------------------------------------------------------------------------------
# random initialisation and checkpoints
# ----------------------------------------------------------------------------------------------------------
@torch.no_grad()
def init_random_(model, std=0.02):
    """Linear/Conv/Embedding weights: N(0, std); cls_token, pos_embed, biases, MLM bias: N(0, 0.02);
    LayerNorm weight 1 + N(0, 0.1), bias N(0, 0.1). Uses the global torch RNG."""
    for m in model.modules():
        if isinstance(m, nn.LayerNorm):
            m.weight.normal_(1.0, 0.1)
            m.bias.normal_(0.0, 0.1)
        elif isinstance(m, (nn.Linear, nn.Conv2d, nn.Embedding)):
            m.weight.normal_(0.0, std)
            if getattr(m, "bias", None) is not None:
                m.bias.normal_(0.0, 0.02)
        elif isinstance(m, A.VisionTransformer):
            m.cls_token.normal_(0.0, 0.02)
            m.pos_embed.normal_(0.0, 0.02)
        elif isinstance(m, A.BertLMPredictionHead):
            m.bias.normal_(0.0, 0.02)
    return model


def build_model(arch, vit, bert, embed_dim, queue_size=16):
    if arch == "albef_retrieval":
        return A.ALBEFRetrieval(vit, bert, embed_dim=embed_dim, queue_size=queue_size)
    if arch == "albef_itm":
        return A.ALBEFITM(vit, bert)
    raise ValueError(arch)


def make_checkpoint(arch, vit, bert, embed_dim, seed, queue_size=16, std=0.02):
    """Random model in the checkpoint layout. Returns (model, {'model': state_dict, ...})."""
    torch.manual_seed(seed)
    model = init_random_(build_model(arch, vit, bert, embed_dim, queue_size), std).eval()
    ckpt = {"model": model.state_dict(), "config": {"generator": "xrem scripts/make_goldens.py", "seed": seed},
            "epoch": 0}
    return model, ckpt


def weight_std(size):
    """Linear/Conv/Embedding weight std. 0.02 (BERT's init) at BERT-base width (fan-in 768); for the small
    configs (fan-in 48..96) 0.08 ~= 0.02 * sqrt(768 / 48), so that pre-activations, attention logits and head
    outputs have realistic magnitudes: with 0.02 the small goldens could not tell erf from tanh GELU (4e-5) nor
    a wrong BERT attention scale on the ITM logits (2e-5) at the 1e-4 tolerance; with 0.08 both exceed 5e-4."""
    return 0.08 if size in ("small", "tiny") else 0.02


def with_run_res(vit, res):
    return A.ViTConfig(img_size=res, patch_size=vit.patch_size, width=vit.width, depth=vit.depth, heads=vit.heads,
                       mlp=vit.mlp, ln_eps=vit.ln_eps)


# ----------------------------------------------------------------------------------------------------------
# reference forward
# ----------------------------------------------------------------------------------------------------------
def make_inputs(seed, B, res, lengths, vocab_size, cls_id):
    g = torch.Generator().manual_seed(seed + 1000)
    image = torch.randn(B, 3, res, res, generator=g, dtype=torch.float32)
    M, L = len(lengths), max(lengths)
    ids = torch.zeros(M, L, dtype=torch.long)
    mask = torch.zeros(M, L, dtype=torch.long)
    for m, n in enumerate(lengths):
        ids[m, 0] = cls_id
        ids[m, 1:n] = torch.randint(5, vocab_size, (n - 1,), generator=g)
        mask[m, :n] = 1
    return image, ids, mask


@torch.no_grad()
def forward_case(arch, model, image, ids, mask, per_layer=True):
    out = {}
    B, M = image.shape[0], ids.shape[0]
    bert = model.bert
    fl, nl = bert.cfg.fusion_layer, bert.cfg.num_layers
    out["image"] = image
    image_embeds, embed, blocks = model.visual_encoder(image, return_hidden=True)
    out["vit.pos_embed"] = model.visual_encoder.pos_embed.detach().clone()
    if per_layer:
        out["vit.embed"] = embed
        for i, h in enumerate(blocks):
            out["vit.block.%d" % i] = h
    else:
        out["vit.block.%d" % (len(blocks) - 1)] = blocks[-1]
    out["image_embeds"] = image_embeds
    out["text.ids"] = ids.to(torch.int32)
    out["text.mask"] = mask.to(torch.int32)
    text_embeds, emb, tl = bert(ids, attention_mask=mask, mode="text", return_hidden=True)
    if per_layer:
        out["bert.embed"] = emb
        for i in range(fl):
            out["bert.text.layer.%d" % i] = tl[i]
    else:
        out["bert.text.layer.%d" % (fl - 1)] = tl[fl - 1]

    # pairs p = b*M + m: text m with image b
    img_rep = image_embeds.repeat_interleave(M, dim=0)
    img_att = torch.ones(img_rep.shape[:2], dtype=torch.long)
    mask_rep = mask.repeat(B, 1)
    if arch == "albef_retrieval":
        image_feat = model.image_features(image_embeds)
        text_feat = model.text_features(text_embeds)
        out["image_feat"] = image_feat
        out["text_feat"] = text_feat
        out["itc_score"] = image_feat @ text_feat.t()
        fused, _, fh = bert(encoder_embeds=text_embeds.repeat(B, 1, 1), attention_mask=mask_rep,
                            encoder_hidden_states=img_rep, encoder_attention_mask=img_att, mode="fusion",
                            return_hidden=True)
        if per_layer:
            for i in range(fl, nl):
                out["bert.fusion.layer.%d" % i] = fh[i]
        out["itm2_logits"] = model.itm_head(fused[:, 0, :]).view(B, M, 2)
    else:
        # the reference ITM path: multi_modal from the ids, for every pair
        fused, _, mh = bert(ids.repeat(B, 1), attention_mask=mask_rep, encoder_hidden_states=img_rep,
                            encoder_attention_mask=img_att, mode="multi_modal", return_hidden=True)
        # its text part equals the text-mode output of text m (what xrem computes once per report)
        d = (mh[fl - 1] - text_embeds.repeat(B, 1, 1)).abs().max().item()
        assert d < 1e-5, "multi_modal text part differs from text mode by %g" % d
        if per_layer:
            for i in range(fl, nl):
                out["bert.fusion.layer.%d" % i] = mh[i]
        logits = model.cls_head(fused[:, 0, :]).view(B, M, 3)
        out["itm_logits"] = logits
        out["itm_score"] = logits[..., 2].contiguous()
    return out


def write_h5_atomic(path, datasets, attrs):
    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as f:
        for k, v in attrs.items():
            f.attrs[k] = v
        for k, v in datasets.items():
            a = v.detach().cpu().contiguous().numpy() if torch.is_tensor(v) else np.asarray(v)
            if a.dtype == np.float64:
                a = a.astype(np.float32)
            f.create_dataset(k, data=a)
    os.replace(tmp, path)


# ----------------------------------------------------------------------------------------------------------
# cases
# ----------------------------------------------------------------------------------------------------------
CASES = {
    # name: (arch, size, run_res, B, lengths, seed)
    "albef_small_retrieval": ("albef_retrieval", "small", 32, 2, [9, 13, 5], 11),
    "albef_small_itm": ("albef_itm", "small", 48, 2, [9, 13, 5], 12),
    "albef_full_retrieval": ("albef_retrieval", "full", 256, 1, [30, 12], 21),
    "albef_full_itm": ("albef_itm", "full", 384, 1, [30, 12], 22),
}


def run_case(name, outdir, vocab_path=None, command=""):
    arch, size, run_res, B, lengths, seed = CASES[name]
    t0 = time.time()
    vit, bert, embed_dim = small_cfg() if size == "small" else full_cfg()
    if size == "small":
        vocab_tokens, cls_id = small_vocab(bert.vocab_size, vocab_path), 2
    else:
        vocab_tokens = convert_albef.read_vocab(vocab_path or SHARED_VOCAB)
        cls_id = 101
        assert vocab_tokens[cls_id] == "[CLS]", "vocab id 101 is not [CLS]"
    queue = 16 if size == "small" else 256
    model, ckpt = make_checkpoint(arch, vit, bert, embed_dim, seed, queue_size=queue, std=weight_std(size))
    del model
    pth = os.path.join(outdir, name + ".pth")
    torch.save(ckpt, pth)
    del ckpt
    t_ckpt = time.time()

    wpath = os.path.join(outdir, name + ".weights.h5")
    cfg = convert_albef.convert(pth, wpath, arch, vocab_tokens=vocab_tokens, image_res=run_res,
                                vit_heads=vit.heads, bert_heads=bert.num_heads, quiet=True)
    t_conv = time.time()

    # the reference model at the run resolution, loaded from the saved checkpoint (pos_embed interpolated)
    run = build_model(arch, with_run_res(vit, run_res), bert, embed_dim, queue).eval()
    ck = torch.load(pth, map_location="cpu")
    A.load_albef_state(run, ck, strict=True)
    if size == "small":  # the weights file holds exactly the checkpoint's kept tensors
        sd = ck["model"]
        with h5py.File(wpath, "r") as f:
            for k in f:
                if isinstance(f[k], h5py.Dataset):
                    src = sd[k] if k in sd else sd["text_encoder.bert." + k[len("text_encoder."):]]
                    assert np.array_equal(f[k][()], src.numpy()), k
    del ck

    image, ids, mask = make_inputs(seed, B, run_res, lengths, bert.vocab_size, cls_id)
    out = forward_case(arch, run, image, ids, mask, per_layer=(size == "small"))
    attrs = {"res": np.int32(run_res), "ckpt_image_res": np.int32(cfg["image_res"]), "arch": arch,
             "weights": os.path.basename(wpath), "B": np.int32(B), "M": np.int32(len(lengths)),
             "fusion_layer": np.int32(bert.fusion_layer), "pair_order": "p = b*M + m",
             "generator": command or "scripts/make_goldens.py", "seed": np.int32(seed),
             "torch_version": str(torch.__version__)}
    gpath = os.path.join(outdir, name + ".golden.h5")
    write_h5_atomic(gpath, out, attrs)
    t_end = time.time()
    print("make_goldens: %-22s ckpt %.1fs  convert %.1fs  forward+write %.1fs  total %.1fs"
          % (name, t_ckpt - t0, t_conv - t_ckpt, t_end - t_conv, t_end - t0), flush=True)
    return gpath


def main(argv=None):
    ap = argparse.ArgumentParser(description="Make ALBEF goldens (random weights, PyTorch fp32 reference).")
    ap.add_argument("--out", required=True)
    ap.add_argument("--full", action="store_true", help="also the full-size ViT-B/16 + BERT-base cases")
    ap.add_argument("--vocab", default=None, help="bert-base-uncased vocab.txt (default ../shared/data copy)")
    ap.add_argument("--only", nargs="*", default=None, help="case names to make")
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    os.makedirs(a.out, exist_ok=True)
    names = a.only or ([n for n in CASES if "small" in n] + ([n for n in CASES if "full" in n] if a.full else []))
    cmd = "/usr/bin/python3 scripts/make_goldens.py " + " ".join(argv if argv is not None else sys.argv[1:])
    t0 = time.time()
    for n in names:
        if n not in CASES:
            ap.error("unknown case %s" % n)
        run_case(n, a.out, a.vocab, cmd)
    print("make_goldens: done in %.1fs" % (time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
