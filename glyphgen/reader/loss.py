"""A differentiable text-perceptual loss for the glyph model, from the recognizer.

``TextPerceptualLoss(pred, target_images, texts)`` compares what the recognizer *sees* in a
predicted text crop with what it sees in the ground-truth crop, and how well it can read the
target text from the prediction:

- feature term: mean squared distance between the recognizer's per-step features of the
  predicted and the ground-truth crop (AnyText's "text perceptual" idea, on our reader);
- CTC term: the CTC loss of the target text on the prediction, divided by the text length.

Inputs are ``(B, C, H, W)`` crops with values in [-1, 1] (the diffusion model's range),
C = 1 or 3, any H (resized to the reader's 32 px), W a multiple of 8 after resizing is not
needed: crops are padded. The recognizer is frozen (no parameter gets gradients), but the
loss is differentiable with respect to ``pred``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from glyphgen.reader.net import HEIGHT, WIDTH_STEP, LineRecognizer
from glyphgen.reader.vocab import Vocabulary
from glyphgen.reader.weights import identity, load_model


def to_reader_input(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] crops (B, C, H, W) -> grey [0, 1] (B, 1, 32, W'), differentiably."""
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected (B, 1|3, H, W) crops, got {tuple(images.shape)}")
    grey = images.mean(1, keepdim=True) if images.shape[1] == 3 else images
    grey = (grey + 1) / 2
    h, w = grey.shape[-2:]
    new_w = max(WIDTH_STEP, round(w * HEIGHT / h))
    new_w = -(-new_w // WIDTH_STEP) * WIDTH_STEP
    return F.interpolate(grey, size=(HEIGHT, new_w), mode="bilinear", align_corners=False)


class TextPerceptualLoss(nn.Module):
    def __init__(
        self,
        model: LineRecognizer,
        vocab: Vocabulary,
        feature_weight: float = 1.0,
        ctc_weight: float = 0.1,
        source: dict[str, Any] | None = None,
    ):
        super().__init__()
        # which recognizer this is (folder, steps, sha256): a model trained with the loss
        # records it, since the bundled reader gets retrained
        self.source = source or {}
        self.model = model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.vocab = vocab
        self.feature_weight = feature_weight
        self.ctc_weight = ctc_weight
        self.ctc = nn.CTCLoss(blank=0, reduction="none", zero_infinity=True)

    def train(self, mode: bool = True) -> TextPerceptualLoss:
        super().train(mode)
        self.model.eval()  # batch norm statistics stay frozen whatever the caller does
        return self

    def forward(
        self,
        pred: torch.Tensor,
        target: torch.Tensor | None = None,
        texts: Sequence[str] | None = None,
    ) -> torch.Tensor:
        x = to_reader_input(pred)
        loss = pred.new_zeros(())
        feats = self.model.features(x)
        if target is not None and self.feature_weight:
            with torch.no_grad():
                want = self.model.features(to_reader_input(target))
            loss = loss + self.feature_weight * F.mse_loss(feats, want)
        if texts is not None and self.ctc_weight:
            ids = [self.vocab.encode(t) for t in texts]
            keep = [i for i, seq in enumerate(ids) if seq]
            if keep:
                log_probs = self.model.classifier(feats.permute(2, 0, 1)).log_softmax(-1)
                log_probs = log_probs[:, keep]
                targets = torch.tensor([c for i in keep for c in ids[i]], dtype=torch.long)
                t_len = torch.tensor([len(ids[i]) for i in keep], dtype=torch.long)
                in_len = torch.full((len(keep),), log_probs.shape[0], dtype=torch.long)
                per_line = self.ctc(log_probs, targets, in_len, t_len) / t_len.clamp(min=1)
                loss = loss + self.ctc_weight * per_line.mean()
        return loss


def text_perceptual_loss(
    weights: Path | None = None, feature_weight: float = 1.0, ctc_weight: float = 0.1
) -> TextPerceptualLoss:
    """The loss on the bundled recognizer (or the model folder ``weights``)."""
    model, vocab, manifest = load_model(weights)
    return TextPerceptualLoss(model, vocab, feature_weight, ctc_weight, identity(manifest, weights))
