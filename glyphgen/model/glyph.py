"""Glyph control images for text the factory did not lay out: a line of text in the
canonical font (per-character fallback where it lacks a glyph), fitted into a rectangle.

Used by ``render`` (the user's region) and by training on annotated real images (AnyWord
JSON carries no glyph image). Factory scenes bring their own glyph image, drawn the same way.
"""

from __future__ import annotations

import numpy as np

from glyphgen.typeset import geometry as geo
from glyphgen.typeset.fonts import FontLibrary
from glyphgen.typeset.glyphs import GlyphCache
from glyphgen.typeset.layout import layout_block, paint


class UncoveredCharacters(ValueError):
    """The text has characters that no font covers."""


def glyph_cache(fonts: FontLibrary) -> GlyphCache:
    return GlyphCache(lambda face_id, size: fonts.pil_font(fonts.face(face_id), size))


def line_faces(fonts: FontLibrary, text: str) -> list[str]:
    """The canonical face per character, else the first face that has it."""
    missing = fonts.uncovered(text)
    canon = fonts.canonical()
    if missing:
        raise UncoveredCharacters(
            f"no font covers {', '.join(f'{c!r} (U+{ord(c):04X})' for c in sorted(missing))} "
            f"in {text!r}; add a font folder that has them (--font-dir) or change the text"
        )
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
