"""The old text's style, estimated from its pixels: face, weight, fill, outline and shadow.

Pure functions over numpy arrays (no files, no model); ``glyphgen.edit.classical`` finds
A's pixels (its step 1) and calls ``estimate_style``, then draws B with ``draw_styled`` and
``paint_styled``. The estimate, in five steps:

1. fill and outline: the colours step 1 found (median CIELAB of the fill's core, the
   purest quarter of the outline ring and its width);
2. weight: A's stroke width, twice the median distance-to-background along the strokes'
   ridges (``stroke_width``), against the line's size across (em);
3. face: A's text (given, or read by the judge) laid out in each candidate face that covers
   it, with the letter spacing that gives A's quad its length (``fit_spacing``), mapped onto
   A's quad by the same homography the factory uses (line polygon to image quad), grown or
   thinned to A's stroke width (``offset_coverage``), and compared with A's fill by IoU; the
   best IoU wins. Then A's glyphs in their cells against that face's rendering of A
   (``glyphgen.edit.cells``: glyph size along and across, centre line), which B's glyphs
   take. Without A's text the canonical face is kept, grown or thinned to A's weight, and
   B keeps the face's own place in the cells;
4. emboldening: the chosen face's own stroke width against A's: the difference, halved, is
   the offset (px) its outline is moved by through a signed distance field (its strokes
   scaled with the glyphs as step 3 found: ``scaled_offset``);
5. shadow: a copy of the fill shifted by (dx, dy), darker than the surface around it; every
   shift up to ``SHADOW_REACH`` of the size is tried, and the one whose shifted fill
   darkens the surface most (beyond the fill and its outline) is kept when it darkens it by
   at least ``SHADOW_MIN`` of the surface's luminance. The shadow is taken as black (its
   opacity is the darkening), its blur the one of a few sigmas that best fits the darkening;
6. the photo's rendering of A, where A's fill share per pixel is known (``fill_share``: no
   outline between fill and surface): the blur of its edges (``edge_blur``: A's ink
   blurred by each sigma of ``EDGE_BLURS`` against the share, less a rendering's own
   anti-aliasing) and the shading of its fill (``fill_shading``: a plane through the fill's
   core colours, as uneven light leaves it). B is drawn as sharp and as shaded as A: a
   crisp, flat B on a blurred, lit photo stands out (and measures heavier, its fill-coloured
   pixels spreading to edges the photo's blur and light take out of A's).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from glyphgen.edit import cells
from glyphgen.edit.cells import CellFit
from glyphgen.typeset import geometry as geo
from glyphgen.typeset.fonts import FontLibrary
from glyphgen.typeset.geometry import across_size, stroke_width
from glyphgen.typeset.glyphs import GlyphCache
from glyphgen.typeset.layout import Block, Line, layout_block, paint

RGB = tuple[int, int, int]
FONT_MODES = ("auto", "off")  # the face to draw in, besides a face id: A's (estimated), canonical
SHADOW_REACH = 0.12  # a shadow is looked for up to this far from the fill (x the size)
SHADOW_MIN = 0.12  # ... and kept when it darkens the surface by this share of its luminance
SHADOW_BLURS = (0.5, 1.0, 2.0, 3.0)  # gaussian sigmas (px) tried for the shadow
SPACING_RANGE = (
    -0.05,
    1.0,
)  # letter spacing (em) a quad's length may ask for (glyphs never overlap)
INK_SHARE = 0.5  # a pixel is A's ink where the fill's share of its colour is at least this
ONE_SIDED_REACH = 2.0  # px: a ring shifted less than this is an outline, not a shadow
STRETCH = 0.15  # a line this much longer or shorter than its quad is stretched to fill it
SPACINGS = (0.0, 0.025, 0.05, 0.075, 0.1, 0.15)  # letter spacings (em) tried against A's ink
MAX_OFFSET = 0.03  # emboldening / thinning at most this much (x the size) each side
EDGE_BLURS = (0.0, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5)  # gaussian sigmas (px) tried for A's edges
ANTIALIAS = 0.3  # px: a rendering's own anti-aliasing as a sigma (chosen on validation pairs)
SHARP = 0.3  # px: an edge blur below this is not applied
CORE_SHARE = 0.85  # the fill's core: pixels at least this much fill (the shading's samples)
CORE_MIN = 30  # fewer core pixels than this: no shading


@dataclass(frozen=True)
class Shadow:
    dx: float  # px in the image, from the fill to its shadow
    dy: float
    opacity: float  # 0-1: black blended at this strength
    blur: float  # gaussian sigma, px
    colour: RGB = (0, 0, 0)


@dataclass(frozen=True)
class Shading:
    """A fill lit unevenly: its colour at (x, y) is the fill + dx (x - x0) + dy (y - y0)."""

    dx: tuple[float, float, float]  # RGB change per px along x
    dy: tuple[float, float, float]  # ... along y
    x0: float  # px: where the colour is the style's fill (the core's centroid)
    y0: float
    fill: RGB | None = None  # the plane's colour there, when fitted (``fill_shading``)

    def field(self, fill: RGB, shape: tuple[int, int]) -> np.ndarray:
        """The fill's colour at every pixel: float32 (H, W, 3), clipped to 0-255."""
        yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
        out = (
            np.asarray(fill, np.float32)
            + (xx - self.x0)[..., None] * np.asarray(self.dx, np.float32)
            + (yy - self.y0)[..., None] * np.asarray(self.dy, np.float32)
        )
        return np.clip(out, 0, 255)


