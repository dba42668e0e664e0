"""The renderer's promises: exact character boxes, aligned control images, replayable samples."""

import cv2
import numpy as np
import pytest

from glyphgen.synth.config import load_config
from glyphgen.synth.render import MissingGlyphError, Renderer
from glyphgen.typeset import geometry as geo
from glyphgen.typeset.layout import layout_block, paint

CLEAN = [
    "effects.blur_prob=0",
    "effects.noise_prob=0",
    "effects.jpeg_prob=0",
    "effects.light_prob=0",
    "style.stroke_prob=0",
    "style.shadow_prob=0",
    "output.image_format=png",
]


def _inside_fraction(ink: np.ndarray, polys: list[np.ndarray]) -> float:
    mask = np.zeros(ink.shape, np.uint8)
    for poly in polys:
        cv2.fillPoly(mask, [np.round(np.asarray(poly)).astype(np.int32)], 1)
    total = float(ink.sum())
    return float((ink * mask).sum()) / total if total else 1.0


@pytest.mark.parametrize(
    ("vertical", "arc", "angle", "jitter"),
    [(False, 0, 0, 0), (True, 0, 0, 0), (False, 0, 23, 0), (True, 0, -40, 6), (False, 70, 0, 0)],
)
def test_each_character_box_holds_its_own_ink(fonts, vertical, arc, angle, jitter):
    """At least 99% of every glyph's ink (after rotation/perspective/arc) is inside its quad."""
    renderer = Renderer(load_config(preset="scenes-det"), fonts)
    rng = np.random.default_rng(1)
    text = "北京（大学）《书》，龘12ab。"
    text = "".join(c for c in text if not fonts.uncovered(c))
    faces = [f.id for f in fonts.fallback_chain(text, fonts.faces[0])]
    block = layout_block([text], [faces], 40, vertical, 0.05, 0.3, "start", renderer.glyphs, arc)
    shape = geo.rotation_about(block.width / 2, block.height / 2, angle)
    if jitter:
        shape = shape @ geo.perspective_from_jitter(
            block.width, block.height, rng.uniform(-jitter, jitter, (4, 2))
        )
    x0, y0, x1, y1 = geo.bounds(geo.apply(shape, block.lines[0].polygon))
    h = geo.translation(10 - x0, 10 - y0) @ shape
    size = (int(x1 - x0) + 20, int(y1 - y0) + 20)
    for p in block.lines[0].placements:
        if not p.bitmap.size:
            continue
        ink = geo.warp(p.bitmap, h @ p.to_layout, size).astype(np.float64)
        assert ink.sum() > 0, p.char
        assert _inside_fraction(ink, [geo.apply(h, p.quad)]) >= 0.99, p.char


@pytest.mark.parametrize("preset", ["lines", "scenes-det"])
def test_all_drawn_text_lies_inside_the_character_boxes(fonts, preset):
    """On a solid background every pixel the text changed is inside some character quad."""
    overrides = [*CLEAN, "background.kinds={solid: 1}"]
    renderer = Renderer(load_config(preset=preset, overrides=overrides), fonts)
    for index in range(6):
        sample = renderer.render(index)
        assert sample is not None
        img = sample.pixels.astype(np.int16)
        bg = np.array(sample.meta["bg"]["colour"], np.int16)
        changed = (np.abs(img - bg).max(axis=2) > 24).astype(np.float64)
        quads = [c.quad for line in sample.lines for c in line.chars]
        assert _inside_fraction(changed, quads) >= 0.99
        for line in sample.lines:
            assert [c.char for c in line.chars] == list(line.text)


