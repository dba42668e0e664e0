"""Training losses: the diffusion loss and the OCR-aware (text-perceptual) loss hook.

The OCR loss follows AnyText's text-perceptual loss (https://arxiv.org/abs/2311.03054,
section 3.4): a recognizer looks at the predicted clean image x0 inside each text line
and is asked to read the target, only at timesteps where x0 is meaningful (low noise).
Any recognizer fits through ``TextPerceptualLoss``; ``glyphgen.reader`` supplies the
project's own when it is installed.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Protocol

import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler

OCR_HEIGHT = 32  # line crops are handed to the recognizer at this height


class TextPerceptualLoss(Protocol):
    """A differentiable loss of a recognizer reading ``crops`` as ``targets``.

    crops: upright horizontal line images, each (3, h, w) float RGB in [0, 1] with
    gradients (vertical columns already turned a quarter counter-clockwise);
    targets: the text each should read. Returns a scalar tensor.
    """

    def __call__(self, crops: Sequence[torch.Tensor], targets: Sequence[str]) -> torch.Tensor: ...


def load_text_loss(name: str) -> TextPerceptualLoss:
    """The named recognizer's loss; "reader" is ``glyphgen.reader.loss`` (issue 4)."""
    if name != "reader":
        raise ValueError(f"unknown ocr_loss.recognizer {name!r}; use 'reader'")
    try:
        module = importlib.import_module("glyphgen.reader.loss")
    except ModuleNotFoundError as exc:
        raise ValueError(
            "ocr_loss.weight > 0 needs the project's recognizer (glyphgen.reader.loss), which is "
            "not installed in this checkout; set ocr_loss.weight: 0"
        ) from exc
    factory = getattr(module, "text_perceptual_loss", None)
    if factory is None:
        raise ValueError(
            "glyphgen.reader.loss has no text_perceptual_loss() factory returning a "
            "TextPerceptualLoss; update glyphgen/model/losses.py to its API"
        )
    return factory()


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
) -> list[torch.Tensor]:
    """Cut each line's box out of (B, 3, H, W) [-1, 1] images: upright rows in [0, 1]."""
    out = []
    for img, (x0, y0, x1, y1) in zip(images, boxes, strict=True):
        crop = (img[:, max(0, y0) : y1, max(0, x0) : x1] + 1) / 2
        if vertical:
            crop = torch.rot90(
                crop, 1, dims=(1, 2)
            )  # a column becomes a row, reading left to right
        h, w = crop.shape[1:]
        size = (OCR_HEIGHT, max(OCR_HEIGHT, round(w * OCR_HEIGHT / max(h, 1))))
        out.append(F.interpolate(crop[None], size=size, mode="bilinear")[0])
    return out


def masked_mse(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean squared error weighted per position: (B, C, h, w) with weight (B, 1, h, w)."""
    return ((pred - target) ** 2 * weight).sum() / (weight.sum() * pred.shape[1])
