"""Where the old text's glyphs stand in their cells, against a face's rendering of the same text.

Two faces lay a line of hanzi out in the same cells (one em each, the same spacing) but
draw their glyphs at different sizes and heights inside them: a face nearest A in shape
can still draw B larger, or lower, than A's own face drew it. ``measure``
compares A's ink with a face's rendering of A's text in the same layout, both in the
line's layout frame (``glyphgen.typeset.layout``: x along a horizontal line, y along a
column), cell by cell:

1. each cell's window along the line runs from the middle of the gap before it to the
   middle of the gap after it; the ink in the window is boxed by ``INK_PERCENTILES`` of
   its pixels' coordinates (a few stray pixels do not move a box);
2. glyph size: the median ratio of A's boxes to the face's, along and across (cells whose
   face box is under ``MIN_EXTENT`` em that way, such as the height of 一, left out);
3. centre line: the median shift of the boxes' centres across.

The cells themselves (pitch, start) stay where the layout fits them to the quad.
``place`` moves a line's glyphs by a fit: each glyph scaled about its ink's centre, and
moved across. The fit is in em, so it carries to B laid out at the same size in the same
frame, whatever B's length.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from glyphgen.typeset import geometry as geo
from glyphgen.typeset.layout import Block, Line

INK_PERCENTILES = (5.0, 95.0)  # a cell's ink box: these percentiles of its pixels' coordinates
MIN_PIXELS = 12  # a cell with fewer ink pixels than this, in A or in the face, is not measured
MIN_EXTENT = 0.3  # em: a face box shorter than this one way gives no size ratio that way
SCALE_RANGE = (0.7, 1.3)  # glyph size ratios are kept within this
SHIFT_LIMIT = 0.2  # em: the shift of the centre line is kept within this


@dataclass(frozen=True)
class CellFit:
    """A's glyphs against a face's: how to move the face's glyphs onto A's (em, ratios)."""

    scale_along: float = 1.0  # A's glyph size along the line over the face's
    scale_across: float = 1.0  # ... across it
    shift_across: float = 0.0  # em: A's centre line from the face's
    cells: int = 0  # cells measured

    def to_json(self) -> dict[str, float]:
        return {
            "scale_along": round(self.scale_along, 3),
            "scale_across": round(self.scale_across, 3),
            "shift_across_em": round(self.shift_across, 3),
            "cells": self.cells,
        }


Box = tuple[float, float, float, float]  # (along0, across0, along1, across1) px


def ink_box(ink: np.ndarray, vertical: bool) -> Box | None:
    """The box of ``ink`` (bool (h, w)) by ``INK_PERCENTILES``, along and across the line;
    None with fewer than ``MIN_PIXELS`` pixels."""
    ys, xs = np.nonzero(ink)
    if ys.size < MIN_PIXELS:
        return None
    along, across = (ys, xs) if vertical else (xs, ys)
    lo, hi = INK_PERCENTILES
    a0, a1 = np.percentile(along, [lo, hi])
    c0, c1 = np.percentile(across, [lo, hi])
    return float(a0), float(c0), float(a1) + 1, float(c1) + 1


def _centre(box: Box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def cell_spans(line: Line, vertical: bool) -> list[tuple[float, float]]:
    """Each cell's window along the line (layout px): from the middle of the gap before it
    to the middle of the gap after it; the first and last open to the frame's edges."""
    axis = 1 if vertical else 0
    cells = [(float(p.cell[:, axis].min()), float(p.cell[:, axis].max())) for p in line.placements]
    cuts = [(a[1] + b[0]) / 2 for a, b in itertools.pairwise(cells)]
    return list(zip([-np.inf, *cuts], [*cuts, np.inf], strict=True))


def cell_boxes(ink: np.ndarray, line: Line, vertical: bool) -> list[Box | None]:
    """The ink box (``ink_box``) of ``ink`` (bool (h, w), the layout frame) in each cell's
    window (``cell_spans``)."""
    out = []
    for lo, hi in cell_spans(line, vertical):
        a0 = 0 if lo == -np.inf else max(0, math.ceil(lo))
        a1 = ink.shape[0 if vertical else 1] if hi == np.inf else max(a0, math.ceil(hi))
        window = ink[a0:a1] if vertical else ink[:, a0:a1]
        box = ink_box(window, vertical)
        out.append(None if box is None else (box[0] + a0, box[1], box[2] + a0, box[3]))
    return out


def measure(ink_a: np.ndarray, face: np.ndarray, line: Line, size: int, vertical: bool) -> CellFit:
    """Steps 1-3 (module docstring): A's ink (bool (h, w)) against the face's rendering of
    A's text (bool (h, w)) laid out as ``line`` at ``size`` px, both in the layout frame.
    With no cell measured in both, the identity fit (``cells`` 0)."""
    pairs = [
        (a, f)
        for a, f in zip(
            cell_boxes(ink_a, line, vertical), cell_boxes(face, line, vertical), strict=True
        )
        if a is not None and f is not None
    ]
    if not pairs:
        return CellFit()
    shortest = MIN_EXTENT * size

    def ratio(k: int) -> float:  # k: 0 along the line, 1 across
        r = [(a[k + 2] - a[k]) / (f[k + 2] - f[k]) for a, f in pairs if f[k + 2] - f[k] >= shortest]
        return float(np.clip(np.median(r), *SCALE_RANGE)) if r else 1.0

    across = float(np.median([_centre(a)[1] - _centre(f)[1] for a, f in pairs])) / size
    return CellFit(
        scale_along=ratio(0),
        scale_across=ratio(1),
        shift_across=float(np.clip(across, -SHIFT_LIMIT, SHIFT_LIMIT)),
        cells=len(pairs),
    )


def place(block: Block, fit: CellFit, vertical: bool) -> Block:
    """``block`` (one line) with each glyph scaled by ``fit`` about its ink's centre and
    moved across the line by its shift."""
    line = block.lines[0]
    across = fit.shift_across * block.size
    dx, dy = (across, 0.0) if vertical else (0.0, across)
    sx, sy = (
        (fit.scale_across, fit.scale_along) if vertical else (fit.scale_along, fit.scale_across)
    )
    moved = []
    for p in line.placements:
        box = ink_box(p.bitmap >= 128, False)  # (x0, y0, x1, y1) in the bitmap
        if box is None:
            moved.append(p)
            continue
        bx, by = _centre(box)
        gx, gy = geo.apply(p.to_layout, np.array([[bx, by]]))[0]
        m = geo.translation(gx + dx, gy + dy) @ np.diag([sx, sy, 1.0]) @ geo.translation(-gx, -gy)
        moved.append(p.transformed(m))
    placed = Line(line.text, line.direction, moved, line.polygon)
    return Block([placed], block.size, block.width, block.height, False, dict(block.meta))
