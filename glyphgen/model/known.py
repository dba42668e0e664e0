"""Keeping what is known: from noise, the model draws only where the text changes.

With ``model.keep_known`` the region the model generates is not the line's whole box but
B's glyph grown by ``crops.KNOWN_REACH`` of the crop's height, joined with A's ink where there is
old text; everywhere else the crop is the photo as it was.

- Training: the condition's edit mask is that region (for an edit pair of the factory, which
  has no old text, a second line's glyph from the same batch stands in for A's ink on half
  the samples, so the model also learns to fill old strokes with background); the diffusion
  loss weighs the region and lets the rest count for ``OUTSIDE_WEIGHT``.
- Sampling: after every step the sample outside the region is put back to the photo noised
  to the step's level (RePaint, Lugmayr et al. 2022), and to the photo itself after the last,
  so the known pixels come back exactly.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from diffusers import FlowMatchEulerDiscreteScheduler

from glyphgen.model.crops import reach_px

OUTSIDE_WEIGHT = 0.1  # the diffusion loss's weight outside the region (known pixels)
STAND_IN_PROB = 0.5  # training samples given another line's glyph as old text


def grow(mask: torch.Tensor, px: int) -> torch.Tensor:
    """(B, 1, H, W) masks in [0, 1], dilated by a square of ``px`` pixels each way."""
    return F.max_pool2d(mask, 2 * px + 1, stride=1, padding=px)


def training_region(
    glyph: torch.Tensor, box: torch.Tensor, stand_in: torch.Tensor, crop_height: int
) -> torch.Tensor:
    """The region a training sample generates, (B, 1, H, W) in {0, 1}: its glyph grown, and
    where ``stand_in`` (B,) bool, the next sample's glyph grown too (an old text to erase),
    within the line's edit ``box``."""
    px = reach_px(crop_height)
    ink = (grow(glyph, px) > 0.5).float()
    other = torch.roll(ink, 1, dims=0) * stand_in.float()[:, None, None, None]
    return torch.maximum(ink, other) * (box > 0.5).float()


def loss_weights(region: torch.Tensor, text_weight: float, size: tuple[int, int]) -> torch.Tensor:
    """The diffusion loss's weight at the sample's ``size``: 1 + ``text_weight`` over the
    region, ``OUTSIDE_WEIGHT`` elsewhere."""
    inside = F.adaptive_avg_pool2d(region, size)
    return (1 + text_weight) * inside + OUTSIDE_WEIGHT * (1 - inside)


def sample_region(region: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """A pixel region at the sample's ``size``: a position is generated when any pixel it
    covers is."""
    return (F.adaptive_max_pool2d(region, size) > 0.5).float()


def put_back(
    scheduler: Any,
    sample: torch.Tensor,
    known: torch.Tensor,
    region: torch.Tensor,
    next_t: torch.Tensor | None,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """``sample`` with the positions outside ``region`` (at the sample's size) replaced by
    ``known`` noised to timestep ``next_t`` (None: the end, the known sample itself)."""
    if next_t is None:
        return region * sample + (1 - region) * known
    noise = torch.randn(known.shape, generator=generator, dtype=known.dtype).to(known.device)
    t = next_t.expand(known.shape[0])
    if isinstance(scheduler, FlowMatchEulerDiscreteScheduler):
        noised = scheduler.scale_noise(known, t, noise)
    else:
        noised = scheduler.add_noise(known, noise, t)
    return region * sample + (1 - region) * noised
