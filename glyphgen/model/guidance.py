"""OCR-guided sampling: a reader steers every denoising step towards the requested text.

At each step the clean crop the model predicts (x0) is read by a differentiable recognizer
(the CTC term of ``glyphgen.reader.loss`` on the line's box, read as a row; a column is
turned a quarter first, as training's OCR-aware loss turns it); x0 is moved down the
gradient of that loss by ``scale``, the gradient normalised to unit RMS over each crop, in
[-1, 1] pixel units (so a scale means the same for every crop, line length and reader), and
the sampler steps from the nudged x0. Only the reader is differentiated, never the UNet
(guidance on the predicted clean sample, as in Bansal et al. 2023's universal guidance,
forward step only), so a guided step costs one reader pass and its gradient.

The reader that steers is fooled at large scales (it comes to read strokes no other reader
sees), so a scale is chosen on validation against a judge that shares nothing with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from glyphgen.model.losses import TextPerceptualLoss, line_crops, predicted_x0

MAX_SCALE = 1.0  # a step of one RMS unit already replaces the crop's content


@dataclass(frozen=True)
class Guide:
    """What steers sampling: ``loss`` of (B, 3, H, W) crops in [-1, 1] (differentiable),
    and the step ``scale`` down its gradient per denoising step."""

    loss: Callable[[torch.Tensor], torch.Tensor]
    scale: float

    def __post_init__(self) -> None:
        if not 0 < self.scale <= MAX_SCALE:
            raise ValueError(f"guidance scale must be in (0, {MAX_SCALE}], got {self.scale}")


def reader_guide(
    reader: TextPerceptualLoss,
    texts: Sequence[str],
    boxes: Sequence[tuple[int, int, int, int]],
    vertical: bool,
    scale: float,
) -> Guide:
    """A guide whose loss is ``reader``'s CTC loss of ``texts`` on each crop's line ``boxes``
    (x0, y0, x1, y1 crop pixels); ``vertical`` lines are read as columns."""
    texts, boxes = list(texts), list(boxes)

    def loss(images: torch.Tensor) -> torch.Tensor:
        return reader(line_crops(images, boxes, vertical), None, texts)

    return Guide(loss, scale)


def nudged(images: torch.Tensor, guide: Guide) -> torch.Tensor:
    """``images`` (B, 3, H, W) in [-1, 1] moved ``guide.scale`` down the RMS-normalised
    gradient of ``guide.loss`` (not clamped: where the gradient is zero, nothing moves)."""
    with torch.enable_grad():
        x = images.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(guide.loss(x), x)
    rms = grad.pow(2).mean(dim=(1, 2, 3), keepdim=True).sqrt().clamp_min(1e-12)
    return images - guide.scale * grad / rms


def output_for_x0(
    scheduler, noisy: torch.Tensor, x0: torch.Tensor, t: torch.Tensor
) -> torch.Tensor:
    """The model output, of the scheduler's prediction type, that implies the clean sample
    ``x0`` at timestep ``t`` (B,) from ``noisy``: the inverse of ``losses.predicted_x0``."""
    alpha = scheduler.alphas_cumprod.to(noisy.device)[t].view(-1, 1, 1, 1)
    a, s = alpha.sqrt(), (1 - alpha).sqrt()
    kind = scheduler.config.prediction_type
    if kind == "sample":
        return x0
    if kind == "epsilon":
        return (noisy - a * x0) / s
    if kind == "v_prediction":
        return (a * noisy - x0) / s
    raise ValueError(f"unknown prediction_type {kind!r}")


def guided_output(
    scheduler,
    noisy: torch.Tensor,
    output: torch.Tensor,
    t: torch.Tensor,
    guide: Guide,
    decode: Callable[[torch.Tensor], torch.Tensor],
    encode: Callable[[torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """The model ``output`` at ``t`` (B,) with the clean sample it implies nudged by
    ``guide`` (``decode``/``encode``: sample space to [-1, 1] images and back)."""
    x0 = predicted_x0(scheduler, noisy, output, t)
    return output_for_x0(scheduler, noisy, encode(nudged(decode(x0), guide)), t)
