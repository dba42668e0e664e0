"""Keeping what is known: a keep_known model generates B's grown glyph and A's ink only;
every other pixel of the crop comes back as the photo, in training and at sampling."""

import json

import numpy as np
import pytest
import torch
from model_helpers import tiny_config

from glyphgen.model import known
from glyphgen.model.build import make_scheduler
from glyphgen.model.config import ModelConfig
from glyphgen.model.crops import reach_px
from glyphgen.model.pipeline import GlyphPipeline
from glyphgen.model.render import RegionRequest, known_region, render_regions
from glyphgen.model.train import Trainer, read_losses


def _line(shape=(2, 1, 32, 128), x=(20, 40)) -> torch.Tensor:
    glyph = torch.zeros(shape)
    glyph[..., 12:20, x[0] : x[1]] = 1
    return glyph


def test_the_training_region_is_the_glyph_grown_plus_a_stand_in_old_text_inside_the_box():
    glyph = torch.cat([_line((1, 1, 32, 128), (20, 40)), _line((1, 1, 32, 128), (80, 100))])
    box = torch.zeros_like(glyph)
    box[..., 4:28, 10:110] = 1
    px = reach_px(32)
    plain = known.training_region(glyph, box, torch.tensor([False, False]), 32)
    assert plain[0, 0, 12 - px, 20 - px] == 1 and plain[0, 0, 12 - px - 1, 20] == 0
    assert plain[0, 0, 16, 60] == 0  # between the lines: known
    both = known.training_region(glyph, box, torch.tensor([True, False]), 32)
    assert both[0, 0, 16, 90] == 1  # sample 1's line stands in for sample 0's old text
    assert both[1, 0, 16, 30] == 0
    assert both[:, :, :4].sum() == 0 and both[..., 110:].sum() == 0  # never outside the box


def test_loss_weighs_the_region_and_barely_the_known_pixels():
    region = torch.zeros(1, 1, 4, 4)
    region[..., :2, :] = 1
    w = known.loss_weights(region, 2.0, (4, 4))
    assert w[0, 0, 0, 0] == 3.0 and w[0, 0, 3, 3] == known.OUTSIDE_WEIGHT


@pytest.mark.parametrize("sampler", ["dpm++", "ddim", "euler", "flow"])
@pytest.mark.parametrize("begin", [0, 3])  # 3: sampling from a draft (strength < 1)
def test_put_back_noises_the_known_pixels_to_the_level_of_the_next_step(sampler, begin):
    flow = {"objective": "flow", "prediction_type": "v_prediction", "sampler": "euler"}
    sched = make_scheduler(
        ModelConfig(**flow) if sampler == "flow" else ModelConfig(sampler=sampler)
    )
    sched.set_timesteps(8)
    if begin and hasattr(sched, "set_begin_index"):  # DDIM steps by the timestep alone
        sched.set_begin_index(begin)
    ts = sched.timesteps
    g = torch.Generator().manual_seed(0)
    sample = torch.randn(1, 3, 96, 96, generator=g)
    sample = sched.step(torch.randn(1, 3, 96, 96, generator=g), ts[begin], sample).prev_sample
    known_x, region = torch.zeros(1, 3, 96, 96), torch.zeros(1, 1, 96, 96)
    noised = known.put_back(sched, sample, known_x, region, ts[begin + 1], g)
    if sampler in ("dpm++", "ddim"):  # variance preserving: sqrt(1 - alpha_bar)
        want = (1 - sched.alphas_cumprod[int(ts[begin + 1])]).sqrt().item()
    else:  # Euler's and flow's sigma at that step
        want = float(sched.sigmas[begin + 1])
    assert noised.std().item() == pytest.approx(want, rel=0.05)
    end = known.put_back(sched, sample, known_x, region, None, g)
    assert end.eq(0).all()


def test_a_keep_known_model_trains_and_leaves_every_known_pixel_of_the_source(tmp_path, fonts):
    cfg = tiny_config(tmp_path / "run", "model.keep_known=true", "model.height=32")
    cfg.stages = cfg.stages[:1]
    cfg.stages[0].steps = 2
    weights = Trainer(cfg, fonts=fonts, progress=False).run()
    assert np.isfinite([r["loss"] for r in read_losses(tmp_path / "run" / "loss.jsonl")]).all()
    manifest = json.loads((weights / "manifest.json").read_text())
    assert manifest["config"]["model"]["keep_known"] is True
    pipe = GlyphPipeline.from_pretrained(weights)
    glyph = _line((1, 1, 32, 128))
    region = known.training_region(glyph, torch.ones_like(glyph), torch.tensor([False]), 32)
    source = torch.rand(1, 3, 32, 128) * 2 - 1
    outside = known.sample_region(region, torch.zeros(1, 12, 16, 64))  # space-to-depth 2
    keep = (torch.nn.functional.interpolate(outside, scale_factor=2) == 0).expand_as(source)
    for strength in (1.0, 0.5, 0.0):
        out = pipe(["春天"], glyph, glyph, source=source, edit_mask=region, strength=strength,
                   generator=torch.Generator().manual_seed(0), output_type="pt")  # fmt: skip
        assert torch.allclose(out[keep], source[keep], atol=1e-5), strength
        assert not torch.allclose(out[~keep], source[~keep]), strength
    # rendered from noise into a photo: the box's known pixels are the photo's, byte for byte
    rng = np.random.default_rng(0)
    photo = (128 + rng.integers(-12, 13, (96, 320, 3))).astype(np.uint8)
    box = np.array([[40, 30], [280, 30], [280, 66], [40, 66]], np.float64)
    drawn, _ = render_regions(pipe, photo, [RegionRequest("一二", box)], fonts, strength=1.0)
    inside = drawn[30:66, 40:280] == photo[30:66, 40:280]
    assert 0.2 < inside.all(axis=2).mean() < 1  # B's glyph and its reach drawn, the rest kept
    assert np.array_equal(drawn[:20], photo[:20])


def test_an_edit_pairs_old_text_joins_the_training_region():
    glyph = _line((1, 1, 32, 128), (20, 40))
    image = torch.zeros(1, 3, 32, 128)
    source = image.clone()
    source[..., 14:18, 90:100] = 0.5  # A's stroke, where B has none
    box = torch.ones_like(glyph)
    region = known.training_region(glyph, box, torch.tensor([False]), 32, source, image)
    assert region[0, 0, 16, 95] == 1 and region[0, 0, 16, 90 - reach_px(32)] == 1
    assert region[0, 0, 16, 60] == 0


def test_unipc_is_refused_with_keep_known():
    with pytest.raises(ValueError, match="UniPC"):
        ModelConfig(keep_known=True, sampler="unipc")


def test_render_region_joins_the_grown_glyph_and_the_old_ink_within_the_box():
    glyph = np.zeros((32, 128), np.uint8)
    glyph[12:20, 20:40] = 255
    old = np.zeros_like(glyph)
    old[10:22, 90:100] = 255
    box = np.zeros_like(glyph)
    box[2:30, 5:95] = 255
    old[25, 60] = 1  # a faint trace of A after the warp still counts, grown like B's glyph
    r = known_region(glyph, old, box, 32)
    px = reach_px(32)
    assert r[16, 30] == 255 and r[16, 92] == 255 and r[16, 97] == 0 and r[16, 50] == 0
    assert r[12 - px, 20] == 255 and r[12 - px - 1, 20] == 0
    assert r[25 + px, 60 + px] == 255 and r[25 + px + 1, 60] == 0 and r[25, 90 - px] == 255