@dataclass(frozen=True)
class TextStyle:
    """How to draw a text: what ``estimate_style`` found, or what a user gave."""

    face: str  # font id in the library
    fill: RGB
    offset: float = 0.0  # px the face's outline is moved out (bold) or in (thin, < 0)
    spacing: float | None = None  # letter spacing (em) found with the face; None: fit the quad
    outline: RGB | None = None  # an outline ring around the strokes, when there is one
    outline_width: float = 0.0  # px
    shadow: Shadow | None = None
    blur: float = 0.0  # gaussian sigma (px) of A's edges beyond a rendering's anti-aliasing
    shading: Shading | None = None  # the fill's colour across the region, when A's is uneven
    weight: float | None = None  # A's stroke width / size (em), when measured
    face_iou: float | None = None  # the chosen face's IoU with A's fill, when matched
    cells: CellFit | None = None  # A's glyphs in their cells against the face's, when measured
    source: str = "estimated"  # "estimated" | "default" (canonical face, nothing measured)
    scores: dict[str, float] = field(default_factory=dict, compare=False)  # face id -> IoU

    def to_json(self) -> dict[str, Any]:
        """What the result JSON records of the style."""
        out: dict[str, Any] = {
            "face": self.face,
            "source": self.source,
            "fill": list(self.fill),
            "offset_px": round(self.offset, 2),
            "spacing_em": None if self.spacing is None else round(self.spacing, 3),
            "weight_em": None if self.weight is None else round(self.weight, 4),
            "face_iou": None if self.face_iou is None else round(self.face_iou, 3),
            "outline": None
            if self.outline is None
            else {"colour": list(self.outline), "width_px": round(self.outline_width, 2)},
            "shadow": None
            if self.shadow is None
            else {
                "dx_px": round(self.shadow.dx, 2),
                "dy_px": round(self.shadow.dy, 2),
                "opacity": round(self.shadow.opacity, 3),
                "blur_px": self.shadow.blur,
                "colour": list(self.shadow.colour),
            },
            "cells": None if self.cells is None else self.cells.to_json(),
            "blur_px": round(self.blur, 2),
            "shading": None
            if self.shading is None
            else {
                "per_px_x": [round(v, 3) for v in self.shading.dx],
                "per_px_y": [round(v, 3) for v in self.shading.dy],
                "at": [round(self.shading.x0, 1), round(self.shading.y0, 1)],
            },
        }
        return out


# -- measuring ---------------------------------------------------------------------------


def quad_aspect(polygon: np.ndarray, vertical: bool) -> float:
    """Length along the reading over size across, of the quad (mean of opposite sides)."""
    p = np.asarray(polygon, np.float64)
    across = across_size(p, vertical)
    if vertical:
        along = 0.5 * float(np.linalg.norm(p[3] - p[0]) + np.linalg.norm(p[2] - p[1]))
    else:
        along = 0.5 * float(np.linalg.norm(p[1] - p[0]) + np.linalg.norm(p[2] - p[3]))
    return along / max(across, 1e-6)


# -- drawing in a face -------------------------------------------------------------------


