"""Weak style control: an IP-Adapter-like adapter with decoupled cross-attention.

Style tokens come from two optional sources, each replaced by learned "null" tokens when
absent (and dropped at random in training, so ``render`` works with neither):

- a style reference crop (any size; resized to 64 px high) through a small conv encoder,
- style attributes from the factory's metadata: fill colour (RGB in [0, 1]), stroke, shadow.

The UNet's cross-attention layers get a second key/value pair for these tokens, added to
the text attention with weight ``scale`` ("decoupled cross-attention", IP-Adapter,
https://arxiv.org/abs/2308.06721, section 3.2), using diffusers' own
``IPAdapterAttnProcessor2_0``. The processors are this module's children, so their
weights are saved with the adapter, not with the UNet: ``attach`` installs them,
``detach`` restores plain processors (the pipeline detaches while it saves the UNet).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.attention_processor import AttnProcessor2_0, IPAdapterAttnProcessor2_0
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

N_ATTRIBUTES = 5  # r, g, b, stroke, shadow
REF_HEIGHT = 64


def cross_attention_layers(unet: Any) -> list[tuple[str, int]]:
    """(processor name, hidden size) of every cross-attention layer of a UNet2DConditionModel."""
    widths = list(unet.config.block_out_channels)
    out = []
    for name in unet.attn_processors:
        if not name.endswith("attn2.processor"):
            continue
        if name.startswith("mid_block"):
            hidden = widths[-1]
        elif name.startswith("up_blocks."):
            hidden = list(reversed(widths))[int(name.split(".")[1])]
        elif name.startswith("down_blocks."):
            hidden = widths[int(name.split(".")[1])]
        else:
            raise ValueError(f"unexpected attention processor {name!r}")
        out.append((name, hidden))
    return out


class StyleAdapter(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(
        self,
        layers: tuple[tuple[str, int], ...] = (),  # cross_attention_layers(unet)
        cross_attention_dim: int = 128,
        ref_tokens: int = 4,  # tokens from the reference crop
        attr_tokens: int = 2,  # tokens from the style attributes
        ref_channels: tuple[int, ...] = (32, 64, 128),  # conv encoder widths (stride 2 each)
        scale: float = 1.0,  # weight of the style attention beside the text attention
    ):
        super().__init__()
        convs: list[nn.Module] = []
        c_in = 3
        for c in ref_channels:
            convs += [nn.Conv2d(c_in, c, 3, stride=2, padding=1), nn.GroupNorm(8, c), nn.SiLU()]
            c_in = c
        self.ref_encoder = nn.Sequential(*convs)
        self.ref_proj = nn.Linear(c_in, cross_attention_dim)
        self.attr_proj = nn.Sequential(
            nn.Linear(N_ATTRIBUTES, cross_attention_dim),
            nn.SiLU(),
            nn.Linear(cross_attention_dim, attr_tokens * cross_attention_dim),
        )
        self.null_ref = nn.Parameter(torch.zeros(1, ref_tokens, cross_attention_dim))
        self.null_attr = nn.Parameter(torch.zeros(1, attr_tokens, cross_attention_dim))
        self.norm = nn.LayerNorm(cross_attention_dim)
        self.processors = nn.ModuleDict(
            {
                name.replace(".", "__"): IPAdapterAttnProcessor2_0(
                    hidden, cross_attention_dim, num_tokens=(ref_tokens + attr_tokens,), scale=scale
                )
                for name, hidden in layers
            }
        )

    @property
    def num_tokens(self) -> int:
        return self.config.ref_tokens + self.config.attr_tokens

    def forward(
        self,
        batch: int,
        style_ref: torch.Tensor | None = None,
        attributes: torch.Tensor | None = None,
        keep_ref: torch.Tensor | None = None,
        keep_attr: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(B, ref_tokens + attr_tokens, dim) style tokens.

        style_ref: (B, 3, h, w) in [-1, 1]; attributes: (B, 5); keep_*: (B,) bools that
        replace a sample's tokens by the null tokens where False (training dropout).
        """
        cfg = self.config
        ref = self.null_ref.expand(batch, -1, -1)
        if style_ref is not None:
            h, w = style_ref.shape[-2:]
            size = (REF_HEIGHT, max(REF_HEIGHT, round(w * REF_HEIGHT / h)))
            feats = self.ref_encoder(F.interpolate(style_ref, size=size, mode="bilinear"))
            pooled = F.adaptive_avg_pool2d(feats, (1, cfg.ref_tokens))  # (B, C, 1, n)
            tokens = self.ref_proj(pooled.flatten(2).transpose(1, 2))  # (B, n, dim)
            if keep_ref is not None:
                tokens = torch.where(keep_ref[:, None, None], tokens, ref)
            ref = tokens
        attr = self.null_attr.expand(batch, -1, -1)
        if attributes is not None:
            tokens = self.attr_proj(attributes).view(batch, cfg.attr_tokens, -1)
            if keep_attr is not None:
                tokens = torch.where(keep_attr[:, None, None], tokens, attr)
            attr = tokens
        return self.norm(torch.cat([ref, attr], dim=1))

    def attach(self, unet: Any) -> None:
        """Install the decoupled cross-attention processors on ``unet``."""
        names = dict(cross_attention_layers(unet))
        mine = {k.replace("__", "."): p for k, p in self.processors.items()}
        if set(mine) != set(names):
            raise ValueError(
                "this style adapter was built for another UNet: its layers "
                f"{sorted(mine)[:3]}... do not match the UNet's {sorted(names)[:3]}..."
            )
        unet.set_attn_processor(
            {name: mine.get(name, AttnProcessor2_0()) for name in unet.attn_processors}
        )

    @staticmethod
    def detach(unet: Any) -> None:
        unet.set_attn_processor(AttnProcessor2_0())
