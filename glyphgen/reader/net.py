"""The recognizer network: a small convolutional CTC model for 32-px-high text lines.

Input: ``(B, 1, 32, W)`` float grey images in [0, 1], ink dark or light (the model learns
both), W a multiple of 8. The backbone halves the height five times and the width three
times, so one output step covers 8 pixels: about four steps per square CJK character at
this height, enough for CTC to separate repeated characters. A few 1-D convolutions along
the line give each step context before the linear classifier.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

HEIGHT = 32
WIDTH_STEP = 8  # output steps are this many pixels apart; input widths are multiples of it


@dataclass(frozen=True)
class NetConfig:
    widths: tuple[int, int, int, int] = (32, 64, 128, 192)  # channels of the four conv stages
    hidden: int = 256  # features per output step
    context_layers: int = 2  # 1-D convolutions along the line (kernel 5, residual)
    embed: int = 128  # features per step fed to the classifier (its cost scales with this)
    num_classes: int = 0  # vocabulary size including the blank; set from the vocabulary

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _conv(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
    conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
    return [conv, nn.BatchNorm2d(cout), nn.ReLU()]


class LineRecognizer(nn.Module):
    def __init__(self, cfg: NetConfig):
        super().__init__()
        if cfg.num_classes < 2:
            raise ValueError("NetConfig.num_classes must be the vocabulary size (blank included)")
        self.cfg = cfg
        w1, w2, w3, w4 = cfg.widths
        self.backbone = nn.Sequential(
            *_conv(1, w1, stride=2),  # 16 x W/2
            *_conv(w1, w2, stride=2),  # 8 x W/4
            *_conv(w2, w3), nn.MaxPool2d(2),  # 4 x W/8
            *_conv(w3, w4), *_conv(w4, w4), nn.MaxPool2d((2, 1)),  # 2 x W/8
            nn.Conv2d(w4, cfg.hidden, (2, 1), bias=False), nn.BatchNorm2d(cfg.hidden), nn.ReLU(),
        )  # fmt: skip
        self.context = nn.ModuleList(
            nn.Sequential(
                nn.Conv1d(cfg.hidden, cfg.hidden, 5, padding=2, bias=False),
                nn.BatchNorm1d(cfg.hidden),
                nn.ReLU(),
            )
            for _ in range(cfg.context_layers)
        )
        self.project = nn.Sequential(nn.Conv1d(cfg.hidden, cfg.embed, 1), nn.ReLU())
        self.classifier = nn.Linear(cfg.embed, cfg.num_classes)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Per-step features ``(B, embed, T)``, T = W / 8."""
        if images.dim() != 4 or images.shape[1] != 1 or images.shape[2] != HEIGHT:
            raise ValueError(f"expected (B, 1, {HEIGHT}, W) images, got {tuple(images.shape)}")
        x = self.backbone((images - 0.5) / 0.5).squeeze(2)
        for layer in self.context:
            x = x + layer(x)
        return self.project(x)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Log-probabilities ``(T, B, classes)``, the layout ``nn.CTCLoss`` takes."""
        feats = self.features(images).permute(2, 0, 1)
        # fp32 softmax even under bf16 autocast (a no-op in fp32): CTC wants exact log-probs
        return self.classifier(feats).float().log_softmax(-1)


def greedy_ids(log_probs: torch.Tensor) -> tuple[list[list[int]], list[float]]:
    """Best class per step for each line, and the line's confidence (mean max probability)."""
    best, ids = log_probs.max(-1)  # (T, B)
    conf = best.exp().mean(0)
    return ids.T.tolist(), conf.tolist()