def text_faces(fonts: FontLibrary, text: str, face: str) -> list[str]:
    """``face`` for each character it covers (and whitespace), else the canonical face, else
    the first face that has the character."""
    chosen, canon = fonts.face(face), fonts.canonical()
    out = []
    for ch in text:
        if chosen.covers(ch):
            out.append(chosen.id)
        elif canon.covers(ch):
            out.append(canon.id)
        else:
            covering = fonts.covering(ch)
            if not covering:
                raise ValueError(f"no font covers {ch!r} (U+{ord(ch):04X}) in {text!r}")
            out.append(covering[0].id)
    return out


def _box(block: Block) -> tuple[float, float, float, float]:
    """Bounds of the line's polygon (its cells and ink), what a line's quad outlines."""
    return geo.bounds(block.lines[0].polygon)


def _layout(
    text: str, faces: list[str], size: int, vertical: bool, spacing: float, glyphs: GlyphCache
) -> Block:
    return layout_block([text], [faces], size, vertical, spacing, 0.0, "start", glyphs)


def fit_spacing(
    text: str,
    faces: list[str],
    size: int,
    vertical: bool,
    aspect: float,
    glyphs: GlyphCache,
) -> float:
    """The letter spacing (em) that makes the laid-out line's polygon ``aspect`` times as long
    as it is across (a quad's length over its size), within ``SPACING_RANGE``; 0 for one
    character."""
    gaps = sum(1 for _ in text) - 1
    if gaps < 1:
        return 0.0
    x0, y0, x1, y1 = _box(_layout(text, faces, size, vertical, 0.0, glyphs))
    along, across = (y1 - y0, x1 - x0) if vertical else (x1 - x0, y1 - y0)
    spacing = (aspect * across - along) / (gaps * size)
    return float(np.clip(spacing, *SPACING_RANGE))


def line_layout(
    text: str,
    faces: list[str],
    polygon: np.ndarray,
    vertical: bool,
    glyphs: GlyphCache,
    spacing: float | None = None,
) -> tuple[Block, np.ndarray, tuple[float, float, float, float]]:
    """``text`` laid out in ``faces`` (one id per character) as the factory lays a line out,
    and the homography (3x3) that maps it onto ``polygon`` ((4, 2) image px), from the box
    (x0, y0, x1, y1, layout px) it maps onto the quad. ``spacing`` (em) defaults to the one
    that fits the quad's length (``fit_spacing``). A line whose proportions are within
    ``STRETCH`` of the quad's fills it; a longer or shorter one keeps its proportions and is
    centred in the quad."""
    p = np.asarray(polygon, np.float64)
    size = int(np.clip(round(across_size(p, vertical)), 8, 512))
    aspect = quad_aspect(p, vertical)
    if spacing is None:
        spacing = fit_spacing(text, faces, size, vertical, aspect, glyphs)
    block = _layout(text, faces, size, vertical, spacing, glyphs)
    x0, y0, x1, y1 = _box(block)
    along, across = (y1 - y0, x1 - x0) if vertical else (x1 - x0, y1 - y0)
    own = along / max(across, 1e-6)
    if abs(math.log(own / aspect)) > math.log(1 + STRETCH):
        if own > aspect:  # too long: a taller box, the line centred across
            pad = (across * own / aspect - across) / 2
            x0, x1 = (x0 - pad, x1 + pad) if vertical else (x0, x1)
            y0, y1 = (y0, y1) if vertical else (y0 - pad, y1 + pad)
        else:  # too short: a longer box, the line centred along
            pad = (along * aspect / own - along) / 2
            x0, x1 = (x0, x1) if vertical else (x0 - pad, x1 + pad)
            y0, y1 = (y0 - pad, y1 + pad) if vertical else (y0, y1)
    src = geo.rect(x0, y0, x1, y1).astype(np.float32)
    return block, cv2.getPerspectiveTransform(src, p.astype(np.float32)), (x0, y0, x1, y1)


