#!/usr/bin/python3
"""PyTorch reference modules for ALBEF (as used by X-REM), with the checkpoints' exact state-dict keys.

Interpreter: Debian's /usr/bin/python3 (python3-torch 1.13, numpy 1.24, h5py 3.7). No network, no downloads.

Reproduces, for golden generation and converter tests (not used by xrem at run time):
  * ALBEF models/vit.py VisionTransformer (timm style): patch_embed.proj Conv2d(3, C, p, stride p),
    cls_token [1,1,C], pos_embed [1,1+P,C], pre-norm blocks (norm1, attn.qkv (bias), attn.proj, norm2,
    mlp.fc1, mlp.fc2), final norm; LayerNorm eps 1e-6, exact (erf) GELU, attention scale head_dim^-0.5.
  * ALBEF models/xbert.py BertModel without pooler: embeddings (word + token_type + position, LayerNorm),
    post-norm layers, LayerNorm eps 1e-12, exact GELU, cross-attention in layers >= fusion_layer with
    key/value Linear(encoder_width -> hidden); extended masks (1 - mask) * -10000.0; modes 'text'
    (layers 0..fusion_layer-1), 'fusion' (fusion_layer..L-1, from given hidden states) and 'multi_modal' (all).
  * interpolate_pos_embed (ALBEF models/vit.py): bicubic, align_corners=False, on the grid tokens; cls kept.
  * Wrappers with the exact checkpoint layouts:
      ALBEFRetrieval  (pretrain/retrieval: visual_encoder.*, text_encoder.bert.*, text_encoder.cls.*,
                       vision_proj, text_proj, itm_head, *_m momentum copies, image_queue, text_queue,
                       queue_ptr, temp)
      ALBEFITM        (visual entailment: visual_encoder.*, text_encoder.*, cls_head.0, cls_head.2)
"""
import copy
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


# ----------------------------------------------------------------------------------------------------------
# configs
# ----------------------------------------------------------------------------------------------------------
@dataclass
class ViTConfig:
    img_size: int = 256
    patch_size: int = 16
    width: int = 768
    depth: int = 12
    heads: int = 12
    mlp: int = 3072
    ln_eps: float = 1e-6


@dataclass
class BertConfig:
    vocab_size: int = 30522
    hidden_size: int = 768
    num_layers: int = 12
    num_heads: int = 12
    intermediate_size: int = 3072
    max_position: int = 512
    type_vocab_size: int = 2
    fusion_layer: int = 6
    encoder_width: int = 768
    ln_eps: float = 1e-12


# ----------------------------------------------------------------------------------------------------------
# ViT (ALBEF models/vit.py)
# ----------------------------------------------------------------------------------------------------------
class PatchEmbed(nn.Module):
    def __init__(self, img_size, patch_size, in_chans, embed_dim):
        super().__init__()
        self.img_size = img_size
        self.patch_size = patch_size
        self.grid = img_size // patch_size
        self.num_patches = self.grid * self.grid
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        B, C, H, W = x.shape
        assert H == self.img_size and W == self.img_size, "input %dx%d, model built for %d" % (H, W, self.img_size)
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        head_dim = dim // num_heads
        self.scale = head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)) * self.scale
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()  # exact erf GELU
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, num_heads, mlp_hidden, eps):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, mlp_hidden)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        x = x + self.mlp(self.norm2(x))
        return x


