"""Keeping what is known: a keep_known model generates B's grown glyph and A's ink only;
every other pixel of the crop comes back as the photo, in training and at sampling."""

import json

import numpy as np
import torch
from diffusers import DDPMScheduler
from model_helpers import tiny_config

from glyphgen.model import known
from glyphgen.model.crops import reach_px
from glyphgen.model.pipeline import GlyphPipeline
from glyphgen.model.render import known_region
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


def test_put_back_noises_the_known_pixels_to_the_next_step_and_returns_them_exactly_at_the_end():
    sched = DDPMScheduler()
    sample, known_x = torch.full((1, 3, 4, 4), 5.0), torch.zeros(1, 3, 4, 4)
    region = torch.zeros(1, 1, 4, 4)
    region[..., 0, 0] = 1
    g = torch.Generator().manual_seed(0)
    mid = known.put_back(sched, sample, known_x, region, torch.tensor(999), g)
    assert mid[0, :, 0, 0].eq(5).all() and mid[0, :, 1:, 1:].abs().max() > 0.1
    end = known.put_back(sched, sample, known_x, region, None, g)
    assert end[0, :, 0, 0].eq(5).all() and end[0, :, 1:, :].eq(0).all()


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
    out = pipe(["春天"], glyph, glyph, source=source, edit_mask=region,
               generator=torch.Generator().manual_seed(0), output_type="pt")  # fmt: skip
    outside = known.sample_region(region, (16, 64))  # at the sample's size (space-to-depth 2)
    keep = torch.nn.functional.interpolate(outside, scale_factor=2) == 0
    assert torch.allclose(out[keep.expand_as(out)], source[keep.expand_as(source)], atol=1e-5)
    assert not torch.allclose(out[~keep.expand_as(out)], source[~keep.expand_as(source)])


def test_render_region_joins_the_grown_glyph_and_the_old_ink_within_the_box():
    glyph = np.zeros((32, 128), np.uint8)
    glyph[12:20, 20:40] = 255
    old = np.zeros_like(glyph)
    old[10:22, 90:100] = 255
    box = np.zeros_like(glyph)
    box[2:30, 5:95] = 255
    r = known_region(glyph, old, box, 32)
    assert r[16, 30] == 255 and r[16, 92] == 255 and r[16, 97] == 0 and r[16, 60] == 0
    assert r[12 - reach_px(32), 20] == 255 and r[12 - reach_px(32) - 1, 20] == 0
