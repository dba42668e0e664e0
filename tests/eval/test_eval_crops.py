"""Cropping: perspective rectification, curved lines, vertical columns, bad polygons."""

import cv2
import numpy as np
import pytest

from glyphgen.eval.annotations import Region
from glyphgen.eval.config import CropConfig
from glyphgen.eval.crops import CropError, crop_region, load_image

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)
NO_PAD = CropConfig(pad=0.0)


def _banner(width=300, height=60):
    """A horizontal banner: red left third, green middle, blue right third."""
    img = np.zeros((height, width, 3), np.uint8)
    img[:, : width // 3] = RED
    img[:, width // 3 : 2 * width // 3] = GREEN
    img[:, 2 * width // 3 :] = BLUE
    return img


def _paste_rotated(banner, angle, canvas=(500, 500)):
    """Rotate the banner by ``angle`` degrees (counter-clockwise) onto a white canvas;
    return the image and the banner's corners (TL, TR, BR, BL of the banner's own frame)."""
    h, w = banner.shape[:2]
    cw, ch = canvas
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    m[:, 2] += (cw / 2 - w / 2, ch / 2 - h / 2)
    img = cv2.warpAffine(banner, m, canvas, flags=cv2.INTER_NEAREST, borderValue=WHITE)
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
    return img, (np.c_[corners, np.ones(4)] @ m.T).tolist()


def _colour(img, x_frac, y_frac=0.5):
    h, w = img.shape[:2]
    return tuple(int(v) for v in img[int(h * y_frac), int(w * x_frac)])


@pytest.mark.parametrize("angle", [0, 30, -60, 180])
def test_rotated_quad_comes_out_upright_and_in_reading_order(angle):
    img, quad = _paste_rotated(_banner(), angle)
    line = crop_region(img, Region("x", [tuple(p) for p in quad], direction="horizontal"), NO_PAD)
    assert abs(line.shape[1] - 300) <= 2 and abs(line.shape[0] - 60) <= 2
    assert (
        _colour(line, 0.15) == RED and _colour(line, 0.5) == GREEN and _colour(line, 0.85) == BLUE
    )


def test_padding_adds_context_in_line_heights():
    img = np.full((200, 400, 3), 255, np.uint8)
    quad = [(100, 80), (300, 80), (300, 120), (100, 120)]  # 200 x 40
    line = crop_region(img, Region("x", quad), CropConfig(pad=0.25))
    assert line.shape[:2] == (40 + 2 * 10, 200 + 2 * 10)  # 0.25 x 40 px on every side


def test_curved_polygon_is_unrolled():
    # An arch: top edge of 5 points left to right, bottom edge right to left (2k = 10 points).
    img = np.full((300, 600, 3), 255, np.uint8)
    xs = np.linspace(100, 500, 5)
    top = [(x, 100 + 0.002 * (x - 300) ** 2) for x in xs]
    bottom = [(x, y + 50) for x, y in top][::-1]
    poly = np.array(top + bottom, np.int32)
    cv2.fillPoly(img, [poly[:, None, :]], (0, 0, 0))
    first = np.array([poly[0], poly[1], poly[-2], poly[-1]], np.int32)
    cv2.fillPoly(img, [first[:, None, :]], RED)  # the first of four segments is red
    line = crop_region(img, Region("x", [tuple(map(float, p)) for p in top + bottom]), NO_PAD)
    assert line.shape[0] == 50  # mean rib length
    assert line.shape[1] >= 400  # the arch is longer than its chord
    assert _colour(line, 0.05) == RED and _colour(line, 0.6) == (0, 0, 0)


def test_vertical_column_is_rotated_counter_clockwise():
    # A column: red at the top, blue at the bottom. Reading goes top-down, so after the
    # rotation the red end must be on the left.
    col = np.zeros((300, 60, 3), np.uint8)
    col[:100], col[100:200], col[200:] = RED, GREEN, BLUE
    quad = [(0, 0), (60, 0), (60, 300), (0, 300)]
    for direction in ("vertical", None):
        line = crop_region(col, Region("x", quad, direction=direction), NO_PAD)
        assert line.shape[:2] == (60, 300)
        assert _colour(line, 0.1) == RED and _colour(line, 0.9) == BLUE
    # a column annotated as horizontal is left alone
    assert crop_region(col, Region("x", quad, direction="horizontal"), NO_PAD).shape[:2] == (
        300,
        60,
    )


def test_vertical_column_by_character_quads():
    col = np.zeros((300, 60, 3), np.uint8)
    col[:100], col[100:200], col[200:] = RED, GREEN, BLUE
    quads = [
        [(0, 100 * i), (60, 100 * i), (60, 100 * i + 100), (0, 100 * i + 100)] for i in range(3)
    ]
    region = Region(
        "abc", [(0, 0), (60, 0), (60, 300), (0, 300)], direction="vertical", char_quads=quads
    )
    line = crop_region(col, region, CropConfig(pad=0.0, vertical="chars"))
    assert line.shape[:2] == (100, 180)  # three 60 x 100 cells side by side
    assert _colour(line, 0.1) == RED and _colour(line, 0.5) == GREEN and _colour(line, 0.9) == BLUE


def test_polygons_scale_with_the_image():
    img = np.full((100, 200, 3), 255, np.uint8)
    img[20:40, 20:180] = RED
    region = Region("x", [(10, 10), (90, 10), (90, 20), (10, 20)])  # annotated at 100 x 50
    line = crop_region(img, region, NO_PAD, annotated_size=(100, 50))
    assert line.shape[:2] == (20, 160) and _colour(line, 0.5) == RED


def test_bad_polygons_raise_with_their_kind():
    img = np.zeros((100, 100, 3), np.uint8)
    cases = [
        ([(1, 1), (5, 5)], "bad-polygon"),  # two points
        ([(1, 1), (5, 5), (9, 9), (13, 13)], "bad-polygon"),  # zero area
        ([(150, 10), (190, 10), (190, 30), (150, 30)], "polygon-outside"),  # right of the image
        (
            [(-30, 10), (40, 10), (40, 30), (-30, 30)],
            "polygon-outside",
        ),  # sticks out 30 px > 0.25 x 20
    ]
    for polygon, kind in cases:
        with pytest.raises(CropError) as err:
            crop_region(img, Region("x", polygon))
        assert err.value.kind == kind, polygon
    # a polygon a little outside (4 px, tolerance 0.25 x 20 px = 5 px) is fine
    crop_region(img, Region("x", [(-4, 10), (40, 10), (40, 30), (-4, 30)]))


def test_load_image_reasons(tmp_path):
    with pytest.raises(CropError) as err:
        load_image(tmp_path / "missing.png")
    assert err.value.kind == "missing-image"
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(CropError) as err:
        load_image(tmp_path / "broken.png")
    assert err.value.kind == "unreadable-image"
    rgba = np.zeros((4, 4, 4), np.uint8)  # fully transparent: composited onto white
    cv2.imwrite(str(tmp_path / "alpha.png"), rgba)
    assert load_image(tmp_path / "alpha.png").min() == 255
