"""The pipeline's own promises, independent of training."""

import pytest
import torch
from model_helpers import tiny_config

from glyphgen.model.build import build_pipeline
from glyphgen.model.pipeline import GlyphPipeline


@pytest.fixture(scope="module")
def pipe(tmp_path_factory):
    torch.manual_seed(0)
    p = build_pipeline(tiny_config(tmp_path_factory.mktemp("p")).model)
    p.set_progress_bar_config(disable=True)
    return p


@pytest.mark.parametrize(
    ("prediction", "steps"),
    [("v_prediction", 2), ("v_prediction", 8), ("epsilon", 4), ("sample", 4)],
)
def test_sampler_returns_the_image_an_oracle_denoiser_knows(
    tmp_path, monkeypatch, prediction, steps
):
    """With a denoiser that knows the clean image, sampling lands on it: the scheduler, its
    prediction type and the space-to-depth round trip agree."""
    torch.manual_seed(1)
    pipe = build_pipeline(tiny_config(tmp_path, f"model.prediction_type={prediction}").model)
    pipe.set_progress_bar_config(disable=True)
    image = torch.rand(1, 3, 32, 128) * 2 - 1
    clean = pipe.encode_images(image)
    alphas = pipe.scheduler.alphas_cumprod

    def oracle(noisy, t, *args, **kwargs):
        abar = alphas[t.long()].view(-1, 1, 1, 1)
        a, s = abar.sqrt(), (1 - abar).sqrt()
        eps = (noisy - a * clean) / s
        return {"v_prediction": a * eps - s * clean, "epsilon": eps, "sample": clean}[prediction]

    monkeypatch.setattr(pipe, "predict", oracle)
    glyph = torch.zeros(1, 1, 32, 128)
    out = pipe(["字"], glyph, glyph, num_inference_steps=steps, output_type="pt")
    assert (out - image).abs().max() < 1e-4


def test_controlnet_starts_as_a_no_op(pipe):
    """Zero-initialised output convolutions: before training, the glyph changes nothing."""
    noisy = torch.randn(1, 12, 16, 64)
    t = torch.tensor([500])
    states = pipe.text_encoder.encode(["字"])
    style = pipe.style_adapter(1)
    a = pipe.predict(noisy, t, states, style, torch.zeros(1, 6, 32, 128))
    b = pipe.predict(noisy, t, states, style, torch.rand(1, 6, 32, 128))
    assert torch.equal(a, b)


def test_sizes_that_do_not_fit_the_unet_are_refused(pipe):
    glyph = torch.zeros(1, 1, 30, 128)
    with pytest.raises(ValueError, match="multiple of 4"):
        pipe(["字"], glyph, glyph)


def test_save_and_load_round_trip(pipe, tmp_path):
    pipe.save_pretrained(tmp_path)
    assert not list(tmp_path.rglob("*.bin"))
    loaded = GlyphPipeline.from_pretrained(tmp_path)
    loaded.set_progress_bar_config(disable=True)
    glyph = torch.zeros(1, 1, 32, 128)
    a = pipe(["字"], glyph, glyph, generator=torch.Generator().manual_seed(0)).images
    b = loaded(["字"], glyph, glyph, generator=torch.Generator().manual_seed(0)).images
    # the same weights; oneDNN may pick other kernels for fresh memory (1e-6 apart)
    assert abs(a.astype(int) - b).max() <= 1
    with pytest.raises(ValueError, match="safetensors"):
        pipe.save_pretrained(tmp_path / "x", safe_serialization=False)
