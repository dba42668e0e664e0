"""Character-aware text encoder, trained by this project (no pretrained Chinese encoder is
available offline).

A prompt is the target text, one token per character, then a short style caption, one
token per word: ``[BOS] 宁 静 致 远 [SEP] vertical kai gradient [PAD]...``. Characters come
from a fixed vocabulary (GB2312 + ASCII + CJK punctuation; anything else is ``[UNK]``: the
glyph control image still carries its shape). Caption words are hashed into a few buckets
(crc32, stable across runs), so any caption the factory writes has a token. Every prompt is
padded to the same length, so the UNet always sees the same number of tokens.

Character-level conditioning is what helps spelling in Glyph-ByT5 / TextDiffuser-2
(https://arxiv.org/abs/2403.09622).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

PAD, UNK, BOS, SEP = 0, 1, 2, 3
SPECIALS = 4


def default_vocab() -> str:
    """GB2312 (hanzi, punctuation, full-width forms), ASCII printables, common CJK punctuation."""
    from glyphgen.typeset import charsets

    ascii_printable = "".join(chr(c) for c in range(0x20, 0x7F))
    return charsets.unique(charsets.gb2312_all() + ascii_printable + charsets.CJK_PUNCT)


class CharTextEncoder(ModelMixin, ConfigMixin):
    """Characters + caption words -> (B, T, out_dim) hidden states for cross-attention."""

    @register_to_config
    def __init__(
        self,
        vocab: str = "",  # the characters with an embedding; "" = default_vocab()
        dim: int = 128,  # width of the transformer
        out_dim: int = 128,  # = the UNet's cross_attention_dim
        layers: int = 2,
        heads: int = 4,
        max_chars: int = 24,  # longer texts are cut (the glyph image still holds them all)
        caption_words: int = 8,  # caption words kept
        caption_buckets: int = 256,  # hashed caption-word vocabulary
    ):
        super().__init__()
        self.chars = vocab or default_vocab()
        # The vocabulary is saved in config.json, so weights never meet a changed default.
        self.register_to_config(vocab=self.chars)
        self._index = {c: i + SPECIALS for i, c in enumerate(self.chars)}
        n_tokens = SPECIALS + len(self.chars) + caption_buckets
        self.seq_len = 2 + max_chars + caption_words  # BOS, chars, SEP, words
        self.token = nn.Embedding(n_tokens, dim)
        self.position = nn.Parameter(torch.zeros(1, self.seq_len, dim))
        nn.init.normal_(self.position, std=0.02)
        layer = nn.TransformerEncoderLayer(
            dim, heads, dim_feedforward=4 * dim, dropout=0.0, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.proj = nn.Linear(dim, out_dim)

    def tokenize(self, texts: Sequence[str], captions: Sequence[str] | None = None) -> torch.Tensor:
        """(B, seq_len) token ids."""
        cfg = self.config
        captions = captions if captions is not None else [""] * len(texts)
        if len(captions) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(captions)} captions")
        rows = []
        char_end = SPECIALS + len(self.chars)
        for text, caption in zip(texts, captions, strict=True):
            ids = [BOS] + [self._index.get(c, UNK) for c in text[: cfg.max_chars]] + [SEP]
            for word in caption.lower().split()[: cfg.caption_words]:
                ids.append(char_end + zlib.crc32(word.encode("utf-8")) % cfg.caption_buckets)
            rows.append(ids + [PAD] * (self.seq_len - len(ids)))
        return torch.tensor(rows, dtype=torch.long, device=self.device)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        x = self.token(input_ids) + self.position  # (B, T, dim)
        x = self.encoder(x, src_key_padding_mask=input_ids == PAD)
        return self.proj(self.norm(x))  # (B, T, out_dim)

    def encode(self, texts: Sequence[str], captions: Sequence[str] | None = None) -> torch.Tensor:
        return self(self.tokenize(texts, captions))