def test_glyph_image_and_position_mask_align_with_the_text(fonts):
    cfg = load_config(preset="scenes-diffusion", overrides=[*CLEAN, "layout.curve_prob=0.5"])
    renderer = Renderer(cfg, fonts)
    for index in range(4):
        sample = renderer.render(index)
        assert sample is not None
        glyph = sample.glyph_image.astype(np.float64)
        mask = sample.position_mask
        assert glyph.shape == mask.shape == (sample.height, sample.width)
        # The canonical glyphs fall inside the same character boxes as the rendered text.
        quads = [c.quad for line in sample.lines for c in line.chars]
        assert _inside_fraction(glyph, quads) >= 0.99
        # and inside the position mask (dilated by the 1-px antialiasing margin).
        dilated = cv2.dilate((mask > 0).astype(np.uint8), np.ones((5, 5), np.uint8))
        assert float((glyph * dilated).sum()) / glyph.sum() >= 0.99


def test_sample_depends_only_on_seed_and_index_and_replays_from_meta(fonts):
    cfg = load_config(preset="scenes-det", overrides=["style.stroke_prob=0.5"])
    a = Renderer(cfg, fonts)
    b = Renderer(cfg, fonts)
    for i in (3, 0, 7):  # a different order of rendering changes nothing
        assert a.render(i).image_bytes == b.render(i).image_bytes
    sample = a.render(5)
    other_seed = load_config(preset="scenes-det", overrides=["style.stroke_prob=0.5", "seed=99"])
    replay = Renderer(other_seed, fonts).render(5, recorded=sample.meta)
    assert replay.image_bytes == sample.image_bytes
    assert [ln.text for ln in replay.lines] == [ln.text for ln in sample.lines]


def test_missing_glyph_policies(fonts, tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("北京\U000e01ef大学\n", encoding="utf-8")  # a code point no font has
    base = ["text.source=corpus", f"text.corpus=[{corpus}]"]
    skip = Renderer(load_config(preset="lines", overrides=[*base, "fonts.on_missing=skip"]), fonts)
    assert skip.render(0) is None
    assert skip.stats["texts_skipped_missing_glyph"] == 10 and skip.stats["samples_skipped"] == 1
    rep = Renderer(
        load_config(preset="lines", overrides=[*base, "fonts.on_missing=replace"]), fonts
    )
    sample = rep.render(0)
    assert sample is not None and "\U000e01ef" not in sample.lines[0].text
    assert sample.lines[0].text.startswith("北京")
    err = Renderer(load_config(preset="lines", overrides=[*base, "fonts.on_missing=error"]), fonts)
    with pytest.raises(MissingGlyphError, match="no font covers"):
        err.render(0)


def test_vertical_line_crop_is_a_column(fonts):
    cfg = load_config(
        preset="lines", overrides=[*CLEAN, "layout.vertical=1", "layout.angle_prob=0"]
    )
    sample = Renderer(cfg, fonts).render(0)
    assert sample.width == cfg.line.height and sample.height > sample.width
    quads = [np.asarray(c.quad) for c in sample.lines[0].chars]
    tops = [q[:, 1].min() for q in quads]
    assert tops == sorted(tops)  # reading goes down the column


def test_paint_identity_matches_layout_canvas(fonts):
    renderer = Renderer(load_config(preset="lines"), fonts)
    face = fonts.canonical().id
    block = layout_block(["汉字"], [[face, face]], 32, False, 0.0, 0.0, "start", renderer.glyphs)
    canvas = paint(block, np.eye(3), (block.width, block.height))
    assert canvas.shape == (block.height, block.width) and canvas.max() == 255


@pytest.mark.slow
def test_palette_colours_are_taken_from_the_scene_itself(fonts):
    cfg = load_config(
        preset="scenes-det",
        overrides=[*CLEAN, "style.color=palette", "background.kinds={gradient: 1, noise: 1}"],
    )
    renderer = Renderer(cfg, fonts)
    for index in range(4):
        sample = renderer.render(index)
        empty = renderer.replay_scene(index, sample.meta, ink=False).image
        scene_colours = {tuple(int(v) for v in px) for px in empty.reshape(-1, 3)}
        for line in sample.lines:
            assert tuple(line.color) in scene_colours | {(0, 0, 0), (255, 255, 255)}
