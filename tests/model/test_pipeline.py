"""The pipeline's own promises, independent of training."""

import pytest
import torch
from model_helpers import tiny_config

from glyphgen.model.build import build_pipeline
from glyphgen.model.pipeline import GlyphPipeline, glyph_draft


@pytest.fixture(scope="module")
def pipe(tmp_path_factory):
    torch.manual_seed(0)
    p = build_pipeline(tiny_config(tmp_path_factory.mktemp("p")).model)
    p.set_progress_bar_config(disable=True)
    return p


@pytest.mark.parametrize(
    ("prediction", "steps", "sampler"),
    [
        ("v_prediction", 2, "dpm++"),
        ("v_prediction", 8, "dpm++"),
        ("epsilon", 4, "dpm++"),
        ("sample", 4, "dpm++"),
        ("sample", 4, "ddim"),
        ("sample", 4, "euler"),
        ("sample", 4, "unipc"),
    ],
)
def test_sampler_returns_the_image_an_oracle_denoiser_knows(
    tmp_path, monkeypatch, prediction, steps, sampler
):
    """With a denoiser that knows the clean image, sampling lands on it: each sampler, its
    prediction type and the space-to-depth round trip agree."""
    torch.manual_seed(1)
    overrides = [f"model.prediction_type={prediction}", f"model.sampler={sampler}"]
    pipe = build_pipeline(tiny_config(tmp_path, *overrides).model)
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


def test_strength_below_one_starts_from_the_glyph_draft():
    glyph = torch.zeros(2, 1, 8, 8)
    glyph[:, :, 2:6, 2:6] = 1
    source = torch.full((2, 3, 8, 8), 0.8)
    source[1] = -0.8  # dark background: white ink
    draft = glyph_draft(glyph, source)
    assert draft[0, :, 3, 3].tolist() == [-1.0] * 3 and draft[1, :, 3, 3].tolist() == [1.0] * 3
    assert torch.equal(draft[:, :, 0, 0], source[:, :, 0, 0])  # outside the glyph: the source
    assert glyph_draft(glyph, None)[0, 0, 0, 0] == 0  # no source: mid grey


@pytest.mark.parametrize("controlnet", [True, False])
def test_strength_starts_sampling_from_the_noised_draft(tmp_path, monkeypatch, controlnet):
    """strength 0.5: the denoiser's first input is the draft, noised halfway (close to it);
    strength 1: pure noise (unrelated to it). A model without ControlNet too: the draft is
    how its ablation row gets the glyph at the shipped strength."""
    pipe = build_pipeline(tiny_config(tmp_path, f"model.controlnet={controlnet}").model)
    assert (pipe.controlnet is not None) == controlnet
    pipe.set_progress_bar_config(disable=True)
    glyph = torch.zeros(1, 1, 32, 128)
    glyph[:, :, 8:24, 16:112] = 1
    source = torch.full((1, 3, 32, 128), 0.6)
    draft = pipe.encode_images(glyph_draft(glyph, source))
    seen = []

    def record(noisy, *args, **kwargs):
        seen.append(noisy.clone())
        return torch.zeros_like(noisy)

    monkeypatch.setattr(pipe, "predict", record)
    common = {
        "texts": ["字"],
        "glyph": glyph,
        "position_mask": glyph,
        "source": source,
        "edit_mask": glyph,
        "num_inference_steps": 8,
    }
    pipe(**common, strength=0.5, generator=torch.Generator().manual_seed(0))
    assert len(seen) == 4  # half the 8 steps
    pipe(**common, strength=1.0, generator=torch.Generator().manual_seed(0))
    assert len(seen) == 4 + 8
    half, full = (
        torch.corrcoef(torch.stack([x.flatten(), draft.flatten()]))[0, 1]
        for x in (seen[0], seen[4])
    )
    assert half > 0.4 and abs(full) < 0.1, (half, full)
    with pytest.raises(ValueError, match="strength"):
        pipe(**common, strength=1.5)


def test_strength_zero_returns_the_draft_without_denoising(pipe, monkeypatch):
    glyph = torch.zeros(1, 1, 32, 128)
    glyph[:, :, 8:24, 16:112] = 1
    source = torch.rand(1, 3, 32, 128) * 2 - 1
    monkeypatch.setattr(pipe, "predict", lambda *a, **k: pytest.fail("the denoiser ran"))
    out = pipe(["字"], glyph, glyph, source=source, edit_mask=glyph, strength=0, output_type="pt")
    assert torch.allclose(out, glyph_draft(glyph, source), atol=1e-5)
