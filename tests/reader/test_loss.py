"""The text-perceptual loss the glyph model trains with: differentiable, and it rewards
sharpening a blurred line toward its target."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from glyphgen.reader.loss import TextPerceptualLoss, text_perceptual_loss, to_reader_input
from glyphgen.reader.net import LineRecognizer, NetConfig
from glyphgen.reader.vocab import Vocabulary
from glyphgen.reader.weights import BUNDLED
from glyphgen.synth.config import load_config
from glyphgen.synth.render import Renderer

needs_weights = pytest.mark.skipif(
    not (BUNDLED / "model.safetensors").exists(),
    reason="no bundled recognizer weights (train them: glyphgen train-reader)",
)


@pytest.fixture(scope="module")
def loss() -> TextPerceptualLoss:
    return text_perceptual_loss()


@pytest.fixture(scope="module")
def line(fonts) -> tuple[torch.Tensor, str]:
    cfg = load_config(
        preset="lines",
        overrides=["text.source=corpus", "layout.angle_prob=0", "layout.perspective_prob=0",
                   "effects.blur_prob=0", "effects.noise_prob=0", "effects.jpeg_prob=0",
                   "output.image_format=png"],
    )  # fmt: skip
    sample = Renderer(cfg, fonts).render(3)
    assert sample is not None

    rgb = sample.pixels.astype(np.float32)
    return torch.from_numpy(rgb).permute(2, 0, 1)[None] / 127.5 - 1, sample.text


def blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    if sigma == 0:
        return x
    r = int(3 * sigma)
    k = torch.exp(-(torch.arange(-r, r + 1.0) ** 2) / (2 * sigma**2))
    k = k / k.sum()
    c = x.shape[1]
    x = F.conv2d(
        F.pad(x, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c
    )
    return F.conv2d(
        F.pad(x, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c
    )


@needs_weights
def test_the_bundled_loss_names_its_weights(loss):
    digest = hashlib.sha256((BUNDLED / "model.safetensors").read_bytes()).hexdigest()
    assert loss.source["sha256"] == digest and loss.source["steps"] > 0


@needs_weights
def test_gradients_reach_the_predicted_image_not_the_recognizer(loss, line):
    target, text = line
    pred = blur(target, 2.0).clone().requires_grad_(True)
    value = loss(pred, target, [text])
    value.backward()
    assert value.item() > 0
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    assert all(p.grad is None for p in loss.model.parameters())


@needs_weights
def test_loss_falls_as_a_blurred_line_is_sharpened_toward_its_target(loss, line):
    target, text = line
    with torch.no_grad():
        values = [loss(blur(target, s), target, [text]).item() for s in (3.0, 2.0, 1.0, 0.0)]
    assert values == sorted(values, reverse=True), values
    assert values[-1] < 0.05 * values[0]


@needs_weights
def test_ctc_term_alone_prefers_the_right_text(loss, line):
    target, text = line
    only_ctc = TextPerceptualLoss(loss.model, loss.vocab, feature_weight=0.0, ctc_weight=1.0)
    with torch.no_grad():
        right = only_ctc(target, texts=[text]).item()
        wrong = only_ctc(target, texts=[text[::-1] + "口"]).item()
    assert right < wrong


def test_reader_input_is_32_px_grey_in_unit_range():
    x = torch.rand(2, 3, 64, 256) * 2 - 1
    y = to_reader_input(x)
    assert y.shape == (2, 1, 32, 128) and y.min() >= 0 and y.max() <= 1


def test_tiny_reader_gives_image_gradients_and_zero_loss_at_the_target():
    vocab = Vocabulary("天地玄黄")
    torch.manual_seed(0)
    net = NetConfig(widths=(4, 8, 8, 8), hidden=16, context_layers=1, embed=8, num_classes=5)
    loss = TextPerceptualLoss(LineRecognizer(net), vocab, feature_weight=1.0, ctc_weight=1.0)
    target = torch.rand(2, 3, 48, 96) * 2 - 1
    pred = blur(target, 1.5).requires_grad_(True)
    value = loss(pred, target, ["天地", "玄黄天"])
    value.backward()
    assert value.item() > 0 and pred.grad is not None and pred.grad.abs().sum() > 0
    assert all(p.grad is None for p in loss.model.parameters())
    with torch.no_grad():
        assert loss(target, target).item() == 0.0  # feature term only: nothing to correct
