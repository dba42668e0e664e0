"""One line of text fitted into a quad, for text the factory did not lay out: the quad
rectified into a crop (``window``: the line a rectangle ``fill`` of the crop's height,
centred; ``crop_size``), and the line drawn in the canonical font (per-character fallback
where it lacks a glyph) fitted into that rectangle (``draw_line``).

The glyph model's crops (training on annotated real images, whose JSON carries no glyph
image, and ``render``) and the classical edit's drawing of B share this code, so the model
sees at inference what it saw in training and the classical edit draws what the model's
control shows. Factory scenes bring their own glyph image, drawn the same way.
"""

from __future__ import annotations

import cv2
import numpy as np

from glyphgen.typeset import geometry as geo
from glyphgen.typeset.fonts import FontLibrary
from glyphgen.typeset.glyphs import GlyphCache
from glyphgen.typeset.layout import layout_block, paint


class UncoveredCharacters(ValueError):
    """The text has characters that no font covers (``chars``, sorted)."""

    def __init__(self, text: str, chars: list[str]) -> None:
        named = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in chars)
        super().__init__(f"no font covers {named} in {text!r}; change the text or add a font")
        self.text, self.chars = text, chars


def glyph_cache(fonts: FontLibrary) -> GlyphCache:
    return GlyphCache(lambda face_id, size: fonts.pil_font(fonts.face(face_id), size))


def line_faces(fonts: FontLibrary, text: str) -> list[str]:
    """The canonical face per character, else the first face that has it."""
    missing = fonts.uncovered(text)
    canon = fonts.canonical()
    if missing:
        raise UncoveredCharacters(text, sorted(missing))
    faces = []
    for ch in text:
        if ch.isspace() or ord(ch) in canon.coverage:
            faces.append(canon.id)
        else:
            faces.append(fonts.covering(ch)[0].id)
    return faces


def draw_line(
    text: str,
    rect: tuple[float, float, float, float],
    vertical: bool,
    out_size: tuple[int, int],
    fonts: FontLibrary,
    glyphs: GlyphCache,
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Lay ``text`` out in the canonical font, scaled to fit ``rect`` (x0, y0, x1, y1) and
    centred in it, on a black (H, W) = out_size[::-1] canvas.

    Returns (glyph uint8 (H, W), line polygon (4, 2), one quad (4, 2) per character), all
    in canvas pixels.
    """
    if not text.strip():
        raise ValueError("the text is empty")
    x0, y0, x1, y1 = rect
    across = (x1 - x0) if vertical else (y1 - y0)
    size = max(8, round(across * 0.9))
    block = layout_block(
        [text], [line_faces(fonts, text)], size, vertical, 0.05, 0.3, "start", glyphs
    )
    line = block.lines[0]
    bx0, by0, bx1, by1 = geo.bounds(line.polygon)
    k = min((x1 - x0) / (bx1 - bx0), (y1 - y0) / (by1 - by0))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    h = (
        geo.translation(cx, cy)
        @ geo.scaling(k)
        @ geo.translation(-(bx0 + bx1) / 2, -(by0 + by1) / 2)
    )
    glyph = paint(block, h, out_size)
    quads = [geo.apply(h, p.quad) for p in line.placements]
    return glyph, geo.apply(h, line.polygon), quads


def crop_size(height: int, vertical: bool, length: float, multiple: int = 8) -> tuple[int, int]:
    """(W, H) of a crop ``height`` across and at least ``length`` along, in multiples."""
    along = max(height, int(np.ceil(length / multiple)) * multiple)
    return (height, along) if vertical else (along, height)


def window(
    polygon: np.ndarray, vertical: bool, height: int, fill: float, fixed_length: int | None
) -> tuple[np.ndarray, tuple[float, float, float, float], float]:
    """Homography from image to crop for a line quadrilateral.

    The line (reading length L, height A) becomes a rectangle ``fill * height`` high,
    centred in the crop. With ``fixed_length`` the crop is that long and the line is
    shrunk if it would not fit; otherwise the crop is as long as the line needs.
    Returns (3x3 matrix, the line's rectangle in the crop, the crop length needed).
    """
    p = np.asarray(polygon, np.float64)
    ab, ad = float(np.linalg.norm(p[1] - p[0])), float(np.linalg.norm(p[3] - p[0]))
    length, across = (ad, ab) if vertical else (ab, ad)
    k = fill * height / max(across, 1e-6)  # image px -> crop px
    margin = (1 - fill) * height / 2  # the same margin along and across
    need = length * k + 2 * margin
    if fixed_length is not None and need > fixed_length:
        k *= (fixed_length - 2 * margin) / (length * k)
        need = fixed_length
    total = float(fixed_length) if fixed_length is not None else need
    a, b = length * k, across * k  # line rectangle, along x across
    s0 = (total - a) / 2  # start along
    c0 = (height - b) / 2  # start across
    # a column has x across and y along
    rect = (c0, s0, c0 + b, s0 + a) if vertical else (s0, c0, s0 + a, c0 + b)
    x0, y0, x1, y1 = rect
    dst = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)
    m = cv2.getPerspectiveTransform(p.astype(np.float32), dst)
    return m, rect, need
