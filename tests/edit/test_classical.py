"""The classical text edit on synthetic regions: text A in a known colour on a known
background, replaced by text B."""

import cv2
import numpy as np
import pytest

from glyphgen.edit import classical as ce
from glyphgen.eval import edit_metrics as em
from glyphgen.typeset.line import UncoveredCharacters

H, W = 80, 260
QUAD = np.array([[20, 12], [240, 12], [240, 68], [20, 68]], float)
TEXT_A, TEXT_B = "北京大学", "上海东路"  # no character in common
RED = (180, 30, 40)


def gradient() -> np.ndarray:
    """A warm paper gradient, left to right: (H, W, 3) uint8."""
    t = np.linspace(0, 1, W)[None, :, None]
    row = (1 - t) * np.array([200, 190, 170]) + t * np.array([235, 230, 215])
    return np.round(row).repeat(H, axis=0).astype(np.uint8)


def with_text(background, fonts, colours, text=TEXT_A, quad=QUAD):
    """``text`` drawn into ``quad`` of ``background``; returns (image, A's coverage)."""
    cover = ce.draw_text(quad, text, False, background.shape[:2], fonts)
    return ce.paint(background, cover, colours), cover


def delta_e(rgb1, rgb2) -> float:
    return float(em.ciede2000(em.srgb_to_lab(np.array(rgb1)), em.srgb_to_lab(np.array(rgb2))))


@pytest.fixture(scope="module")
def judge():
    from glyphgen.eval.backends import BackendUnavailable, create_backend

    try:
        return create_backend("rapidocr")
    except BackendUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def edited(fonts):
    background = gradient()
    image, cover_a = with_text(background, fonts, ce.TextColours(RED))
    # font="off": B in the canonical font, laid out as A was (draw_text), so the ground
    # truth below is B drawn where A was; tests/edit/test_style.py covers A's own style.
    return background, image, cover_a, ce.classical_edit(image, QUAD, TEXT_B, fonts, font="off")


