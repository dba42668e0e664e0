"""What one rendered sample is, independent of how it is stored.

Every output format (``glyphgen.synth.writers``) is written from these records, so the
renderer never knows about files and the writers never know about rendering.

Coordinates are image pixels, x to the right and y down, floats. Quadrilaterals and
straight-line polygons list their points clockwise starting at the top-left corner of
the text as it reads (for rotated text, the corner where reading starts).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from glyphgen.synth.effects import decode, encode

Point = tuple[float, float]


@dataclass
class CharBox:
    char: str
    quad: list[Point]  # 4 points, clockwise from the top-left of the glyph's reading frame
    font: str  # id of the font face that drew this character (fallback chains differ per char)


@dataclass
class TextLine:
    text: str
    polygon: list[Point]  # 4 points for straight lines, 2k points for curved ones, clockwise
    chars: list[CharBox]  # one per character of ``text``, same order (spaces included)
    font: str  # id of the primary font face
    size: int  # font size in pixels (em size)
    color: tuple[int, int, int]  # RGB fill colour
    angle: float  # rotation of the reading direction, degrees counter-clockwise
    direction: str  # "horizontal" | "vertical"
    language: str = "Chinese"  # "Chinese" | "Latin" | "Mixed" (AnyWord-3M's field)


EDIT_FILES = ("source", "mask_a", "mask_b", "style_ref")  # an edit pair's images, by name


@dataclass
class EditInfo:
    """An edit pair: the sample's image shows text B; ``source`` is the same scene, drawn with
    the same style, background and effects, showing text A instead (or no text: a blank pair).
    The edited line is the sample's first; its polygon is the region to edit."""

    source: np.ndarray  # (H, W, 3) uint8 RGB: the scene with A (or without text)
    text_a: str  # "" for a blank pair
    mask_a: np.ndarray  # (H, W) uint8, 255 where A's ink (fill, stroke, shadow) changed pixels
    mask_b: np.ndarray  # (H, W) uint8, the same for B in the sample's image
    style: dict[str, Any]  # the edited line's fill, stroke and shadow, as drawn

    def style_ref(self, polygon: list[Point], margin: float = 0.15) -> np.ndarray:
        """A's region of the source, axis-aligned, with ``margin`` of its size around it: the
        style reference a user would crop."""
        xs = [x for x, _ in polygon]
        ys = [y for _, y in polygon]
        mx, my = margin * (max(xs) - min(xs)), margin * (max(ys) - min(ys))
        h, w = self.source.shape[:2]
        x0, x1 = max(0, int(min(xs) - mx)), min(w, int(np.ceil(max(xs) + mx)))
        y0, y1 = max(0, int(min(ys) - my)), min(h, int(np.ceil(max(ys) + my)))
        return self.source[y0:y1, x0:x1]


@dataclass
class Sample:
    index: int  # global sample index; the sample depends only on (config, seed, index)
    kind: str  # "line" (recognition crop) | "scene" (full image with regions)
    image: np.ndarray  # (H, W, 3) uint8 RGB, before the file encoding
    image_ext: str  # "jpg" | "png": how writers store it
    width: int
    height: int
    lines: list[TextLine]
    caption: str = ""  # short description of the scene, for text-to-image training
    glyph_image: np.ndarray | None = None  # (H, W) uint8: the text in the canonical font, on 0
    position_mask: np.ndarray | None = None  # (H, W) uint8: text-line polygons filled with 255
    meta: dict[str, Any] = field(default_factory=dict)  # every random choice, for replay
    jpeg_quality: int = 95  # the quality a "jpg" image is stored at (the JPEG effect's, if drawn)
    edit: EditInfo | None = None  # edit pairs (``edit.pairs``): the same scene with text A

    # Writers encode; trainers take the arrays. Each encoding happens at most once per sample,
    # however many formats are written.
    @functools.cached_property
    def image_bytes(self) -> bytes:
        return encode(self.image, self.image_ext, self.jpeg_quality)

    @functools.cached_property
    def glyph_png(self) -> bytes | None:
        return None if self.glyph_image is None else encode(self.glyph_image, "png", 0)

    @functools.cached_property
    def mask_png(self) -> bytes | None:
        return None if self.position_mask is None else encode(self.position_mask, "png", 0)

    @functools.cached_property
    def edit_pngs(self) -> dict[str, bytes]:
        """An edit pair's images as PNG, by the name of their folder / WebDataset suffix:
        ``source`` (the scene with A), ``mask_a``, ``mask_b``, ``style_ref`` (A's region)."""
        if self.edit is None:
            return {}
        e = self.edit
        arrays = (e.source, e.mask_a, e.mask_b, e.style_ref(self.lines[0].polygon))
        return {name: encode(a, "png", 0) for name, a in zip(EDIT_FILES, arrays, strict=True)}

    @property
    def pixels(self) -> np.ndarray:
        """The image as a reader of the stored file sees it: the array itself for PNG (lossless,
        nothing decoded), the decoded bytes for JPEG (its compression is part of the data)."""
        return self.image if self.image_ext == "png" else decode(self.image_bytes)

    @property
    def key(self) -> str:
        """File stem and WebDataset key: zero-padded index, no dots."""
        return f"{self.index:09d}"

    @property
    def text(self) -> str:
        """All text of the sample, lines joined by newlines (the recognition label for lines)."""
        return "\n".join(line.text for line in self.lines)