def draw_in_face(
    text: str,
    faces: list[str],
    polygon: np.ndarray,
    vertical: bool,
    shape: tuple[int, int],
    glyphs: GlyphCache,
    spacing: float | None = None,
    fit: CellFit | None = None,
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """``text`` laid out by ``line_layout`` and mapped onto ``polygon``, as the factory
    places a line: its coverage (uint8 (H, W) = ``shape``), the line's polygon and one quad
    per character ((4, 2) image px). ``fit`` (A's glyphs against the face's, ``cells``)
    moves the glyphs inside their cells, unless that takes ink out of the quad."""
    block, h, box = line_layout(text, faces, polygon, vertical, glyphs, spacing)
    if fit is not None and fit.cells:
        placed = cells.place(block, fit, vertical)
        block = placed if _inside(placed, box) else block
    line = block.lines[0]
    quads = [geo.apply(h, pl.quad) for pl in line.placements]
    return paint(block, h, (shape[1], shape[0])), geo.apply(h, line.polygon), quads


def _inside(block: Block, box: tuple[float, float, float, float]) -> bool:
    """Every glyph's bitmap of ``block`` lies within ``box`` (x0, y0, x1, y1), give or take
    the pixel of margin a line's polygon keeps around its ink."""
    x0, y0, x1, y1 = box
    for p in block.lines[0].placements:
        h, w = p.bitmap.shape
        if p.bitmap.size:
            bx0, by0, bx1, by1 = geo.bounds(geo.apply(p.to_layout, geo.rect(0, 0, w, h)))
            if bx0 < x0 - 1 or by0 < y0 - 1 or bx1 > x1 + 1 or by1 > y1 + 1:
                return False
    return True


def measure_cells(
    ink: np.ndarray,
    text: str,
    faces: list[str],
    polygon: np.ndarray,
    vertical: bool,
    glyphs: GlyphCache,
    spacing: float | None,
    offset: float,
) -> CellFit:
    """A's glyphs in their cells (``cells.measure``): A's ink (bool (H, W)) against ``text``
    (A's) in ``faces`` as ``draw_in_face`` draws it (``spacing``, grown by ``offset`` px),
    both taken into the line's layout frame (padded by a quarter em all round)."""
    block, h, _ = line_layout(text, faces, polygon, vertical, glyphs, spacing)
    pad = round(0.25 * block.size)
    t = geo.translation(pad, pad)
    out = (block.width + 2 * pad, block.height + 2 * pad)
    face = offset_coverage(paint(block, t, out), offset) >= 128
    frame = geo.warp(ink.astype(np.uint8) * 255, t @ np.linalg.inv(h), out) >= 128
    line = block.lines[0]
    moved = Line(
        line.text, line.direction, [p.transformed(t) for p in line.placements], line.polygon
    )
    return cells.measure(frame, face, moved, block.size, vertical)


def offset_coverage(coverage: np.ndarray, offset: float) -> np.ndarray:
    """``coverage`` (uint8) with its outline moved ``offset`` px outward (bolder; inward,
    thinner, when negative), through the signed distance to the ink's edge, anti-aliased
    over one pixel."""
    if abs(offset) < 0.05:
        return coverage
    ink = (coverage >= 128).astype(np.uint8)
    if not ink.any():
        return coverage
    out_d = cv2.distanceTransform(1 - ink, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    in_d = cv2.distanceTransform(ink, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    signed = np.where(ink > 0, 0.5 - in_d, out_d - 0.5)  # < 0 inside, 0 on the edge
    alpha = np.clip(offset - signed + 0.5, 0, 1)
    return np.round(alpha * 255).astype(np.uint8)


# -- matching a face ---------------------------------------------------------------------


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = int((a | b).sum())
    return int((a & b).sum()) / union if union else 0.0


def match_face(
    fill: np.ndarray,
    text: str,
    polygon: np.ndarray,
    vertical: bool,
    fonts: FontLibrary,
    glyphs: GlyphCache,
    candidates: Sequence[str] | None = None,
) -> tuple[str, float, dict[str, float], tuple[float, float]]:
    """Step 3: the face whose rendering of ``text`` in ``polygon``, grown or thinned to the
    stroke width of ``fill`` (bool (H, W): A's fill pixels), overlaps ``fill`` most.

    ``candidates``: face ids to try (default: every face of the library covering ``text``).
    Each face is tried at every spacing of ``SPACINGS`` and the one fitting the quad's
    length; returns (face id, its IoU, best IoU per face, (its spacing in em, its offset in
    px))."""
    shape = (fill.shape[0], fill.shape[1])
    target = stroke_width(fill)
    size = across_size(polygon, vertical)
    limit = MAX_OFFSET * size
    ids = list(candidates) if candidates is not None else [f.id for f in fonts.covering(text)]
    if not ids:
        raise ValueError(f"no candidate face covers {text!r}")
    ys, xs = np.nonzero(fill)
    pad = max(4, round(0.1 * size))
    box = (
        slice(max(0, ys.min() - pad), ys.max() + pad + 1),
        slice(max(0, xs.min() - pad), xs.max() + pad + 1),
    )
    scores: dict[str, float] = {}
    chosen: dict[str, tuple[float, float]] = {}  # face -> (spacing, offset)
    n = sum(1 for _ in text)
    for face in ids:
        faces = [face] * n
        fitted = fit_spacing(
            text,
            faces,
            int(np.clip(round(size), 8, 512)),
            vertical,
            quad_aspect(polygon, vertical),
            glyphs,
        )
        for spacing in sorted({*SPACINGS, round(fitted, 3)}) if n > 1 else [0.0]:
            cover = draw_in_face(text, faces, polygon, vertical, shape, glyphs, spacing)[0][box]
            own = stroke_width(cover >= 128)
            off = float(np.clip((target - own) / 2, -limit, limit)) if math.isfinite(own) else 0.0
            score = iou(offset_coverage(cover, off) >= 128, fill[box])
            if score > scores.get(face, -1.0):
                scores[face], chosen[face] = score, (spacing, off)
    best = max(ids, key=lambda f: scores[f])
    return best, scores[best], scores, chosen[best]


def fill_share(
    image: np.ndarray, surface: np.ndarray, fill_rgb: RGB, near: np.ndarray
) -> np.ndarray:
    """How much of each pixel of ``near`` (bool (H, W)) is the text's fill: float32 (H, W),
    0-1, each pixel seen as a blend of the fill and the surface under it (``surface``: the
    image with A erased); NaN outside ``near`` and where fill and surface cannot be told
    apart (under 30 RGB units)."""
    pix = image[near].astype(np.float32)
    under = surface[near].astype(np.float32)
    span = np.asarray(fill_rgb, np.float32) - under
    share = ((pix - under) * span).sum(axis=1) / np.maximum((span * span).sum(axis=1), 1.0)
    contrast = np.sqrt((span * span).sum(axis=1)) >= 30  # fill and surface told apart
    out = np.full(near.shape, np.nan, np.float32)
    out[near] = np.where(contrast, np.clip(share, 0, 1), np.nan)
    return out


def ink_coverage(share: np.ndarray) -> np.ndarray:
    """A's ink as the renderer's coverage would be (bool (H, W)): the pixels whose fill share
    (``fill_share``) is at least a half, the threshold a rendering's coverage is binarized
    at (128 of 255)."""
    return np.nan_to_num(share, nan=0.0) >= INK_SHARE


def edge_blur(share: np.ndarray) -> float:
    """Step 6: the gaussian sigma (px) that A's edges are blurred by beyond a rendering's own
    anti-aliasing: A's binary ink (``ink_coverage``) blurred by each sigma of ``EDGE_BLURS``
    against the fill share where it is known; the best sigma, less ``ANTIALIAS`` in
    quadrature. 0 with fewer than 50 known pixels."""
    known = np.isfinite(share)
    if known.sum() < 50:
        return 0.0
    ink = ink_coverage(share).astype(np.float32)
    errors = {}
    for sigma in EDGE_BLURS:
        model = cv2.GaussianBlur(ink, (0, 0), sigma) if sigma > 0 else ink
        errors[sigma] = float(((model[known] - share[known]) ** 2).mean())
    best = min(EDGE_BLURS, key=lambda s: errors[s])
    return math.sqrt(max(best**2 - ANTIALIAS**2, 0.0))


def fill_shading(image: np.ndarray, core: np.ndarray) -> Shading | None:
    """Step 6: the plane through the colours of the fill's core pixels (bool (H, W)), least
    squares in RGB against (x, y); None with fewer than ``CORE_MIN`` of them."""
    ys, xs = np.nonzero(core)
    if ys.size < CORE_MIN:
        return None
    x0, y0 = float(xs.mean()), float(ys.mean())
    a = np.stack([np.ones(xs.size), xs - x0, ys - y0], axis=1)
    coef, *_ = np.linalg.lstsq(a, image[core].astype(np.float64), rcond=None)  # (3, RGB)
    dx = (float(coef[1, 0]), float(coef[1, 1]), float(coef[1, 2]))
    dy = (float(coef[2, 0]), float(coef[2, 1]), float(coef[2, 2]))
    r, g, b = (int(v) for v in np.clip(np.round(coef[0]), 0, 255))
    return Shading(dx, dy, x0, y0, (r, g, b))


# -- the shadow --------------------------------------------------------------------------


def _luma(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def _shift(mask: np.ndarray, dx: float, dy: float) -> np.ndarray:
    m = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
    return cv2.warpAffine(mask.astype(np.float32), m, (mask.shape[1], mask.shape[0]))


def estimate_shadow(
    image: np.ndarray, fill: np.ndarray, ink: np.ndarray, region: np.ndarray, size: float
) -> Shadow | None:
    """Step 5: a drop shadow of the fill (bool (H, W)) in ``image`` (RGB uint8), or None.

    ``ink``: every pixel step 1 took for text (fill, fringe, outline); ``region``: the
    line's pixels. The surface's luminance is the median over the region's pixels away from
    the ink (grown by the furthest shift tried)."""
    luma = _luma(image)
    reach = max(1, round(SHADOW_REACH * size))
    ink_grown = cv2.dilate(ink.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    far = region & ~cv2.dilate(
        ink.astype(np.uint8), np.ones((2 * reach + 1,) * 2, np.uint8)
    ).astype(bool)
    surface_px = luma[far] if far.sum() >= 20 else luma[region & ~ink_grown]
    if surface_px.size < 20:
        return None
    surface = float(np.median(surface_px))
    if surface < 40:  # a shadow on a dark surface cannot be told from it
        return None
    dark = np.clip(surface - luma, 0, None) * region  # how much each pixel is darker
    ys, xs = np.nonzero(fill)
    if ys.size < 20:
        return None
    box = (
        slice(max(0, ys.min() - reach - 1), ys.max() + reach + 2),
        slice(max(0, xs.min() - reach - 1), xs.max() + reach + 2),
    )
    f, keep, d = fill[box].astype(np.float32), ~ink_grown[box], dark[box]
    best, best_score = (0, 0), 0.0
    step = max(1, reach // 8)
    for dy in range(-reach, reach + 1, step):
        for dx in range(-reach, reach + 1, step):
            if dx == 0 and dy == 0:
                continue
            zone = (_shift(f, dx, dy) > 0.5) & keep
            if zone.sum() < 10:
                continue
            score = float(d[zone].mean())
            if score > best_score:
                best, best_score = (dx, dy), score
    opposite = (_shift(f, -best[0], -best[1]) > 0.5) & keep
    against = float(d[opposite].mean()) if opposite.sum() >= 10 else 0.0
    # a drop shadow darkens one side of the strokes, a dark texture both
    if best_score - against < SHADOW_MIN * surface:
        return None
    dx, dy = best
    # refine to one pixel around the best coarse shift
    for ddy in range(-step + 1, step):
        for ddx in range(-step + 1, step):
            zone = (_shift(f, best[0] + ddx, best[1] + ddy) > 0.5) & keep
            if zone.sum() >= 10 and float(d[zone].mean()) > best_score:
                dx, dy, best_score = best[0] + ddx, best[1] + ddy, float(d[zone].mean())
    shifted = _shift(f * 255, dx, dy)
    zone = (shifted > 127) & keep
    opacity = float(np.clip(np.percentile(d[zone], 90) / surface, 0.05, 1.0))
    errors = {}
    near = cv2.dilate((shifted > 0).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    near &= keep
    for sigma in SHADOW_BLURS:
        model = cv2.GaussianBlur(shifted, (0, 0), sigma) / 255 * opacity * surface
        errors[sigma] = float(np.abs(model[near] - d[near]).mean())
    return Shadow(float(dx), float(dy), opacity, min(errors, key=lambda s: errors[s]))


def one_sided(fill: np.ndarray, ring: np.ndarray, shadow: Shadow) -> bool:
    """The ring (bool (H, W)) lies on the shadow's side of the fill: the shadow reaches at
    least ``ONE_SIDED_REACH`` px, and three times as many of the ring's pixels lie under the
    fill shifted by its offset as under the opposite shift."""
    if math.hypot(shadow.dx, shadow.dy) < ONE_SIDED_REACH:
        return False  # an outline looks shifted by a pixel or so either way
    toward = (_shift(fill, shadow.dx, shadow.dy) > 0.5) & ring
    away = (_shift(fill, -shadow.dx, -shadow.dy) > 0.5) & ring
    return int(toward.sum()) >= 3 * max(int(away.sum()), 1)


def shadow_zone(shape: tuple[int, int], fill: np.ndarray, shadow: Shadow) -> np.ndarray:
    """Pixels A's shadow darkens (bool (H, W)): the fill shifted, grown by 2 sigmas + 1."""
    moved = _shift(fill.astype(np.float32), shadow.dx, shadow.dy) > 0.25
    r = math.ceil(2 * shadow.blur) + 1
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate(moved.astype(np.uint8), disc).astype(bool)


# -- the estimate ------------------------------------------------------------------------


def estimate_style(
    image: np.ndarray,
    polygon: np.ndarray,
    vertical: bool,
    fill: np.ndarray,
    ink: np.ndarray,
    region: np.ndarray,
    colours: tuple[RGB, RGB | None, float],
    fonts: FontLibrary,
    glyphs: GlyphCache,
    old_text: str | None = None,
    candidates: Sequence[str] | None = None,
    ring: np.ndarray | None = None,
    share: np.ndarray | None = None,
) -> TextStyle:
    """A's style (module steps 1-6) from its pixels as step 1 of the classical edit found
    them: ``fill`` (the fill cluster), ``ink`` (everything taken for text), ``region`` (the
    line), all bool (H, W); ``colours``: (fill, outline or None, outline width px).
    ``old_text``: A's text (given or read); without it the canonical face is kept.
    ``ring``: the outline's pixels, when step 1 found one (bool (H, W)): a ring on one
    side only of the strokes is a shadow, not an outline. ``share``: A's fill share per
    pixel (``fill_share``), where fill meets surface: A's edge blur and fill shading come
    from it (without it, no blur, and the shading from the fill's eroded core)."""
    fill_rgb, outline, outline_width = colours
    size = across_size(polygon, vertical)
    target = stroke_width(fill)
    weight = target / size if math.isfinite(target) else None
    shadow = estimate_shadow(image, fill, ink, region, size)
    if outline is not None and ring is not None and ring.any():
        # A ring step 1 took for an outline may be a drop shadow: one sided, not around.
        behind = estimate_shadow(image, fill, ink & ~ring, region, size)
        if behind is not None and one_sided(fill, ring, behind):
            shadow, outline, outline_width = behind, None, 0.0
    text = (old_text or "").strip()
    # faces that draw all of A's text: those asked for, else the library's
    pool = [f.id for f in fonts.covering(text)] if text else []
    tried = [f for f in candidates if f in pool] if candidates is not None else pool
    if tried:
        face, score, scores, (spacing, offset) = match_face(
            fill, text, polygon, vertical, fonts, glyphs, tried
        )
        faces = text_faces(fonts, text, face)
        fit = measure_cells(fill, text, faces, polygon, vertical, glyphs, spacing, offset)
        offset = scaled_offset(offset, fit, target, size)
    else:  # no text, or no face asked for draws it: the asked (else canonical) face, grown
        face = candidates[0] if candidates else fonts.canonical().id
        score, scores, spacing, fit = None, {}, None, None
        offset = weight_offset(face, target, size, vertical, fonts, glyphs)
    if share is not None:
        blur, core = edge_blur(share), np.nan_to_num(share, nan=0.0) >= CORE_SHARE
    else:
        blur = 0.0
        core = cv2.erode(fill.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return TextStyle(
        face=face,
        fill=fill_rgb,
        offset=offset,
        spacing=spacing,
        outline=outline,
        outline_width=outline_width if outline is not None else 0.0,
        shadow=shadow,
        blur=blur,
        shading=fill_shading(image, core),
        weight=weight,
        face_iou=score,
        cells=fit,
        source="estimated",
        scores=scores,
    )


def scaled_offset(offset: float, fit: CellFit, target: float, size: float) -> float:
    """The offset (px) that keeps strokes ``target`` px wide once the glyphs are scaled by
    ``fit``: the face's own strokes, ``target - 2 offset`` px, are scaled by the fit's mean
    scale, and the offset makes up the difference (within ``MAX_OFFSET`` of ``size``)."""
    if not fit.cells or not math.isfinite(target):
        return offset
    scale = math.sqrt(fit.scale_along * fit.scale_across)
    limit = MAX_OFFSET * size
    return float(np.clip(offset + (1 - scale) * (target - 2 * offset) / 2, -limit, limit))


WEIGHT_PROBE = "国永黑"  # characters whose stroke width stands for a face's weight


def weight_offset(
    face: str, target: float, size: float, vertical: bool, fonts: FontLibrary, glyphs: GlyphCache
) -> float:
    """The offset (px) that brings ``face``'s strokes to ``target`` px at ``size`` px, from the
    face's own stroke width on ``WEIGHT_PROBE``; 0 when ``target`` is not a number."""
    if not math.isfinite(target):
        return 0.0
    px = int(np.clip(round(size), 8, 512))
    probe = [c for c in WEIGHT_PROBE if fonts.face(face).covers(c)] or list(WEIGHT_PROBE)
    text = "".join(probe)
    block = _layout(text, text_faces(fonts, text, face), px, vertical, 0.1, glyphs)
    own = stroke_width(paint(block, np.eye(3), (block.width, block.height)) >= 128)
    limit = MAX_OFFSET * size
    return float(np.clip((target - own) / 2, -limit, limit)) if math.isfinite(own) else 0.0


# -- drawing B in the style --------------------------------------------------------------


def draw_styled(
    polygon: np.ndarray,
    text: str,
    vertical: bool,
    shape: tuple[int, int],
    fonts: FontLibrary,
    glyphs: GlyphCache,
    style: TextStyle,
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """B's coverage (uint8 (H, W)) in the style's face, spacing and offset, in ``polygon``,
    with its line polygon and character quads (``draw_in_face``; the spacing that fits the
    quad when the style has none), its glyphs placed in their cells as A's were (the
    style's ``cells``, when measured)."""
    faces = text_faces(fonts, text, style.face)
    cover, line, quads = draw_in_face(
        text, faces, polygon, vertical, shape, glyphs, style.spacing, style.cells
    )
    return offset_coverage(cover, style.offset), line, quads


def paint_styled(image: np.ndarray, coverage: np.ndarray, style: TextStyle) -> np.ndarray:
    """``coverage`` painted over ``image`` as the factory composes a line: the shadow, then
    the outline ring (grey dilation of the coverage), then the fill (shaded across the image
    when the style has a shading); the coverage blurred by the style's edge blur first, as
    the photo blurred A."""
    out: np.ndarray = image.astype(np.float32)
    if style.blur >= SHARP:
        coverage = cv2.GaussianBlur(coverage.astype(np.float32), (0, 0), style.blur)
        coverage = np.round(coverage).astype(np.uint8)

    def blend(alpha: np.ndarray, colour: RGB | np.ndarray, opacity: float = 1.0) -> None:
        nonlocal out
        a = alpha.astype(np.float32)[..., None] / 255 * opacity
        out = out * (1 - a) + np.asarray(colour, np.float32) * a

    if style.shadow is not None:
        s = style.shadow
        moved = _shift(coverage.astype(np.float32), s.dx, s.dy)
        if s.blur > 0:
            moved = cv2.GaussianBlur(moved, (0, 0), s.blur)
        blend(moved, s.colour, s.opacity)
    if style.outline is not None and style.outline_width > 0:
        r = max(1, round(style.outline_width))
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        blend(cv2.dilate(coverage, disc), style.outline)
    shape = (coverage.shape[0], coverage.shape[1])
    fill = style.fill if style.shading is None else style.shading.field(style.fill, shape)
    blend(coverage, fill)
    return np.round(np.clip(out, 0, 255)).astype(np.uint8)


def effects_mask(coverage: np.ndarray, style: TextStyle, grow: int = 0) -> np.ndarray:
    """Every pixel B's drawing touches (bool (H, W)): its ink, outline ring and shadow,
    grown by ``grow`` px."""
    ink = coverage > 0
    r = grow + (math.ceil(style.outline_width) if style.outline is not None else 0)
    r += math.ceil(3.5 * style.blur) if style.blur >= SHARP else 0  # where 255 x its tail < 0.5
    if style.shadow is not None:
        ink |= shadow_zone(ink.shape, ink, style.shadow)
    if r > 0:
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        ink = cv2.dilate(ink.astype(np.uint8), disc).astype(bool)
    return ink
