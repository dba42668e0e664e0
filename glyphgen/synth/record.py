"""What one rendered sample is, independent of how it is stored.

Every output format (``glyphgen.synth.writers``) is written from these records, so the
renderer never knows about files and the writers never know about rendering.

Coordinates are image pixels, x to the right and y down, floats. Quadrilaterals and
straight-line polygons list their points clockwise starting at the top-left corner of
the text as it reads (for rotated text, the corner where reading starts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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


@dataclass
class Sample:
    index: int  # global sample index; the sample depends only on (config, seed, index)
    kind: str  # "line" (recognition crop) | "scene" (full image with regions)
    image: bytes  # encoded image bytes
    image_ext: str  # "jpg" | "png"
    width: int
    height: int
    lines: list[TextLine]
    caption: str = ""  # short description of the scene, for text-to-image training
    glyph_image: bytes | None = None  # PNG, L mode: the text in the canonical font, on black
    position_mask: bytes | None = None  # PNG, L mode: text-line polygons filled with 255
    meta: dict[str, Any] = field(default_factory=dict)  # every random choice, for replay

    @property
    def key(self) -> str:
        """File stem and WebDataset key: zero-padded index, no dots."""
        return f"{self.index:09d}"

    @property
    def text(self) -> str:
        """All text of the sample, lines joined by newlines (the recognition label for lines)."""
        return "\n".join(line.text for line in self.lines)
