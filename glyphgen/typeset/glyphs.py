"""Glyph bitmaps, cached per (font face, size, character), with exact ink extents.

A glyph is drawn once by FreeType (through Pillow) and reused: line layouts then only
paste numpy arrays, which is what makes the factory fast.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont


@dataclass(frozen=True)
class Glyph:
    bitmap: np.ndarray  # (h, w) uint8 ink coverage; (0, 0) for blank glyphs such as spaces
    left: int  # x of the bitmap's left column relative to the pen position
    top: int  # y of the bitmap's top row relative to the baseline (negative: above it)
    advance: float  # horizontal advance in pixels

    @property
    def has_ink(self) -> bool:
        return self.bitmap.size > 0 and bool(self.bitmap.any())


FontGetter = Callable[[str, int], ImageFont.FreeTypeFont]  # (face id, size) -> font


class GlyphCache:
    """LRU cache of rendered glyphs; one per worker process. Bounded in bitmap bytes as well
    as in items: 40,000 glyphs of 72 px are 150 MB, of 435 px (a 512 px line) 7 GB."""

    def __init__(
        self, font_getter: FontGetter, max_items: int = 40_000, max_bytes: int = 256 << 20
    ):
        self._font = font_getter
        self._items: OrderedDict[tuple[str, int, str], Glyph] = OrderedDict()
        self._max = max_items
        self._max_bytes = max_bytes
        self._bytes = 0

    def get(self, face_id: str, size: int, char: str) -> Glyph:
        key = (face_id, size, char)
        glyph = self._items.get(key)
        if glyph is not None:
            self._items.move_to_end(key)
            return glyph
        glyph = render_glyph(self._font(face_id, size), char)
        self._items[key] = glyph
        self._bytes += glyph.bitmap.nbytes
        while len(self._items) > 1 and (
            len(self._items) > self._max or self._bytes > self._max_bytes
        ):
            _, dropped = self._items.popitem(last=False)
            self._bytes -= dropped.bitmap.nbytes
        return glyph


def render_glyph(font: ImageFont.FreeTypeFont, char: str) -> Glyph:
    advance = float(font.getlength(char))
    x0, y0, x1, y1 = (int(v) for v in font.getbbox(char, anchor="ls"))
    if x1 <= x0 or y1 <= y0:
        return Glyph(np.zeros((0, 0), np.uint8), 0, 0, advance)
    img = Image.new("L", (x1 - x0, y1 - y0), 0)
    ImageDraw.Draw(img).text((-x0, -y0), char, font=font, fill=255, anchor="ls")
    bitmap = np.asarray(img)
    # Trim to the exact ink so character boxes are tight and ink checks are exact.
    rows = np.flatnonzero(bitmap.any(axis=1))
    cols = np.flatnonzero(bitmap.any(axis=0))
    if rows.size == 0:
        return Glyph(np.zeros((0, 0), np.uint8), 0, 0, advance)
    bitmap = np.ascontiguousarray(bitmap[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])
    return Glyph(bitmap, x0 + int(cols[0]), y0 + int(rows[0]), advance)
