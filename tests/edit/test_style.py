"""The style estimator on crops drawn as the factory draws a line (its layout and its
``composite``: shadow, outline, fill) in a known face, weight, fill, outline and shadow."""

import cv2
import numpy as np
import pytest

from glyphgen.edit import classical as ce
from glyphgen.edit import style as st
from glyphgen.eval import edit_metrics as em
from glyphgen.synth.style import composite
from glyphgen.typeset import geometry as geo
from glyphgen.typeset.layout import layout_block, paint
from glyphgen.typeset.line import glyph_cache

H, W = 110, 330
TEXT_A, TEXT_B = "北京大学", "上海东路"
SIZE = 64


def paper(seed: int = 0, grain: float = 3.0) -> np.ndarray:
    """A light paper texture: a gradient with ``grain`` (noise sigma), (H, W, 3) uint8."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, W)[None, :, None]
    row = (1 - t) * np.array([215, 205, 185]) + t * np.array([240, 235, 220])
    img = row.repeat(H, axis=0) + rng.normal(0, grain, (H, W, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def factory_line(fonts, face, style, text=TEXT_A, spacing=0.05, background=None):
    """``text`` in ``face`` at SIZE px, laid out and composited as the factory does, at
    (24, 20); returns (image, the line's quad, its coverage)."""
    glyphs = glyph_cache(fonts)
    block = layout_block([text], [[face] * len(text)], SIZE, False, spacing, 0, "start", glyphs)
    h = geo.translation(24, 20)
    cover = paint(block, h, (W, H))
    img = (paper() if background is None else background).astype(np.float32)
    composite(img, cover, style)
    quad = geo.apply(h, block.lines[0].polygon)
    return np.round(img).astype(np.uint8), quad, cover


def delta_e(a, b) -> float:
    return float(em.ciede2000(em.srgb_to_lab(np.array(a)), em.srgb_to_lab(np.array(b))))


@pytest.mark.parametrize("face", ["noto-serif-sc", "arphic-ukai", "noto-sans-sc-bold"])
def test_the_face_a_was_drawn_in_is_found(fonts, face):
    image, quad, cover = factory_line(fonts, face, {"color": [30, 30, 30]})
    out = ce.classical_edit(image, quad, TEXT_B, fonts, old_text=TEXT_A)
    assert out.style.face == face
    assert out.style.face_iou > 0.8  # measured 0.93-0.97
    # B is drawn in that face: its stroke width is A's (1 within 10%).
    ratio = em.stroke_width_ratio(out.image, image, quad, cover > 0, (30, 30, 30))
    assert 0.9 < ratio < 1.1


def test_weight_bold_is_heavier_than_regular(fonts):
    regular, quad, _ = factory_line(fonts, "noto-sans-sc", {"color": [20, 20, 20]})
    bold, _, _ = factory_line(fonts, "noto-sans-sc-bold", {"color": [20, 20, 20]})
    w_regular = ce.classical_edit(regular, quad, TEXT_B, fonts, old_text=TEXT_A).style.weight
    w_bold = ce.classical_edit(bold, quad, TEXT_B, fonts, old_text=TEXT_A).style.weight
    assert w_bold > 1.4 * w_regular  # measured 0.110 against 0.064 em


def test_without_old_text_the_canonical_face_is_grown_to_a_weight(fonts):
    bold, quad, _ = factory_line(fonts, "noto-sans-sc-bold", {"color": [20, 20, 20]})
    out = ce.classical_edit(bold, quad, TEXT_B, fonts)
    assert out.style.face == fonts.canonical().id
    assert out.style.offset > 0.5  # emboldened towards the bold face's strokes


def test_fill_outline_and_shadow_are_found(fonts):
    style = {
        "color": [250, 240, 60],
        "stroke_width": 3,
        "stroke_color": [160, 20, 20],
    }
    image, quad, _ = factory_line(fonts, "noto-sans-sc-bold", style)
    s = ce.classical_edit(image, quad, TEXT_B, fonts, old_text=TEXT_A).style
    assert delta_e(s.fill, style["color"]) < 5
    assert s.outline is not None and delta_e(s.outline, style["stroke_color"]) < 8
    assert 2 <= s.outline_width <= 4.5
    assert s.shadow is None

    shadowed = {
        "color": [250, 250, 250],
        "shadow_dx": 4.0,
        "shadow_dy": 3.0,
        "shadow_blur": 1.0,
        "shadow_opacity": 0.7,
    }
    image, quad, _ = factory_line(fonts, "noto-sans-sc", shadowed)
    # a grey surface: white text on it, its black shadow down and to the right
    s = ce.classical_edit(image, quad, TEXT_B, fonts, old_text=TEXT_A).style
    assert s.shadow is not None
    assert abs(s.shadow.dx - 4) <= 1.5 and abs(s.shadow.dy - 3) <= 1.5
    assert 0.4 < s.shadow.opacity <= 1.0


def test_no_shadow_is_found_on_a_plain_line(fonts):
    image, quad, _ = factory_line(fonts, "noto-serif-sc", {"color": [40, 40, 120]})
    assert ce.classical_edit(image, quad, TEXT_B, fonts, old_text=TEXT_A).style.shadow is None


def test_a_box_with_no_old_text_changes_only_b_and_its_effects(fonts):
    background = paper(3, grain=8.0)
    quad = np.array([[24, 20], [300, 20], [300, 88], [24, 88]], float)
    out = ce.classical_edit(background, quad, TEXT_B, fonts)
    assert not out.found_text
    changed = out.changed(grow=3)
    psnr = em.psnr_masked(out.image, background, ~changed)
    assert psnr >= 35  # inf; inpainting the whole box, as before, gave 34.7 dB here
    assert out.glyph.any()


def test_the_estimate_can_be_turned_off_or_a_face_given(fonts):
    image, quad, _ = factory_line(fonts, "arphic-ukai", {"color": [30, 30, 30]})
    off = ce.classical_edit(image, quad, TEXT_B, fonts, old_text=TEXT_A, font="off")
    assert (off.style.face, off.style.source) == (fonts.canonical().id, "default")
    given = ce.classical_edit(image, quad, TEXT_B, fonts, old_text=TEXT_A, font="noto-serif-sc")
    assert given.style.face == "noto-serif-sc"
    with pytest.raises(KeyError, match="no font 'nope'"):
        ce.classical_edit(image, quad, TEXT_B, fonts, font="nope")


def test_the_style_goes_to_json(fonts):
    image, quad, _ = factory_line(fonts, "noto-sans-sc", {"color": [30, 30, 30]})
    d = ce.classical_edit(image, quad, TEXT_B, fonts, old_text=TEXT_A).style.to_json()
    assert d["face"] == "noto-sans-sc"
    assert set(d) >= {"face", "fill", "weight_em", "outline", "shadow", "offset_px"}


def test_offset_coverage_moves_the_edge():
    cover = np.zeros((40, 40), np.uint8)
    cover[10:30, 16:24] = 255  # an 8 px bar
    thick = st.offset_coverage(cover, 2.0) >= 128
    thin = st.offset_coverage(cover, -2.0) >= 128
    assert (thick[20].sum(), thin[20].sum()) == (12, 4)


def test_stroke_width_of_bars():
    bars = np.zeros((200, 100), bool)
    bars[:, 10:16] = True  # 6 px
    narrow = np.zeros((200, 100), bool)
    narrow[:, 10:13] = True  # 3 px
    assert em.stroke_width(bars) == pytest.approx(6, rel=0.08)
    assert em.stroke_width(bars) / em.stroke_width(narrow) == pytest.approx(2, rel=0.08)
    assert np.isnan(em.stroke_width(np.zeros((5, 5), bool)))


def test_the_stroke_width_ratio_is_b_over_a():
    source = np.full((60, 100, 3), 230, np.uint8)
    output = source.copy()
    ink_a = np.zeros((60, 100), bool)
    ink_a[10:50, 20:24] = True  # A: 4 px
    source[ink_a] = 0
    output[10:50, 40:48] = 0  # B: 8 px
    quad = np.array([[5, 5], [95, 5], [95, 55], [5, 55]], float)
    assert em.stroke_width_ratio(output, source, quad, ink_a, (0, 0, 0)) == pytest.approx(
        2, rel=0.1
    )
    blank = source.copy()
    blank[ink_a] = 230
    assert np.isnan(em.stroke_width_ratio(blank, source, quad, ink_a, (0, 0, 0)))


def test_shadow_zone_and_effects_cover_what_is_painted():
    cover = np.zeros((40, 60), np.uint8)
    cover[10:20, 10:40] = 255
    s = st.TextStyle(face="x", fill=(0, 0, 0), shadow=st.Shadow(3, 2, 0.6, 1.0))
    painted = st.paint_styled(np.full((40, 60, 3), 200, np.uint8), cover, s)
    touched = (painted != 200).any(axis=2)
    assert not (touched & ~st.effects_mask(cover, s, grow=1)).any()
    assert cv2.countNonZero(st.shadow_zone(cover.shape, cover > 0, s.shadow).astype(np.uint8))


def test_strokes_are_told_from_a_plain_surface(fonts):
    quad = np.array([[24, 20], [300, 20], [300, 88], [24, 88]], float)
    region = ce.polygon_mask(quad, (H, W))
    cfg = ce.ClassicalConfig()
    assert not ce.has_strokes(paper(3, grain=8.0), region, 68, cfg)
    image, quad, _ = factory_line(fonts, "noto-sans-sc", {"color": [90, 80, 70]})
    assert ce.has_strokes(image, ce.polygon_mask(quad, (H, W)), 64, cfg)


def test_edge_blur_is_found_and_a_sharp_edge_has_none():
    cover = np.zeros((60, 80), np.float32)
    cover[15:45, 20:30] = 1.0  # a 10 px bar
    cover[15:45, 45:52] = 1.0
    assert st.edge_blur(cover) == 0.0
    blurred = cv2.GaussianBlur(cover, (0, 0), 1.5)
    assert st.edge_blur(blurred) == pytest.approx(1.5, abs=0.35)


def test_fill_shading_is_the_plane_through_the_core():
    yy, xx = np.mgrid[0:50, 0:90].astype(np.float32)
    image = np.stack([100 + 0.5 * xx, 100 - 0.2 * yy, 100 + 0 * xx], axis=2).astype(np.uint8)
    core = np.zeros((50, 90), bool)
    core[5:45:4, 5:85:3] = True
    s = st.fill_shading(image, core)
    assert s is not None
    assert s.dx[0] == pytest.approx(0.5, abs=0.02) and s.dy[1] == pytest.approx(-0.2, abs=0.02)
    field = s.field((120, 80, 100), (50, 90))
    assert field[int(s.y0), int(s.x0)] == pytest.approx([120, 80, 100], abs=1)
    assert st.fill_shading(image, np.zeros((50, 90), bool)) is None


def test_a_blurred_shaded_style_paints_inside_its_effects():
    cover = np.zeros((40, 60), np.uint8)
    cover[10:30, 20:28] = 255
    shading = st.Shading((2.0, 0.0, 0.0), (0.0, 0.0, 0.0), 24.0, 20.0)
    s = st.TextStyle(face="x", fill=(100, 0, 0), blur=1.5, shading=shading)
    painted = st.paint_styled(np.full((40, 60, 3), 255, np.uint8), cover, s)
    touched = (painted != 255).any(axis=2)
    assert not (touched & ~st.effects_mask(cover, s)).any()
    assert touched.sum() > (cover > 0).sum()  # the blur spreads B's edges
    assert painted[20, 21, 0] < painted[20, 26, 0]  # redder to the right
    assert s.to_json()["blur_px"] == 1.5 and s.to_json()["shading"]["per_px_x"][0] == 2.0


def test_a_blurred_line_is_drawn_blurred(fonts):
    image, quad, _ = factory_line(fonts, "noto-sans-sc", {"color": [30, 30, 30]})
    soft = cv2.GaussianBlur(image, (0, 0), 1.2)
    sharp = ce.classical_edit(image, quad, TEXT_B, fonts, old_text=TEXT_A).style
    blurred = ce.classical_edit(soft, quad, TEXT_B, fonts, old_text=TEXT_A).style
    # a crisp rendering fits a little blur (its anti-aliasing is more than ANTIALIAS)
    assert sharp.blur <= 0.5 and blurred.blur == pytest.approx(1.2, abs=0.4)
