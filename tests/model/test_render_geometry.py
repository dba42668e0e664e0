"""render's geometry, with the model replaced by an ideal writer (dark glyphs on the source):
what it pastes back and what out.json says must let the judge read the text exactly."""

import cv2
import numpy as np
import pytest
import torch
from model_helpers import tiny_config

from glyphgen.model.build import build_pipeline
from glyphgen.model.pipeline import GlyphPipeline, GlyphPipelineOutput
from glyphgen.model.render import RegionRequest, render_regions
from glyphgen.render.regions import parse_region
from glyphgen.render.request import Sampling
from glyphgen.render.result import RegionResult, RenderResult


def _ideal_writer(self, texts, glyph, position_mask, source=None, edit_mask=None, **kwargs):
    """Ink where the glyph control says, the source everywhere else."""
    out = source * (1 - glyph) + (-0.9) * glyph
    arr = ((out + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return GlyphPipelineOutput(images=arr)


@pytest.fixture
def ideal(tmp_path, monkeypatch):
    monkeypatch.setattr(GlyphPipeline, "__call__", _ideal_writer)
    return build_pipeline(tiny_config(tmp_path, "model.height=64").model)


def test_rows_tilted_quads_and_columns_land_where_the_annotation_says(ideal, fonts, tmp_path):
    from glyphgen.eval import evaluate

    bg = np.full((360, 520, 3), (235, 225, 200), np.uint8)
    requests = [
        RegionRequest("营业时间", parse_region("20,20,260,76")),
        RegionRequest("欢迎光临", parse_region("40,130,300,110,306,170,46,190")),  # tilted quad
        RegionRequest("书山有路", parse_region("440,20,496,300"), vertical=True),
    ]
    image, texts = render_regions(ideal, bg, requests, fonts)
    regions = [
        RegionResult(k, t["text"], r.vertical, [t])
        for k, (t, r) in enumerate(zip(texts, requests, strict=True))
    ]
    ann = RenderResult(image, regions, Sampling()).write(tmp_path / "out.png")
    report = evaluate(ann)
    assert report.summary.n == 3
    assert report.summary.sentence_acc == 1.0, [r.read for r in report.regions]
    assert (image[330:, :200] == bg[330:, :200]).all()  # away from the regions: untouched


def test_the_classical_draft_keeps_every_pixel_its_edit_did_not_change(ideal, fonts):
    """draft=classical: the model's output is blended over what the classical edit changed
    (A's erased pixels, B's grown ink) and nowhere else in the region."""
    from glyphgen.model.render import classical_draft_edit

    rng = np.random.default_rng(0)
    photo = rng.integers(90, 140, (200, 400, 3), dtype=np.uint8)  # textured surface
    request = RegionRequest("新年快乐", parse_region("40,60,360,140"))
    old, _ = render_regions(ideal, photo, [RegionRequest("书山有路", request.polygon)], fonts)
    changed = classical_draft_edit(old, request, fonts, None).changed()
    image, _ = render_regions(ideal, old, [request], fonts, strength=0.5, draft="classical")
    feather = cv2.dilate(changed.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    assert changed.any() and (image[~feather] == old[~feather]).all()
    inside = np.zeros(changed.shape, bool)
    inside[60:140, 40:360] = True
    assert (image[inside & changed] != old[inside & changed]).any()
    # the glyph draft blends the model over the whole region (pixels away from any ink change)
    glyph_drafted, _ = render_regions(ideal, old, [request], fonts, strength=0.5, draft="glyph")
    assert (glyph_drafted[inside & ~feather] != old[inside & ~feather]).any()


def _keeps_its_draft(self, texts, glyph, position_mask, draft=None, **kwargs):
    """A model that changes nothing: its output is the draft it was given."""
    arr = ((draft + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    return GlyphPipelineOutput(images=arr.numpy())


def _tints_its_draft(self, texts, glyph, position_mask, draft=None, **kwargs):
    """A model whose only change is a green cast over its draft."""
    tinted = draft + torch.tensor([-0.1, 0.15, -0.1]).view(1, 3, 1, 1)
    return _keeps_its_draft(self, texts, glyph, position_mask, draft=tinted)


@pytest.mark.parametrize("model", [_keeps_its_draft, _tints_its_draft])
def test_the_classical_draft_keeps_its_resolution_and_colours_where_the_model_adds_no_detail(
    tmp_path, monkeypatch, fonts, model
):
    """Only the detail of the model's change is warped back onto the photo, not its crop: a
    region taller than the crop keeps the classical edit's own sharp pixels where the model
    kept them, and a cast the model lays over the draft does not reach the photo."""
    from glyphgen.model.render import classical_draft_edit

    monkeypatch.setattr(GlyphPipeline, "__call__", model)
    pipe = build_pipeline(tiny_config(tmp_path, "model.height=32").model)
    rng = np.random.default_rng(1)
    photo = rng.integers(60, 200, (240, 480, 3), dtype=np.uint8)  # fine texture the crop loses
    request = RegionRequest("新年快乐", parse_region("40,60,440,170"))
    draft_edit = classical_draft_edit(photo, request, fonts, None)
    drafted, changed = draft_edit.image, draft_edit.changed()
    image, _ = render_regions(pipe, photo, [request], fonts, strength=0.5, draft="classical")
    assert changed.any()
    diff = image.astype(int) - drafted.astype(int)
    if model is _keeps_its_draft:
        assert np.abs(diff).max() <= 1
    else:  # the tint is clipped at 0 and 255, so strokes' edges keep a little of it
        assert np.abs(diff[changed].mean(axis=0)).max() < 1.0  # the cast itself: 19 levels


def _speckles_its_draft_green(self, texts, glyph, position_mask, draft=None, **kwargs):
    """A model whose change is fine green-and-magenta speckle: detail the high-pass keeps."""
    checker = (torch.arange(draft.shape[-1]) % 2).view(1, 1, 1, -1) * 2.0 - 1  # +-1 columns
    speckle = checker * torch.tensor([-0.1, 0.15, -0.1]).view(1, 3, 1, 1)
    return _keeps_its_draft(self, texts, glyph, position_mask, draft=draft + speckle)


def test_the_model_shades_a_grey_scene_but_never_tints_it(tmp_path, monkeypatch, fonts):
    """Only the luminance of the model's change reaches the photo: on a grey photo the edit
    stays grey however coloured the model's output is, while its detail still shows."""
    from glyphgen.model.render import classical_draft_edit

    monkeypatch.setattr(GlyphPipeline, "__call__", _speckles_its_draft_green)
    pipe = build_pipeline(tiny_config(tmp_path, "model.height=32").model)
    grey = np.random.default_rng(2).integers(60, 200, (240, 480, 1), dtype=np.uint8)
    photo = np.repeat(grey, 3, axis=-1)
    request = RegionRequest("新年快乐", parse_region("40,60,440,170"))
    draft_edit = classical_draft_edit(photo, request, fonts, None)
    drafted, changed = draft_edit.image, draft_edit.changed()
    image, _ = render_regions(pipe, photo, [request], fonts, strength=0.5, draft="classical")
    assert changed.any() and np.ptp(drafted.astype(int), axis=-1).max() <= 1  # a grey draft
    assert np.abs(image.astype(int) - drafted.astype(int))[changed].max() > 3  # detail shows
    assert np.ptp(image.astype(int), axis=-1).max() <= 1  # and no pixel takes a hue


def _writes_in_speckled_colour(self, texts, glyph, position_mask, source=None, **kwargs):
    """From noise: the ideal writer's crop with fine green-and-magenta speckle over it."""
    ideal = _ideal_writer(self, texts, glyph, position_mask, source=source).images
    checker = np.indices(ideal.shape[1:3]).sum(axis=0) % 2 * 2 - 1  # +-1, a checkerboard
    speckle = checker[None, ..., None] * np.array([-25, 40, -25])
    return GlyphPipelineOutput(images=np.clip(ideal + speckle, 0, 255).astype(np.uint8))


def test_from_noise_the_models_colour_speckle_is_smoothed_and_its_strokes_kept(
    tmp_path, monkeypatch, fonts
):
    """A crop drawn from noise goes back whole, but with its chroma blurred: speckle that
    would tint a grey photo is averaged away while the strokes' luminance edges stay. Below
    strength 1 the crop refines a glyph draft and goes back as it is."""
    monkeypatch.setattr(GlyphPipeline, "__call__", _writes_in_speckled_colour)
    pipe = build_pipeline(tiny_config(tmp_path, "model.height=64").model)
    photo = np.full((160, 480, 3), 170, np.uint8)
    request = RegionRequest("新年快乐", parse_region("40,40,440,120"))
    image, _ = render_regions(pipe, photo, [request], fonts, strength=1.0, draft="glyph")
    region = image[40:120, 40:440].astype(int)
    # a speckled crop pixel spreads 65 levels over R, G, B; pasted unsmoothed, the region's
    # pixels still spread 16 on average (the warp back averages some of it), smoothed 1
    assert np.ptp(region, axis=-1).mean() < 3
    luma = region @ np.array([0.299, 0.587, 0.114])
    assert luma.min() < 60 and luma.max() > 150  # dark strokes on the light photo remain
    image, _ = render_regions(pipe, photo, [request], fonts, strength=0.5, draft="glyph")
    assert np.ptp(image[40:120, 40:440].astype(int), axis=-1).mean() > 10
