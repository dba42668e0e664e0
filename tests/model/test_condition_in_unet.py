"""``model.condition_in_unet``: the UNet takes the glyph condition beside the noisy sample,
and weights trained without it grow into a model with it, changing nothing at first."""

import pytest
import torch
from model_helpers import tiny_config

from glyphgen.model.build import build_pipeline
from glyphgen.model.pipeline import GlyphPipeline, condition_channels, make_condition
from glyphgen.model.train import InitRefused, Trainer


def _inputs(pipe, seed=0):
    g = torch.Generator().manual_seed(seed)
    h, w = pipe.config.crop_height, 128
    f = pipe.space_factor
    noisy = torch.randn(2, pipe.unet.config.out_channels, h // f, w // f, generator=g)
    glyph = (torch.rand(2, 1, h, w, generator=g) > 0.7).float()
    condition = make_condition(glyph, torch.ones_like(glyph))
    text = pipe.text_encoder.encode(["新年", "快乐"])
    style = pipe.style_adapter(2, None, None)
    return noisy, torch.tensor([999, 10]), text, style, condition


def _build(*overrides):
    cfg = tiny_config("unused", *overrides).model
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return build_pipeline(cfg)


def test_the_widened_unet_computes_what_the_plain_one_does_until_trained():
    plain, grown = _build(), _build("model.condition_in_unet=true")
    assert condition_channels(plain.unet) == 0
    assert condition_channels(grown.unet) == 6 * 2**2  # space-to-depth of the 6 channels
    args = _inputs(plain)
    with torch.no_grad():
        assert torch.equal(plain.predict(*args), grown.predict(*args))


def test_the_unet_sees_the_glyph_even_without_a_controlnet():
    pipe = _build("model.condition_in_unet=true", "model.controlnet=false")
    torch.nn.init.normal_(pipe.unet.conv_in.weight)  # as if trained to use the condition
    noisy, t, text, style, condition = _inputs(pipe)
    other = condition.clone()
    other[:, 0] = 1 - other[:, 0]  # another glyph
    with torch.no_grad():
        a = pipe.predict(noisy, t, text, style, condition)
        b = pipe.predict(noisy, t, text, style, other)
        assert not torch.allclose(a, b)
        with pytest.raises(ValueError, match="needs its condition"):
            pipe.predict(noisy, t, text, style, None)


def test_weights_without_it_grow_into_a_run_with_it(trained, tmp_path):
    """``trained``: the tiny model's 6-step run (conftest), without the condition in its UNet."""
    stage = "stages=[{name: leg2, steps: 1, batch_size: 2, warmup: 1}]"
    cfg = tiny_config(tmp_path / "grow", stage, f"init={trained}", "model.condition_in_unet=true")
    trainer = Trainer(cfg, progress=False)
    before = GlyphPipeline.from_pretrained(trained)
    args = _inputs(before)
    with torch.no_grad():
        assert torch.equal(before.predict(*args), trainer.pipe.predict(*args))
    weights = trainer.run()
    after = GlyphPipeline.from_pretrained(weights)
    assert condition_channels(after.unet) == 24
    # the new channels learnt something in one step
    assert after.unet.conv_in.weight[:, 12:].abs().sum() > 0
    # the other way round is another model: refused by name
    back = tiny_config(tmp_path / "back", stage, f"init={weights}")
    with pytest.raises(InitRefused, match="condition_in_unet: True there, False here"):
        Trainer(back, progress=False)


@pytest.mark.slow
def test_the_ocr_loss_runs_on_every_kth_step_only(tmp_path):
    class CountingLoss(torch.nn.Module):
        source = "test"

        def __init__(self):
            super().__init__()
            self.calls = 0
            self.scale = torch.nn.Parameter(torch.ones(()))

        def forward(self, pred, true, texts):
            self.calls += 1
            return (pred - true).abs().mean() * self.scale

    loss = CountingLoss()
    cfg = tiny_config(
        tmp_path / "run",
        "stages=[{name: s, steps: 6, batch_size: 4, warmup: 1}]",
        "ocr_loss.weight=0.01",
        "ocr_loss.every=3",
        "ocr_loss.max_timestep=1000",
    )
    Trainer(cfg, text_loss=loss, progress=False).run()
    assert loss.calls == 2  # steps 0 and 3 of 0..5
