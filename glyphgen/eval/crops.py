"""From an image and a region's polygon to the upright, horizontal line image the judge reads.

1) Scale the polygon if the image is not the size the annotation was made for (a model
   that renders at another resolution).
2) Check it: at least 3 points, non-zero area, not reaching outside the image by more
   than ``outside_tolerance`` line heights.
3) Rectify it: a quadrilateral (clockwise from the corner where reading starts) is warped
   to a rectangle by a perspective transform, with ``pad`` line heights of context around
   it; a curved line (2k points: top edge left to right, then bottom edge right to left)
   is cut into k - 1 quadrilaterals, each warped and laid side by side; any other point
   list is replaced by its minimum-area rectangle.
4) Vertical columns (tall crops) are turned into rows: rotated 90 degrees
   counter-clockwise, or one character per annotated quad laid left to right.

Images are RGB ``uint8`` arrays, shape (H, W, 3).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from glyphgen.eval.annotations import Point, Region
from glyphgen.eval.config import CropConfig
from glyphgen.images import DEFAULT_MAX_PIXELS, ImageRefused, open_image

# A column whose direction is annotated as vertical is turned into a row when it is this
# much taller than wide (AnyText's evaluation uses the same 1.2).
_VERTICAL_ANNOTATED_RATIO = 1.2


class CropError(ValueError):
    """A region that cannot be cropped; ``kind`` is a ``PROBLEM_KINDS`` key."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


# open_image's refusals, as the problem kinds the report counts (a truncated file is one
# that cannot be decoded; its message says truncated).
_REFUSAL_KINDS = {
    "missing": "missing-image",
    "unreadable": "unreadable-image",
    "truncated": "unreadable-image",
    "too-large": "too-large-image",
}


