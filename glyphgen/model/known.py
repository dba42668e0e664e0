"""Keeping what is known: from noise, the model draws only where the text changes.

With ``model.keep_known`` the region the model generates is not the line's whole box but
B's glyph grown by ``crops.KNOWN_REACH`` of the crop's height, joined with A's ink where there is
old text; everywhere else the crop is the photo as it was.

- Training: the condition's edit mask is that region. A factory scene carries no old text,
  so on half the samples another line's glyph from the same batch stands in for A's ink
  (the model also learns to fill old strokes with background); an edit pair's A, where its
  source and image differ, joins the region. The diffusion loss weighs the region and lets
  the rest count for ``OUTSIDE_WEIGHT``; the OCR-aware loss reads the prediction with the
  known pixels put back, as sampling gives them.
- Sampling: after every step the sample outside the region is put back to the photo noised
  to the step's level (RePaint, Lugmayr et al. 2022), and to the photo itself after the last,
  so a pixel-space model gives the known pixels back exactly (a latent one, through its VAE).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from diffusers import FlowMatchEulerDiscreteScheduler
from diffusers.utils.torch_utils import randn_tensor

from glyphgen.model.crops import reach_px

OUTSIDE_WEIGHT = 0.1  # the diffusion loss's weight outside the region (known pixels)
STAND_IN_PROB = 0.5  # training samples given another line's glyph as old text
CHANGED = 16 / 255  # source this far from the image (8 levels of 255, in [-1, 1]): old text


def grow(mask: torch.Tensor, px: int) -> torch.Tensor:
    """(B, 1, H, W) masks in [0, 1], dilated by a square of ``px`` pixels each way."""
    return F.max_pool2d(mask, 2 * px + 1, stride=1, padding=px)


def training_region(
    glyph: torch.Tensor,
    box: torch.Tensor,
    stand_in: torch.Tensor,
    crop_height: int,
    source: torch.Tensor | None = None,
    image: torch.Tensor | None = None,
) -> torch.Tensor:
    """The region a training sample generates, (B, 1, H, W) in {0, 1}, within the line's
    edit ``box``: its glyph grown; where ``stand_in`` (B,) bool, the previous sample's glyph
    in the batch grown too (an old text to erase; a batch of one has none); and where the
    ``source`` differs from the ``image`` (an edit pair's A), those pixels grown."""
    px = reach_px(crop_height)
    ink = (grow(glyph, px) > 0.5).float()
    other = torch.roll(ink, 1, dims=0) * stand_in.float()[:, None, None, None]
    region = torch.maximum(ink, other)
    if source is not None and image is not None:
        changed = ((source - image).abs().amax(dim=1, keepdim=True) > CHANGED).float()
        region = torch.maximum(region, grow(changed, px))
    return region * (box > 0.5).float()


def loss_weights(region: torch.Tensor, text_weight: float, size: tuple[int, int]) -> torch.Tensor:
    """The diffusion loss's weight at the sample's ``size``: 1 + ``text_weight`` over the
    region, ``OUTSIDE_WEIGHT`` elsewhere."""
    inside = F.adaptive_avg_pool2d(region, size)
    return (1 + text_weight) * inside + OUTSIDE_WEIGHT * (1 - inside)


def sample_region(region: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A pixel region at the size of the sample ``like``: a position is generated when any
    pixel it covers is."""
    h, w = like.shape[-2:]
    return (F.adaptive_max_pool2d(region, (h, w)) > 0.5).float()


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
    noise = randn_tensor(known.shape, generator=generator, device=known.device, dtype=known.dtype)
    t = next_t.expand(known.shape[0])
    if isinstance(scheduler, FlowMatchEulerDiscreteScheduler):
        noised = scheduler.scale_noise(known, t, noise)
    else:
        noised = scheduler.add_noise(known, noise, t)
    return region * sample + (1 - region) * noised