class VisionTransformer(nn.Module):
    def __init__(self, cfg: ViTConfig):
        super().__init__()
        self.cfg = cfg
        self.patch_embed = PatchEmbed(cfg.img_size, cfg.patch_size, 3, cfg.width)
        P = self.patch_embed.num_patches
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.width))
        self.pos_embed = nn.Parameter(torch.zeros(1, P + 1, cfg.width))
        self.blocks = nn.ModuleList([Block(cfg.width, cfg.heads, cfg.mlp, cfg.ln_eps) for _ in range(cfg.depth)])
        self.norm = nn.LayerNorm(cfg.width, eps=cfg.ln_eps)

    def forward(self, x, return_hidden=False):
        """Returns image_embeds [B,T,C]; with return_hidden also (embed, [block outputs])."""
        B = x.shape[0]
        x = self.patch_embed(x)
        cls_tokens = self.cls_token.expand(B, -1, -1)
        x = torch.cat((cls_tokens, x), dim=1)
        x = x + self.pos_embed[:, :x.size(1), :]
        embed = x
        hidden = []
        for blk in self.blocks:
            x = blk(x)
            hidden.append(x)
        x = self.norm(x)
        if return_hidden:
            return x, embed, hidden
        return x


def interpolate_pos_embed(pos_embed_checkpoint, visual_encoder):
    """ALBEF models/vit.py interpolate_pos_embed: bicubic (align_corners=False) resize of the grid tokens."""
    embedding_size = pos_embed_checkpoint.shape[-1]
    num_patches = visual_encoder.patch_embed.num_patches
    num_extra_tokens = visual_encoder.pos_embed.shape[-2] - num_patches
    orig_size = int((pos_embed_checkpoint.shape[-2] - num_extra_tokens) ** 0.5)
    new_size = int(num_patches ** 0.5)
    if orig_size != new_size:
        extra_tokens = pos_embed_checkpoint[:, :num_extra_tokens]
        pos_tokens = pos_embed_checkpoint[:, num_extra_tokens:]
        pos_tokens = pos_tokens.reshape(-1, orig_size, orig_size, embedding_size).permute(0, 3, 1, 2)
        pos_tokens = F.interpolate(pos_tokens, size=(new_size, new_size), mode='bicubic', align_corners=False)
        pos_tokens = pos_tokens.permute(0, 2, 3, 1).flatten(1, 2)
        return torch.cat((extra_tokens, pos_tokens), dim=1)
    return pos_embed_checkpoint


# ----------------------------------------------------------------------------------------------------------
# BERT (ALBEF models/xbert.py, no pooler)
# ----------------------------------------------------------------------------------------------------------
def extended_mask(mask):
    """[N,L] 0/1 -> [N,1,1,L] additive mask (1 - m) * -10000.0 (float32)."""
    m = mask[:, None, None, :].to(torch.float32)
    return (1.0 - m) * -10000.0


class BertEmbeddings(nn.Module):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden_size, padding_idx=0)
        self.position_embeddings = nn.Embedding(cfg.max_position, cfg.hidden_size)
        self.token_type_embeddings = nn.Embedding(cfg.type_vocab_size, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.ln_eps)
        # persistent buffer, as in transformers 4.x-era xbert: real checkpoints carry *.embeddings.position_ids
        self.register_buffer("position_ids", torch.arange(cfg.max_position).expand((1, -1)))

    def forward(self, input_ids, token_type_ids=None):
        L = input_ids.shape[1]
        position_ids = self.position_ids[:, :L]
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        emb = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        emb = emb + self.position_embeddings(position_ids)
        return self.LayerNorm(emb)


class BertSelfAttention(nn.Module):
    def __init__(self, cfg: BertConfig, is_cross):
        super().__init__()
        self.h = cfg.num_heads
        self.d = cfg.hidden_size // cfg.num_heads
        kv_in = cfg.encoder_width if is_cross else cfg.hidden_size
        self.query = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.key = nn.Linear(kv_in, cfg.hidden_size)
        self.value = nn.Linear(kv_in, cfg.hidden_size)

    def _split(self, x):
        return x.view(x.shape[0], x.shape[1], self.h, self.d).permute(0, 2, 1, 3)

    def forward(self, hidden, mask_ext, enc_hidden=None, enc_mask_ext=None):
        q = self._split(self.query(hidden))
        if enc_hidden is not None:
            k = self._split(self.key(enc_hidden))
            v = self._split(self.value(enc_hidden))
            mask_ext = enc_mask_ext
        else:
            k = self._split(self.key(hidden))
            v = self._split(self.value(hidden))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.d)
        if mask_ext is not None:
            scores = scores + mask_ext
        probs = scores.softmax(dim=-1)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        return ctx.view(ctx.shape[0], ctx.shape[1], self.h * self.d)


