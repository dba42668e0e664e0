"""Where A's glyphs stand in their cells (``glyphgen.edit.cells``), and B drawn there: A's
lines are drawn as the factory lays a line out, then each glyph shrunk or grown about its
ink's centre and moved across the line by a known amount, as another face would draw it."""

import numpy as np
import pytest

from glyphgen.edit import cells
from glyphgen.edit import classical as ce
from glyphgen.synth.style import composite
from glyphgen.typeset import geometry as geo
from glyphgen.typeset.layout import Block, Line, layout_block, paint
from glyphgen.typeset.line import glyph_cache

SIZE = 64
TEXT_A, TEXT_B = "北京大学", "上海东路"
FACE = "noto-sans-sc"


def moved_glyphs(block: Block, scale: float, down: float) -> Block:
    """Each glyph of ``block`` scaled by ``scale`` about the middle of its ink's bounding
    box and moved ``down`` em across the line (down a horizontal line, left of a column)."""
    line = block.lines[0]
    vertical = line.direction == "vertical"
    moved = []
    for p in line.placements:
        ys, xs = np.nonzero(p.bitmap)
        cx = (xs.min() + xs.max() + 1) / 2 + p.to_layout[0, 2]
        cy = (ys.min() + ys.max() + 1) / 2 + p.to_layout[1, 2]
        dx, dy = (-down * SIZE, 0.0) if vertical else (0.0, down * SIZE)
        m = geo.translation(cx + dx, cy + dy) @ geo.scaling(scale) @ geo.translation(-cx, -cy)
        moved.append(p.transformed(m))
    return Block(
        [Line(line.text, line.direction, moved, line.polygon)],
        block.size,
        block.width,
        block.height,
        False,
    )


def drawn(fonts, text, vertical=False, scale=1.0, down=0.0, spacing=0.05):
    """``text`` in FACE at SIZE px at (30, 24) of a light page, its glyphs moved by
    ``moved_glyphs``: (image, the line's quad, the coverage)."""
    block = layout_block(
        [text], [[FACE] * len(text)], SIZE, vertical, spacing, 0, "start", glyph_cache(fonts)
    )
    h = geo.translation(30, 24)
    cover = paint(moved_glyphs(block, scale, down), h, (340, 340))
    img = np.full((340, 340, 3), 225, np.float32)
    composite(img, cover, {"color": [20, 20, 20]})
    return np.round(img).astype(np.uint8), geo.apply(h, block.lines[0].polygon), cover


def heights(cover: np.ndarray, quad: np.ndarray, n: int, vertical=False) -> np.ndarray:
    """Per character cell of the quad (an axis-aligned line), the ink's extent across
    (first and last row / column with ink): (n, 2) px."""
    x0, y0, x1, y1 = geo.bounds(quad)
    ink = cover >= 128
    out = []
    for k in range(n):
        if vertical:
            a, b = y0 + k * (y1 - y0) / n, y0 + (k + 1) * (y1 - y0) / n
            cols = np.nonzero(ink[round(a) : round(b)].any(axis=0))[0]
        else:
            a, b = x0 + k * (x1 - x0) / n, x0 + (k + 1) * (x1 - x0) / n
            cols = np.nonzero(ink[:, round(a) : round(b)].any(axis=1))[0]
        out.append((cols.min(), cols.max()))
    return np.array(out, float)


@pytest.mark.parametrize("vertical", [False, True])
def test_a_known_glyph_size_and_centre_line_are_measured(fonts, vertical):
    glyphs = glyph_cache(fonts)
    block = layout_block([TEXT_A], [[FACE] * 4], SIZE, vertical, 0.05, 0, "start", glyphs)
    face = paint(block, np.eye(3), (block.width, block.height)) >= 128
    a = paint(moved_glyphs(block, 0.8, 0.06), np.eye(3), (block.width, block.height)) >= 128
    fit = cells.measure(a, face, block.lines[0], SIZE, vertical)
    assert fit.cells == 4
    assert fit.scale_along == pytest.approx(0.8, abs=0.03)
    assert fit.scale_across == pytest.approx(0.8, abs=0.03)
    # moved down a row, left a column: across is y for a row, x for a column (to the left)
    assert fit.shift_across == pytest.approx(-0.06 if vertical else 0.06, abs=0.01)


def test_the_same_glyphs_measure_as_the_identity(fonts):
    glyphs = glyph_cache(fonts)
    block = layout_block([TEXT_A], [[FACE] * 4], SIZE, False, 0.05, 0, "start", glyphs)
    face = paint(block, np.eye(3), (block.width, block.height)) >= 128
    fit = cells.measure(face, face, block.lines[0], SIZE, False)
    assert (fit.scale_along, fit.scale_across, fit.shift_across, fit.cells) == (1, 1, 0, 4)
    assert cells.measure(np.zeros_like(face), face, block.lines[0], SIZE, False).cells == 0


@pytest.mark.parametrize("vertical", [False, True])
def test_b_is_drawn_at_a_s_glyph_size_and_centre_line(fonts, vertical):
    """A's glyphs 0.8 of the face's, a twentieth of an em off the middle: B, drawn in the
    same face, stands in its cells as the same recipe would draw it, within a pixel or two,
    where the face's own placement is 6-7 px off at each end."""
    image, quad, _ = drawn(fonts, TEXT_A, vertical, scale=0.8, down=0.05)
    out = ce.classical_edit(
        image, quad, TEXT_B, fonts, vertical=vertical, old_text=TEXT_A, font=FACE
    )
    assert out.style.cells is not None and out.style.cells.cells == 4
    _, _, truth = drawn(fonts, TEXT_B, vertical, scale=0.8, down=0.05)
    _, _, plain = drawn(fonts, TEXT_B, vertical)
    got, want = heights(out.glyph, quad, 4, vertical), heights(truth, quad, 4, vertical)
    assert np.abs(got - want).max() <= 2.5
    assert np.abs(heights(plain, quad, 4, vertical) - want).max() >= 5  # what was fixed


def test_without_old_text_b_keeps_the_layout(fonts):
    image, quad, _ = drawn(fonts, TEXT_A, scale=0.8, down=0.05)
    out = ce.classical_edit(image, quad, TEXT_B, fonts, font=FACE)
    assert out.style.cells is None
    assert "cells" in out.style.to_json()


def test_a_fit_that_takes_ink_out_of_the_quad_is_not_applied(fonts):
    from glyphgen.edit import style as st

    quad = geo.rect(30, 24, 30 + 4 * SIZE, 24 + SIZE)
    faces = [FACE] * 4
    glyphs = glyph_cache(fonts)
    plain = st.draw_in_face(TEXT_B, faces, quad, False, (340, 340), glyphs, 0.0)[0]
    low = cells.CellFit(shift_across=0.2, cells=4)  # a fifth of an em down: out of the cells
    assert np.array_equal(
        st.draw_in_face(TEXT_B, faces, quad, False, (340, 340), glyphs, 0.0, low)[0], plain
    )
    small = cells.CellFit(scale_along=0.8, scale_across=0.8, cells=4)
    assert not np.array_equal(
        st.draw_in_face(TEXT_B, faces, quad, False, (340, 340), glyphs, 0.0, small)[0], plain
    )
