"""OCR-guided sampling: a reader nudges every step's predicted clean crop towards the text."""

import numpy as np
import pytest
import torch

from glyphgen.benchmark.glyph import BenchmarkError, parse_model
from glyphgen.model import guidance
from glyphgen.model.build import make_scheduler
from glyphgen.model.config import ModelConfig
from glyphgen.model.losses import load_text_loss, predicted_x0
from glyphgen.model.pipeline import GlyphPipeline
from glyphgen.typeset.fonts import FontLibrary
from glyphgen.typeset.line import draw_line, glyph_cache


@pytest.mark.parametrize("kind", ["sample", "epsilon", "v_prediction"])
def test_the_output_for_an_x0_is_what_the_scheduler_reads_that_x0_from(kind):
    sched = make_scheduler(ModelConfig(prediction_type=kind))
    g = torch.Generator().manual_seed(0)
    noisy, x0 = torch.randn(3, 12, 8, 8, generator=g), torch.randn(3, 12, 8, 8, generator=g)
    t = torch.tensor([10, 400, 990])
    out = guidance.output_for_x0(sched, noisy, x0, t)
    assert torch.allclose(predicted_x0(sched, noisy, out, t), x0, atol=1e-4)


def test_a_nudge_steps_down_the_loss_by_the_scale_in_rms_units():
    target = torch.zeros(2, 3, 4, 8)
    images = torch.ones(2, 3, 4, 8)
    images[1] *= 3  # a crop far off moves no further than one close by
    guide = guidance.Guide(lambda x: (x - target).pow(2).sum(), scale=0.05)
    moved = guidance.nudged(images, guide)
    step = (moved - images).pow(2).mean(dim=(1, 2, 3)).sqrt()
    assert torch.allclose(step, torch.full((2,), 0.05))
    assert (moved < images).all()


def test_where_the_loss_has_no_gradient_nothing_moves():
    images = torch.rand(1, 3, 4, 8) * 2 - 1
    guide = guidance.Guide(lambda x: x[..., :2].sum(), scale=0.1)  # reads the first 2 columns
    moved = guidance.nudged(images, guide)
    assert torch.equal(moved[..., 2:], images[..., 2:])
    assert not torch.equal(moved[..., :2], images[..., :2])


@pytest.mark.parametrize("scale", [0.0, -0.1, 1.5])
def test_a_scale_outside_its_range_is_refused(scale):
    with pytest.raises(ValueError, match="guidance scale"):
        guidance.Guide(lambda x: x.sum(), scale)


def test_the_reader_steers_only_the_lines_box_and_reads_the_text_better_than_a_blank():
    fonts = FontLibrary.load(progress=False)
    size, rect = (128, 32), (16.0, 6.0, 112.0, 26.0)
    glyph, _, _ = draw_line("天气很好", rect, False, size, fonts, glyph_cache(fonts))
    written = torch.from_numpy(255 - glyph).float().expand(1, 3, 32, 128) / 127.5 - 1
    blank = torch.ones(1, 3, 32, 128)
    guide = guidance.reader_guide(
        load_text_loss("reader"), ["天气很好"], [(16, 6, 112, 26)], False, 0.05
    )
    assert guide.loss(written) < guide.loss(blank)
    moved = guidance.nudged(blank, guide)
    changed = (moved != blank).any(dim=1)[0]
    assert changed[6:26, 16:112].any()
    assert not changed[:6].any() and not changed[26:].any() and not changed[:, 112:].any()


def _sample(pipe, guide=None):
    glyph = torch.zeros(1, 1, 32, 64)
    glyph[..., 10:22, 8:56] = 1
    return pipe(
        ["字"],
        glyph,
        glyph,
        num_inference_steps=3,
        strength=1.0,
        guide=guide,
        generator=torch.Generator().manual_seed(0),
        output_type="pt",
    )


def test_guided_sampling_reads_every_step_and_changes_the_sample(trained):
    pipe = GlyphPipeline.from_pretrained(trained)
    calls = []

    def loss(images):
        calls.append(images.shape)
        return images[..., 10:22, 8:56].mean()  # darker ink wanted

    plain, guided = _sample(pipe), _sample(pipe, guidance.Guide(loss, 0.2))
    assert calls == [(1, 3, 32, 64)] * 3
    assert guided[..., 10:22, 8:56].mean() < plain[..., 10:22, 8:56].mean()


def test_a_flow_model_refuses_guidance(trained):
    pipe = GlyphPipeline.from_pretrained(trained)
    flow = {"objective": "flow", "prediction_type": "v_prediction", "sampler": "euler"}
    pipe.scheduler = make_scheduler(ModelConfig(**flow))
    with pytest.raises(ValueError, match="flow model"):
        _sample(pipe, guidance.Guide(lambda x: x.sum(), 0.05))


def test_a_benchmark_row_names_its_guidance_after_a_third_at():
    row = parse_model("guided=weights/glyph-campaign@1@glyph@0.05")
    assert (row.strength, row.draft, row.guidance) == (1.0, "glyph", 0.05)
    assert parse_model("plain=weights/glyph-campaign@1").guidance == 0.0
    with pytest.raises(BenchmarkError, match="guidance after the third @"):
        parse_model("bad=weights/glyph-campaign@1@glyph@2")
    with pytest.raises(BenchmarkError, match="at most three @"):
        parse_model("bad=weights/glyph-campaign@1@glyph@0.1@x")


def test_render_refuses_a_guidance_outside_its_range(tmp_path, capsys):
    from glyphgen.cli import main

    with pytest.raises(SystemExit):
        main(["render", "--text", "你好", "--out", str(tmp_path / "r.png"), "--guidance", "2"])
    assert "guidance" in capsys.readouterr().err
    assert not np.any([p.exists() for p in tmp_path.iterdir()])
