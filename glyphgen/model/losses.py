"""Training losses: the diffusion loss and the OCR-aware (text-perceptual) loss hook.

The OCR loss follows AnyText's text-perceptual loss (https://arxiv.org/abs/2311.03054,
section 3.4): a recognizer looks at the predicted clean image x0 inside each text line
and is asked to read the target, only at timesteps where x0 is meaningful (low noise).
Any recognizer fits through ``TextPerceptualLoss``; ``glyphgen.reader`` supplies the
project's own when it is installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler

OCR_HEIGHT = 32  # line crops are handed to the recognizer at this height


class TextPerceptualLoss(Protocol):
    """A differentiable loss of a recognizer reading predicted text lines.

    pred: (B, 3, H, W) predicted line crops in [-1, 1], upright rows (vertical columns are
    turned a quarter counter-clockwise), with gradients; target: the ground-truth crops of
    the same lines, or None; texts: what each line should read. Returns a scalar tensor.
    ``glyphgen.reader.loss.TextPerceptualLoss`` is one.
    """

    def __call__(
        self, pred: torch.Tensor, target: torch.Tensor | None, texts: Sequence[str]
    ) -> torch.Tensor: ...


def load_text_loss(name: str, weights: str = "") -> TextPerceptualLoss:
    """The named recognizer's loss; "reader" is ``glyphgen.reader.loss`` on the recognizer
    in ``weights`` (a folder; "" = the reader's bundled model)."""
    if name != "reader":
        raise ValueError(f"unknown ocr_loss.recognizer {name!r}; use 'reader'")
    try:
        from glyphgen.reader.loss import text_perceptual_loss
    except ImportError as exc:
        raise ValueError(
            "ocr_loss.weight > 0 needs the project's recognizer (glyphgen.reader.loss), which "
            f"cannot be imported here ({exc}); set ocr_loss.weight: 0"
        ) from exc
    return text_perceptual_loss(Path(weights) if weights else None)


def readable(loss: TextPerceptualLoss, texts: Sequence[str]) -> list[bool]:
    """Which texts the loss's recognizer can spell (all, when it has no ``vocab.covers``):
    a line with characters outside its vocabulary gives it nothing to judge."""
    covers = getattr(getattr(loss, "vocab", None), "covers", None)
    return [True if covers is None else bool(covers(t.replace(" ", ""))) for t in texts]


def predicted_x0(
    scheduler: DDPMScheduler, noisy: torch.Tensor, output: torch.Tensor, t: torch.Tensor
) -> torch.Tensor:
    """x0 from the model output, per the scheduler's prediction type (DDPM eq. 15 / v-param)."""
    alpha = scheduler.alphas_cumprod.to(noisy.device)[t].view(-1, 1, 1, 1)
    a, s = alpha.sqrt(), (1 - alpha).sqrt()
    kind = scheduler.config.prediction_type
    if kind == "epsilon":
        return (noisy - s * output) / a
    if kind == "v_prediction":
        return a * noisy - s * output
    if kind == "sample":
        return output
    raise ValueError(f"unknown prediction_type {kind!r}")


def diffusion_target(
    scheduler: DDPMScheduler, clean: torch.Tensor, noise: torch.Tensor, t: torch.Tensor
) -> torch.Tensor:
    kind = scheduler.config.prediction_type
    if kind == "epsilon":
        return noise
    if kind == "v_prediction":
        return scheduler.get_velocity(clean, noise, t)
    if kind == "sample":
        return clean
    raise ValueError(f"unknown prediction_type {kind!r}; use epsilon, v_prediction or sample")


def line_crops(
    images: torch.Tensor, boxes: Sequence[tuple[int, int, int, int]], vertical: bool
) -> torch.Tensor:
    """Cut each line's box out of (B, 3, H, W) images: upright rows ``OCR_HEIGHT`` high,
    padded on the right (edge pixels repeated) to the longest; values stay in [-1, 1]."""
    rows = []
    for img, (x0, y0, x1, y1) in zip(images, boxes, strict=True):
        crop = img[:, max(0, y0) : y1, max(0, x0) : x1]
        if vertical:
            crop = torch.rot90(
                crop, 1, dims=(1, 2)
            )  # a column becomes a row, reading left to right
        h, w = crop.shape[1:]
        size = (OCR_HEIGHT, max(OCR_HEIGHT, round(w * OCR_HEIGHT / max(h, 1))))
        rows.append(F.interpolate(crop[None], size=size, mode="bilinear")[0])
    width = max(r.shape[-1] for r in rows)
    return torch.stack(
        [F.pad(r[None], (0, width - r.shape[-1], 0, 0), mode="replicate")[0] for r in rows]
    )


LOSS_WEIGHTINGS = ("uniform", "min_snr")


def timestep_weights(
    scheduler: DDPMScheduler, t: torch.Tensor, weighting: str, gamma: float = 5.0
) -> torch.Tensor:
    """Each sample's weight in the diffusion loss by its timestep, (B,).

    ``min_snr``: Min-SNR-gamma (Hang et al. 2023, arXiv 2303.09556, eq. 8): the loss on the
    clean sample weighted by min(SNR(t), gamma), so the easy, low-noise steps stop dominating;
    for the other targets the same weight in their own units (epsilon: divided by SNR, v:
    by SNR + 1, since their squared error is SNR, or SNR + 1, times the clean one's).
    """
    if weighting == "uniform":
        return torch.ones(t.shape, dtype=torch.float32, device=t.device)
    if weighting != "min_snr":
        raise ValueError(f"unknown loss weighting {weighting!r}; use {', '.join(LOSS_WEIGHTINGS)}")
    alphas = scheduler.alphas_cumprod.to(t.device)[t].float()
    snr = alphas / (1 - alphas)
    clipped = snr.clamp(max=gamma)
    kind = scheduler.config.prediction_type
    if kind == "sample":
        return clipped
    if kind == "epsilon":
        return clipped / snr
    if kind == "v_prediction":
        return clipped / (snr + 1)
    raise ValueError(f"unknown prediction_type {kind!r}; use epsilon, v_prediction or sample")


def masked_mse(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean squared error weighted per position: (B, C, h, w) with weight (B, 1, h, w)."""
    return ((pred - target) ** 2 * weight).sum() / (weight.sum() * pred.shape[1])
