"""Text layout: where each glyph goes, in a local "layout frame" before any rotation.

Pure geometry over cached glyph bitmaps. A ``Block`` holds one or more lines; each glyph
is a ``Placement``: its bitmap and the 3x3 matrix that maps bitmap pixels into the layout
frame (a translation for straight text, rotation + translation on arcs, a quarter turn for
vertical brackets). The renderer composes that matrix with the region's homography.

Vertical text (top-to-bottom columns, right to left) follows mainland typesetting:
hanzi upright; brackets, dashes and ellipses turned a quarter clockwise; the small marks
，。、 moved from the bottom-left to the top-right of their square.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from glyphgen.typeset import geometry as geo
from glyphgen.typeset.glyphs import Glyph, GlyphCache

# The ideographic em box: 0.88 em above the baseline, 0.12 below (as in Noto/Source Han).
ASCENT = 0.88

VERTICAL_ROTATED = set("（）()《》〈〉<>【】「」『』〔〕［］[]｛｝{}—–-―…～~＿_")
VERTICAL_TOP_RIGHT = set("，。、．,.")


@dataclass
class Placement:
    char: str
    face_id: str
    bitmap: np.ndarray  # (h, w) uint8
    to_layout: np.ndarray  # 3x3: bitmap pixel (x, y) -> layout frame
    cell: np.ndarray  # 4x2 reading cell (em square or advance box) in the layout frame
    quad: np.ndarray  # 4x2 character box in the layout frame: contains the cell and the ink
    rule: str  # "upright" | "rotated" | "top-right": how the glyph sits in its cell

    def transformed(self, m: np.ndarray) -> Placement:
        """The same glyph moved by the 3x3 matrix ``m`` (layout frame to layout frame)."""
        return Placement(
            self.char,
            self.face_id,
            self.bitmap,
            m @ self.to_layout,
            geo.apply(m, self.cell),
            geo.apply(m, self.quad),
            self.rule,
        )


@dataclass
class Line:
    text: str
    direction: str  # "horizontal" | "vertical"
    placements: list[Placement]
    polygon: np.ndarray  # (k, 2) clockwise from the top-left where reading starts


@dataclass
class Block:
    lines: list[Line]
    size: int  # font size (em) in pixels
    width: int = 0  # layout canvas, after shifting everything to positive coordinates
    height: int = 0
    straight: bool = True  # every placement is an integer translation (fast path)
    meta: dict = field(default_factory=dict)


def _ink_quad(glyph: Glyph, to_layout: np.ndarray) -> np.ndarray | None:
    if not glyph.has_ink:
        return None
    h, w = glyph.bitmap.shape
    # One pixel of margin: antialiased edges and resampling spill that far at most.
    return geo.apply(to_layout, geo.rect(-1, -1, w + 1, h + 1))


def _union_quad(a: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    if b is None:
        return a
    x0, y0, x1, y1 = geo.bounds(np.vstack([a, b]))
    return geo.rect(x0, y0, x1, y1)


def place_glyph(
    char: str, glyph: Glyph, face_id: str, origin: tuple[float, float], size: int, vertical: bool
) -> Placement:
    """Put ``glyph`` in the cell whose top-left is ``origin`` (integer pixels)."""
    ox, oy = origin
    baseline = round(ASCENT * size)
    adv = max(1, round(glyph.advance))
    if not vertical:
        cell = geo.rect(ox, oy, ox + adv, oy + size)
        to_layout = geo.translation(ox + glyph.left, oy + baseline + glyph.top)
        rule = "upright"
    elif char in VERTICAL_ROTATED:
        # Turn the horizontal cell (adv x size) a quarter clockwise: it becomes size x adv,
        # and a point (x, y) of the old cell lands on (size - y, x). The bitmap is turned
        # with np.rot90 below, so only its new top-left corner is needed here.
        h = glyph.bitmap.shape[0]
        cell = geo.rect(ox, oy, ox + size, oy + adv)
        to_layout = geo.translation(ox + size - (baseline + glyph.top + h), oy + glyph.left)
        rule = "rotated"
    elif char in VERTICAL_TOP_RIGHT:
        shift = size // 2
        cell = geo.rect(ox, oy, ox + size, oy + size)
        to_layout = geo.translation(ox + glyph.left + shift, oy + baseline + glyph.top - shift)
        rule = "top-right"
    else:
        cell = geo.rect(ox, oy, ox + size, oy + size)
        to_layout = geo.translation(ox + (size - adv) // 2 + glyph.left, oy + baseline + glyph.top)
        rule = "upright"
    bitmap = np.rot90(glyph.bitmap, k=-1) if rule == "rotated" else glyph.bitmap
    quad = _union_quad(cell, _ink_quad(Glyph(bitmap, 0, 0, 0), to_layout))
    return Placement(char, face_id, bitmap, to_layout, cell, quad, rule)


def cell_extent(char: str, glyph: Glyph, size: int, vertical: bool) -> int:
    """Length of the cell along the reading direction."""
    adv = max(1, round(glyph.advance))
    if not vertical or char in VERTICAL_ROTATED:
        return adv
    return size


def layout_line(
    text: str,
    faces: list[str],
    size: int,
    vertical: bool,
    spacing: float,
    glyphs: GlyphCache,
    origin: tuple[int, int] = (0, 0),
    advance_faces: list[str] | None = None,
) -> Line:
    """One straight line (or column) starting at ``origin``; ``faces`` gives a face per char.

    ``advance_faces`` (default: ``faces``) decides the cells: drawing the same text in another
    font with the first font's cells gives the glyph-control image its exact geometry.
    """
    placements = []
    pen = 0
    gap = round(spacing * size)
    for char, face, adv_face in zip(text, faces, advance_faces or faces, strict=True):
        glyph = glyphs.get(face, size, char)
        cell_origin = (origin[0], origin[1] + pen) if vertical else (origin[0] + pen, origin[1])
        placement = place_glyph(char, glyph, face, cell_origin, size, vertical)
        advance = glyph if adv_face == face else glyphs.get(adv_face, size, char)
        if adv_face != face:  # the cell is the advance font's; only the drawing differs
            placement.cell = place_glyph(char, advance, adv_face, cell_origin, size, vertical).cell
            placement.quad = _union_quad(
                placement.cell, _ink_quad(Glyph(placement.bitmap, 0, 0, 0), placement.to_layout)
            )
        placements.append(placement)
        pen += cell_extent(char, advance, size, vertical) + gap
    quads = np.vstack([p.quad for p in placements])
    x0, y0, x1, y1 = geo.bounds(quads)
    return Line(
        text, "vertical" if vertical else "horizontal", placements, geo.rect(x0, y0, x1, y1)
    )


def bend_line(line: Line, arc_degrees: float) -> Line:
    """Bend a horizontal line onto a circular arc spanning ``arc_degrees``.

    Positive: an arch (centre below, like a badge's top text); negative: a smile. Each
    glyph turns with the tangent; the polygon follows the tops then the bottoms of the
    character boxes.
    """
    if line.direction != "horizontal":
        raise ValueError("only horizontal lines can be curved")
    # Cells, not ink, fix the arc: the same text in another font bends identically.
    x0, y0, x1, y1 = geo.bounds(np.vstack([p.cell for p in line.placements]))
    width = max(x1 - x0, 1.0)
    sign = 1.0 if arc_degrees > 0 else -1.0
    radius = width / math.radians(abs(arc_degrees))
    mid_x, mid_y = (x0 + x1) / 2, (y0 + y1) / 2
    centre = (mid_x, mid_y + sign * radius)
    bent = []
    for p in line.placements:
        cx, cy = p.cell.mean(axis=0)
        theta = (cx - mid_x) / radius
        r = radius - sign * (cy - mid_y)
        new_cx = centre[0] + r * math.sin(theta)
        new_cy = centre[1] - sign * r * math.cos(theta)
        m = geo.translation(new_cx, new_cy) @ geo.rotation_about(0, 0, -sign * math.degrees(theta))
        m = m @ geo.translation(-cx, -cy)
        bent.append(p.transformed(m))
    top = [pt for p in bent for pt in (p.quad[0], p.quad[1])]
    bottom = [pt for p in reversed(bent) for pt in (p.quad[2], p.quad[3])]
    return Line(line.text, "horizontal", bent, np.array(top + bottom))


def layout_block(
    texts: list[str],
    faces: list[list[str]],
    size: int,
    vertical: bool,
    spacing: float,
    line_gap: float,
    align: str,
    glyphs: GlyphCache,
    arc_degrees: float = 0.0,
    like: Block | None = None,
) -> Block:
    """Lines stacked top to bottom (horizontal) or columns right to left (vertical).

    With ``like`` (a block of the same texts), cells, shift and canvas are taken from it, so
    the new block's glyphs land exactly where ``like``'s do, whatever font draws them.
    """
    advance_faces = [[p.face_id for p in ln.placements] for ln in like.lines] if like else faces
    if align not in ("start", "center"):
        raise ValueError(f"unknown align {align!r}; use 'start' or 'center'")
    pitch = round(size * (1.0 + line_gap))
    lines = []
    for k, (text, line_faces) in enumerate(zip(texts, faces, strict=True)):
        origin = (-k * pitch, 0) if vertical else (0, k * pitch)
        lines.append(
            layout_line(text, line_faces, size, vertical, spacing, glyphs, origin, advance_faces[k])
        )
    if align == "center" and len(lines) > 1:
        # Centre each line on the longest one, along the reading direction.
        axis = 1 if vertical else 0
        lengths = [_cells_length(ln, axis) for ln in lines]
        centred = []
        for ln, length in zip(lines, lengths, strict=True):
            d = round((max(lengths) - length) / 2)
            centred.append(_shift_line(ln, 0, d) if vertical else _shift_line(ln, d, 0))
        lines = centred
    if arc_degrees and not vertical:
        lines = [bend_line(ln, arc_degrees) for ln in lines]
    block = Block(lines, size, straight=not (arc_degrees and not vertical))
    block.meta.update(arc=arc_degrees if not vertical else 0.0, spacing=spacing, line_gap=line_gap)
    if like is not None:
        # Same cells as ``like``: move each line so its first cell lands on like's.
        block.lines = [
            _shift_line(ln, *(ref.placements[0].cell[0] - ln.placements[0].cell[0]))
            for ln, ref in zip(block.lines, like.lines, strict=True)
        ]
        block.width, block.height = like.width, like.height
        return block
    return _normalise(block, margin=2)


def _cells_length(line: Line, axis: int) -> float:
    x0y0x1y1 = geo.bounds(np.vstack([p.cell for p in line.placements]))
    return x0y0x1y1[axis + 2] - x0y0x1y1[axis]


def _shift_line(line: Line, dx: float, dy: float) -> Line:
    m = geo.translation(dx, dy)
    moved = [p.transformed(m) for p in line.placements]
    return Line(line.text, line.direction, moved, geo.apply(m, line.polygon))


def _normalise(block: Block, margin: int) -> Block:
    """Shift the block to positive integer coordinates with ``margin`` pixels around it."""
    pts = np.vstack([ln.polygon for ln in block.lines])
    x0, y0, x1, y1 = geo.bounds(pts)
    dx, dy = margin - math.floor(x0), margin - math.floor(y0)
    block.lines = [_shift_line(ln, dx, dy) for ln in block.lines]
    block.width = math.ceil(x1) + dx + margin
    block.height = math.ceil(y1) + dy + margin
    return block


def paint(block: Block, h: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
    """Coverage layer (uint8, ``out_size`` = (width, height)) of the block mapped by ``h``."""
    if block.straight:
        canvas = np.zeros((block.height, block.width), np.uint8)
        for line in block.lines:
            for p in line.placements:
                _paste_max(canvas, p.bitmap, p.to_layout)
        if _is_identity(h) and out_size == (block.width, block.height):
            return canvas
        return geo.warp(canvas, h, out_size)
    out = np.zeros((out_size[1], out_size[0]), np.uint8)
    for line in block.lines:
        for p in line.placements:
            if p.bitmap.size:
                np.maximum(out, geo.warp(p.bitmap, h @ p.to_layout, out_size), out=out)
    return out


def _paste_max(canvas: np.ndarray, bitmap: np.ndarray, m: np.ndarray) -> None:
    if not bitmap.size:
        return
    x, y = round(m[0, 2]), round(m[1, 2])
    bh, bw = bitmap.shape
    y0, x0 = max(y, 0), max(x, 0)
    y1, x1 = min(y + bh, canvas.shape[0]), min(x + bw, canvas.shape[1])
    if y1 <= y0 or x1 <= x0:
        return
    region = canvas[y0:y1, x0:x1]
    np.maximum(region, bitmap[y0 - y : y1 - y, x0 - x : x1 - x], out=region)


def _is_identity(h: np.ndarray) -> bool:
    return bool(np.allclose(h, np.eye(3)))