class BertSelfOutput(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.ln_eps)

    def forward(self, h, inp):
        return self.LayerNorm(self.dense(h) + inp)


class BertAttention(nn.Module):
    def __init__(self, cfg, is_cross=False):
        super().__init__()
        self.self = BertSelfAttention(cfg, is_cross)
        self.output = BertSelfOutput(cfg)

    def forward(self, hidden, mask_ext, enc_hidden=None, enc_mask_ext=None):
        return self.output(self.self(hidden, mask_ext, enc_hidden, enc_mask_ext), hidden)


class BertIntermediate(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.intermediate_size)

    def forward(self, x):
        return F.gelu(self.dense(x))


class BertOutput(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg.intermediate_size, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.ln_eps)

    def forward(self, h, inp):
        return self.LayerNorm(self.dense(h) + inp)


class BertLayer(nn.Module):
    def __init__(self, cfg, layer_num):
        super().__init__()
        self.attention = BertAttention(cfg)
        self.has_cross_attention = layer_num >= cfg.fusion_layer
        if self.has_cross_attention:
            self.crossattention = BertAttention(cfg, is_cross=True)
        self.intermediate = BertIntermediate(cfg)
        self.output = BertOutput(cfg)

    def forward(self, hidden, mask_ext, enc_hidden=None, enc_mask_ext=None):
        a = self.attention(hidden, mask_ext)
        if self.has_cross_attention:
            assert enc_hidden is not None, "encoder_hidden_states required for a fusion layer"
            a = self.crossattention(a, mask_ext, enc_hidden, enc_mask_ext)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(cfg, i) for i in range(cfg.num_layers)])


class BertModel(nn.Module):
    """xbert BertModel(add_pooling_layer=False)."""

    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.cfg = cfg
        self.embeddings = BertEmbeddings(cfg)
        self.encoder = BertEncoder(cfg)

    def forward(self, input_ids=None, attention_mask=None, encoder_embeds=None, encoder_hidden_states=None,
                encoder_attention_mask=None, mode='multi_modal', return_hidden=False):
        """Returns last hidden state; with return_hidden also (embedding output or None, {layer: output})."""
        cfg = self.cfg
        if mode == 'text':
            start, stop = 0, cfg.fusion_layer
        elif mode == 'fusion':
            start, stop = cfg.fusion_layer, cfg.num_layers
        elif mode == 'multi_modal':
            start, stop = 0, cfg.num_layers
        else:
            raise ValueError(mode)
        if encoder_embeds is not None:
            x = encoder_embeds
            emb = None
        else:
            x = self.embeddings(input_ids)
            emb = x
        if attention_mask is None:
            attention_mask = torch.ones(x.shape[:2], dtype=torch.long)
        mask_ext = extended_mask(attention_mask)
        enc_mask_ext = None
        if encoder_hidden_states is not None:
            if encoder_attention_mask is None:
                encoder_attention_mask = torch.ones(encoder_hidden_states.shape[:2], dtype=torch.long)
            enc_mask_ext = extended_mask(encoder_attention_mask)
        hidden = {}
        for i in range(start, stop):
            x = self.encoder.layer[i](x, mask_ext, encoder_hidden_states, enc_mask_ext)
            hidden[i] = x
        if return_hidden:
            return x, emb, hidden
        return x


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.ln_eps)