def load_image(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """RGB uint8 array; transparent pixels are composited onto white. Raises ``CropError``
    (missing-image, unreadable-image or too-large-image) naming the file."""
    try:
        return open_image(path, "RGB", max_pixels=max_pixels)
    except ImageRefused as exc:
        raise CropError(_REFUSAL_KINDS[exc.kind], str(exc)) from exc


def crop_region(
    image: np.ndarray,
    region: Region,
    cfg: CropConfig | None = None,
    annotated_size: tuple[int, int] | None = None,
) -> np.ndarray:
    """The region as a horizontal line image (RGB), ready for a recognizer."""
    cfg = cfg or CropConfig()
    height, width = image.shape[:2]
    if region.polygon is None:
        line = image
    else:
        sx, sy = _scale(annotated_size, width, height)
        points = np.array(region.polygon, dtype=np.float64) * (sx, sy)
        _check_polygon(points, width, height, cfg.outside_tolerance)
        line = _rectify(image, points, cfg.pad)
    return _to_row(image, line, region, cfg, _scale(annotated_size, width, height))


def _scale(size: tuple[int, int] | None, width: int, height: int) -> tuple[float, float]:
    if size is None or size == (width, height) or min(size) <= 0:
        return 1.0, 1.0
    return width / size[0], height / size[1]


def _check_polygon(points: np.ndarray, width: int, height: int, tolerance: float) -> None:
    if len(points) < 3:
        raise CropError("bad-polygon", f"a polygon needs at least 3 points, got {len(points)}")
    x, y = points[:, 0], points[:, 1]
    # A whole image size outside is outside whatever the tolerance (and keeps the area and
    # rectangle arithmetic below away from absurd coordinates).
    if x.min() < -width or y.min() < -height or x.max() > 2 * width or y.max() > 2 * height:
        raise _outside(x, y, width, height)
    area = _area(points)
    if area < 1.0:
        raise CropError("bad-polygon", f"the polygon has zero area: {points.tolist()}")
    (_, _), (rw, rh), _ = cv2.minAreaRect(points.astype(np.float32))
    margin = tolerance * max(min(rw, rh), 1.0)
    if (
        x.min() < -margin
        or y.min() < -margin
        or x.max() > width + margin
        or y.max() > height + margin
    ):
        raise _outside(x, y, width, height)


def _outside(x: np.ndarray, y: np.ndarray, width: int, height: int) -> CropError:
    def num(v: float) -> str:
        return f"{v:.0f}" if abs(v) < 1e6 else f"{v:.3g}"

    return CropError(
        "polygon-outside",
        f"polygon x {num(x.min())}..{num(x.max())}, y {num(y.min())}..{num(y.max())} reaches "
        f"outside the {width}x{height} image",
    )


def _area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _rectify(image: np.ndarray, points: np.ndarray, pad: float) -> np.ndarray:
    n = len(points)
    if n == 4:
        return warp_quad(image, points, pad)
    if n >= 6 and n % 2 == 0:
        return _warp_curved(image, points, pad)
    box = cv2.boxPoints(cv2.minAreaRect(points.astype(np.float32)))
    return warp_quad(image, _clockwise_from_top_left(box.astype(np.float64)), pad)


def _clockwise_from_top_left(quad: np.ndarray) -> np.ndarray:
    center = quad.mean(axis=0)
    angles = np.arctan2(quad[:, 1] - center[1], quad[:, 0] - center[0])
    quad = quad[np.argsort(angles)]  # y grows downwards, so increasing angle is clockwise
    start = int(np.argmin(quad.sum(axis=1)))
    return np.roll(quad, -start, axis=0)


def warp_quad(image: np.ndarray, quad: np.ndarray, pad: float) -> np.ndarray:
    """Perspective-warp ``quad`` (TL, TR, BR, BL) to an upright rectangle plus ``pad`` x height."""
    p0, p1, p2, p3 = (np.asarray(p, dtype=np.float64) for p in quad)
    w = max(np.linalg.norm(p1 - p0), np.linalg.norm(p2 - p3))
    h = max(np.linalg.norm(p3 - p0), np.linalg.norm(p2 - p1))
    if w < 1 or h < 1:
        raise CropError("bad-polygon", f"the quadrilateral is degenerate ({w:.1f} x {h:.1f} px)")
    m = pad * min(w, h)  # pad by the line height (the short side, for columns too)
    dst = np.array([[m, m], [m + w, m], [m + w, m + h], [m, m + h]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(np.array([p0, p1, p2, p3], dtype=np.float32), dst)
    size = (max(1, round(w + 2 * m)), max(1, round(h + 2 * m)))
    return cv2.warpPerspective(
        image, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def _warp_curved(image: np.ndarray, points: np.ndarray, pad: float) -> np.ndarray:
    k = len(points) // 2
    top, bottom = points[:k].copy(), points[k:][::-1].copy()
    heights = np.linalg.norm(top - bottom, axis=1)
    line_h = float(heights.mean())
    if line_h < 1:
        raise CropError("bad-polygon", "the curved polygon has no height")
    m = pad * line_h
    # Pad outwards: across the line along each top-bottom rib, along it at both ends.
    ribs = (top - bottom) / np.maximum(heights, 1e-9)[:, None]
    top, bottom = top + ribs * m, bottom - ribs * m
    for edge in (top, bottom):
        edge[0] -= _unit(edge[1] - edge[0]) * m
        edge[-1] += _unit(edge[-1] - edge[-2]) * m
    out_h = max(1, round(line_h + 2 * m))
    pieces = []
    for i in range(k - 1):
        w = max(np.linalg.norm(top[i + 1] - top[i]), np.linalg.norm(bottom[i + 1] - bottom[i]))
        out_w = max(1, round(w))
        src = np.array([top[i], top[i + 1], bottom[i + 1], bottom[i]], dtype=np.float32)
        dst = np.array([[0, 0], [out_w, 0], [out_w, out_h], [0, out_h]], dtype=np.float32)
        matrix = cv2.getPerspectiveTransform(src, dst)
        pieces.append(
            cv2.warpPerspective(
                image,
                matrix,
                (out_w, out_h),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REPLICATE,
            )
        )
    return np.hstack(pieces)


def _unit(v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def _to_row(
    image: np.ndarray,
    line: np.ndarray,
    region: Region,
    cfg: CropConfig,
    scale: tuple[float, float],
) -> np.ndarray:
    """Turn a vertical column into a horizontal row; horizontal lines pass through."""
    h, w = line.shape[:2]
    if region.direction == "horizontal":
        return line
    if region.direction == "vertical":
        is_column = h >= _VERTICAL_ANNOTATED_RATIO * w
    elif region.direction is None:
        is_column = h >= cfg.vertical_ratio * w
    else:
        raise CropError(
            "bad-polygon", f"unknown direction {region.direction!r}; use horizontal or vertical"
        )
    if not is_column:
        return line
    # "auto" reaching here (no judge to ask: CropConfig.for_judge was not called) means rotate
    if cfg.vertical == "chars" and region.char_quads:
        return _row_of_chars(image, region.char_quads, cfg.pad, scale)
    if cfg.vertical not in ("auto", "rotate", "chars"):
        raise ValueError(f"unknown crop.vertical {cfg.vertical!r}; use auto, rotate or chars")
    # Top of the column goes to the left: characters lie on their side, as PaddleOCR feeds them.
    return np.ascontiguousarray(np.rot90(line, k=1))


def _row_of_chars(
    image: np.ndarray, quads: list[list[Point]], pad: float, scale: tuple[float, float]
) -> np.ndarray:
    crops = [warp_quad(image, np.array(q, dtype=np.float64) * scale, pad) for q in quads]
    height = max(c.shape[0] for c in crops)
    resized = [
        cv2.resize(c, (max(1, math.ceil(c.shape[1] * height / c.shape[0])), height))
        if c.shape[0] != height
        else c
        for c in crops
    ]
    return np.hstack(resized)


def read_region(image: np.ndarray, polygon: np.ndarray, vertical: bool, reader: Any) -> str:
    """What ``reader`` (a ``glyphgen.eval.backends.Recognizer``) reads in the quad ``polygon``
    ((4, 2) image px; a column when ``vertical``) of ``image``, cropped as the evaluator crops
    a region: e.g. the old text of a region to edit, when the user does not give it."""
    region = Region(
        "",
        [tuple(p) for p in np.asarray(polygon, np.float64).tolist()],
        "vertical" if vertical else "horizontal",
    )
    return str(reader.recognize([crop_region(image, region)])[0].text).strip()