def test_the_old_text_is_erased_down_to_the_background(edited):
    background, _, cover_a, out = edited
    # A's pixels that B does not cover (B's glyph grown by 2 px, its anti-aliased fringe).
    b_zone = cv2.dilate((out.glyph > 0).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    old = (cover_a > 0) & ~b_zone
    assert old.sum() > 300  # the two texts differ enough for this to test something
    err = np.abs(out.image[old].astype(int) - background[old].astype(int))
    assert err.mean() < 2.0  # measured 0.89 (Telea over A's pixels grown by 2 px)
    assert err.max() <= 8  # measured 4
    assert out.found_text
    # Away from both texts the image is untouched.
    far = ~cv2.dilate(((cover_a > 0) | b_zone).astype(np.uint8), np.ones((9, 9), np.uint8)).astype(
        bool
    )
    assert np.array_equal(out.image[far], background[far])


def test_the_text_colour_is_read_from_the_region(edited):
    *_, out = edited
    assert out.colour_source == "region"
    assert out.colours.stroke is None
    assert delta_e(out.colours.text, RED) < 5  # measured 0.0


def test_b_is_painted_in_the_estimated_colour(edited):
    *_, out = edited
    core = out.glyph == 255
    assert core.sum() > 300
    painted = em.ciede2000(em.mean_lab(out.image, core), em.srgb_to_lab(np.array(RED)))
    assert painted < 1  # full coverage is the colour itself, up to rounding to uint8


def test_ocr_reads_b_and_nothing_of_a(edited, judge):
    _, image, _, out = edited
    box = (slice(8, 72), slice(14, 246))
    before, after = judge.recognize([image[box], out.image[box]])
    assert before.text == TEXT_A  # the judge can read A, so reading none of it means something
    residue = em.old_text_residue(after.text, TEXT_A, TEXT_B)
    assert (residue.residue, residue.old_chars) == (False, 0)
    assert after.text == TEXT_B


def test_scored_against_the_ground_truth(edited, fonts, judge):
    background, _, _, out = edited
    glyph_b = ce.draw_text(QUAD, TEXT_B, False, (H, W), fonts)
    truth = ce.paint(background, glyph_b, ce.TextColours(RED))  # B drawn where A was
    reading = judge.recognize([out.image[8:72, 14:246]])[0].text
    f = em.edit_figures(out.image, truth, QUAD, glyph_b, TEXT_A, TEXT_B, reading)
    # Measured: colour error 0.02, PSNR 50.7 dB, SSIM 0.9991, background PSNR 51.6 dB,
    # seam 0.01, cast 0.003.
    assert f.colour_error < 1
    assert f.psnr > 40
    assert f.ssim > 0.99
    assert f.background_psnr > 40
    assert abs(f.seam) < 1
    assert abs(f.cast) < 1
    assert not f.residue.residue


def test_the_input_image_is_not_modified(fonts):
    image, _ = with_text(gradient(), fonts, ce.TextColours(RED))
    before = image.copy()
    ce.classical_edit(image, QUAD, TEXT_B, fonts)
    assert np.array_equal(image, before)


def test_an_outlined_text_gives_fill_and_stroke_colours(fonts):
    rng = np.random.default_rng(0)
    noisy = np.full((H, W, 3), (90, 110, 140), float) + rng.normal(0, 4, (H, W, 3))
    background = np.clip(noisy, 0, 255).astype(np.uint8)
    yellow, black = (250, 240, 60), (20, 20, 20)
    image, _ = with_text(background, fonts, ce.TextColours(yellow, black, 2))
    out = ce.classical_edit(image, QUAD, TEXT_B, fonts)
    assert out.colours.stroke is not None
    assert delta_e(out.colours.text, yellow) < 5  # measured 0.0
    # The ring is 2 px, mostly blends with the fill or the background; its purest quarter
    # gives (27, 27, 23), dE00 3.6 (its plain median gave (41, 43, 43), dE00 12).
    assert delta_e(out.colours.stroke, black) < 5
    assert 1 <= out.colours.stroke_width <= 4  # measured 1.9


def test_no_text_leaves_the_box_alone_and_falls_back_to_contrast(fonts):
    background = gradient()
    out = ce.classical_edit(background, QUAD, TEXT_B, fonts)
    assert not out.found_text
    assert not out.text_mask.any()
    assert not out.erased.any()  # nothing to erase: only B's ink changes the box
    assert out.colour_source == "contrast"
    assert out.colours.text == (0, 0, 0)  # a light background gets black


def test_given_colours_and_a_style_reference_override_the_region(fonts):
    image, _ = with_text(gradient(), fonts, ce.TextColours(RED))
    blue = (30, 60, 200)
    given = ce.classical_edit(image, QUAD, TEXT_B, fonts, colours=ce.TextColours(blue))
    assert (given.colour_source, given.colours.text) == ("given", blue)
    # A style reference: green text on white, cut as a crop.
    green = (20, 140, 60)
    ref, _ = with_text(
        np.full((60, 200, 3), 255, np.uint8),
        fonts,
        ce.TextColours(green),
        text="样式",
        quad=np.array([[10, 8], [190, 8], [190, 52], [10, 52]], float),
    )
    styled = ce.classical_edit(image, QUAD, TEXT_B, fonts, style_ref=ref)
    assert styled.colour_source == "style reference"
    assert delta_e(styled.colours.text, green) < 5


def test_a_vertical_column(fonts):
    background = np.full((260, 80, 3), (240, 236, 228), np.uint8)
    quad = np.array([[12, 20], [68, 20], [68, 240], [12, 240]], float)
    cover = ce.draw_text(quad, TEXT_A, True, (260, 80), fonts)
    image = ce.paint(background, cover, ce.TextColours((10, 10, 10)))
    out = ce.classical_edit(image, quad, TEXT_B, fonts, vertical=True)
    assert out.found_text
    # B's glyph stands in the column: taller than wide.
    ys, xs = np.nonzero(out.glyph)
    assert (ys.max() - ys.min()) > 3 * (xs.max() - xs.min())


def test_b_stays_inside_a_tilted_quad(fonts):
    background = gradient()
    # A quad tilted by about 6 degrees, its right end raised.
    quad = np.array([[24, 40], [236, 18], [241, 66], [29, 88 - 10]], float)
    image, cover_a = with_text(background, fonts, ce.TextColours(RED), quad=quad)
    out = ce.classical_edit(image, quad, TEXT_B, fonts)
    assert out.found_text
    inside = cv2.dilate(
        ce.polygon_mask(quad, (H, W)).astype(np.uint8), np.ones((3, 3), np.uint8)
    ).astype(bool)
    assert out.glyph.any()
    assert not out.glyph[~inside].any()
    # A's pixels are all among those found (the fringe below half coverage aside).
    assert out.text_mask[cover_a >= 128].mean() > 0.99


def test_bad_inputs_are_refused_by_name(fonts):
    image = gradient()
    with pytest.raises(ValueError, match="reaches outside"):
        ce.classical_edit(image, QUAD + np.array([300, 0]), TEXT_B, fonts)
    with pytest.raises(ValueError, match="4 points"):
        ce.classical_edit(image, QUAD[:3], TEXT_B, fonts)
    with pytest.raises(ValueError, match="empty"):
        ce.classical_edit(image, QUAD, "  ", fonts)
    with pytest.raises(UncoveredCharacters, match=r"U\+E000"):
        ce.classical_edit(image, QUAD, "\ue000", fonts)
    with pytest.raises(ValueError, match="unknown inpaint method 'fmm'"):
        ce.ClassicalConfig(inpaint="fmm")
    with pytest.raises(ValueError, match="clusters must be 2 or 3"):
        ce.ClassicalConfig(clusters=4)