class BertLMPredictionHead(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.transform = BertPredictionHeadTransform(cfg)
        self.decoder = nn.Linear(cfg.hidden_size, cfg.vocab_size)
        self.bias = nn.Parameter(torch.zeros(cfg.vocab_size))


class BertOnlyMLMHead(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.predictions = BertLMPredictionHead(cfg)


class BertForMaskedLM(nn.Module):
    """Only the key layout of xbert BertForMaskedLM (bert.*, cls.predictions.*); the MLM head is unused."""

    def __init__(self, cfg):
        super().__init__()
        self.bert = BertModel(cfg)
        self.cls = BertOnlyMLMHead(cfg)
        self.cls.predictions.decoder.weight = self.bert.embeddings.word_embeddings.weight  # tied, as in BERT


# ----------------------------------------------------------------------------------------------------------
# the two checkpoint layouts
# ----------------------------------------------------------------------------------------------------------
class ALBEFRetrieval(nn.Module):
    """ALBEF pretrain / retrieval layout: text encoder saved as BertForMaskedLM (text_encoder.bert.*)."""

    def __init__(self, vit: ViTConfig, bert: BertConfig, embed_dim=256, queue_size=64, momentum=True):
        super().__init__()
        self.visual_encoder = VisionTransformer(vit)
        self.text_encoder = BertForMaskedLM(bert)
        self.vision_proj = nn.Linear(vit.width, embed_dim)
        self.text_proj = nn.Linear(bert.hidden_size, embed_dim)
        self.itm_head = nn.Linear(bert.hidden_size, 2)
        self.temp = nn.Parameter(torch.ones([]) * 0.07)
        if momentum:
            self.visual_encoder_m = VisionTransformer(vit)
            self.text_encoder_m = BertForMaskedLM(bert)
            self.vision_proj_m = nn.Linear(vit.width, embed_dim)
            self.text_proj_m = nn.Linear(bert.hidden_size, embed_dim)
        self.register_buffer("image_queue", F.normalize(torch.randn(embed_dim, queue_size), dim=0))
        self.register_buffer("text_queue", F.normalize(torch.randn(embed_dim, queue_size), dim=0))
        self.register_buffer("queue_ptr", torch.zeros(1, dtype=torch.long))

    @property
    def bert(self):
        return self.text_encoder.bert

    def copy_params_to_momentum(self):
        pairs = [(self.visual_encoder, self.visual_encoder_m), (self.text_encoder, self.text_encoder_m),
                 (self.vision_proj, self.vision_proj_m), (self.text_proj, self.text_proj_m)]
        with torch.no_grad():
            for a, b in pairs:
                for pa, pb in zip(a.parameters(), b.parameters()):
                    pb.copy_(pa)

    def image_features(self, image_embeds):
        return F.normalize(self.vision_proj(image_embeds[:, 0, :]), dim=-1)

    def text_features(self, text_embeds):
        return F.normalize(self.text_proj(text_embeds[:, 0, :]), dim=-1)


class ALBEFITM(nn.Module):
    """ALBEF visual-entailment layout (X-REM's ITM model): text_encoder.* (BertModel), cls_head.{0,2}."""

    def __init__(self, vit: ViTConfig, bert: BertConfig):
        super().__init__()
        self.visual_encoder = VisionTransformer(vit)
        self.text_encoder = BertModel(bert)
        self.cls_head = nn.Sequential(nn.Linear(bert.hidden_size, bert.hidden_size), nn.ReLU(),
                                      nn.Linear(bert.hidden_size, 3))

    @property
    def bert(self):
        return self.text_encoder


def load_albef_state(model, checkpoint, strict=True):
    """Load a checkpoint ({'model': sd} or bare sd) into model, interpolating pos_embed(s) to the model grid."""
    sd = checkpoint['model'] if isinstance(checkpoint, dict) and 'model' in checkpoint else checkpoint
    sd = dict(sd)
    for key, enc in (('visual_encoder.pos_embed', 'visual_encoder'), ('visual_encoder_m.pos_embed', 'visual_encoder_m')):
        if key in sd and hasattr(model, enc):
            sd[key] = interpolate_pos_embed(sd[key], getattr(model, enc))
    return model.load_state_dict(sd, strict=strict)


def clone_model(model):
    return copy.deepcopy(model)
