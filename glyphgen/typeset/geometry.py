"""Plane geometry for placing text: 3x3 homographies acting on (N, 2) point arrays; and the
stroke width of an ink mask (the style estimate and the edit metrics measure with it).

Image convention: x to the right, y down. Angles are degrees counter-clockwise as seen on
screen (so a positive angle lifts the end of a horizontal line).
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def translation(dx: float, dy: float) -> np.ndarray:
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def scaling(k: float) -> np.ndarray:
    return np.array([[k, 0.0, 0.0], [0.0, k, 0.0], [0.0, 0.0, 1.0]])


def rotation_about(cx: float, cy: float, degrees: float) -> np.ndarray:
    """Counter-clockwise on screen by ``degrees`` around (cx, cy)."""
    t = math.radians(degrees)
    c, s = math.cos(t), math.sin(t)
    # With y pointing down, a counter-clockwise turn on screen is the matrix [[c, s], [-s, c]].
    rot = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
    return translation(cx, cy) @ rot @ translation(-cx, -cy)


def perspective_from_jitter(width: float, height: float, jitter: np.ndarray) -> np.ndarray:
    """Homography moving the corners of a ``width`` x ``height`` box by ``jitter`` (4x2, px).

    Corners are TL, TR, BR, BL. The box's centre stays put on average, so the text keeps
    its place and only its shape changes.
    """
    src = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    dst = (src + jitter).astype(np.float32)
    return cv2.getPerspectiveTransform(src, dst).astype(np.float64)


def apply(h: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map (N, 2) points through homography ``h``."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    homog = np.hstack([pts, np.ones((len(pts), 1))]) @ h.T
    return homog[:, :2] / homog[:, 2:3]


def bounds(points: np.ndarray) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of a point set."""
    pts = np.asarray(points).reshape(-1, 2)
    return (
        float(pts[:, 0].min()),
        float(pts[:, 1].min()),
        float(pts[:, 0].max()),
        float(pts[:, 1].max()),
    )


def warp(alpha: np.ndarray, h: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Warp a single-channel layer into an output of ``size`` = (width, height)."""
    return cv2.warpPerspective(
        alpha, h, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )


def rect(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Axis-aligned box as a 4x2 quad, clockwise from the top-left."""
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def stroke_width(mask: np.ndarray) -> float:
    """Stroke width (px) of the ink ``mask`` (bool (H, W)): twice its area over its perimeter
    (outer contours and holes, traced through pixel centres, plus the half pixel the ink
    reaches beyond them all round); a long stroke w wide and l long (area w l, perimeter
    about 2 l) gives w. NaN for an empty mask."""
    m = np.pad(np.asarray(mask, bool).astype(np.uint8), 1)
    area = float(m.sum())
    if not area:
        return float("nan")
    contours, _ = cv2.findContours(m, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours) + math.pi * len(contours)
    return 2 * area / max(perimeter, 1e-6)


def across_size(polygon: np.ndarray, vertical: bool) -> float:
    """A line's size across (px): the mean of its quad's two sides across the reading."""
    p = np.asarray(polygon, np.float64)
    if vertical:
        return 0.5 * float(np.linalg.norm(p[1] - p[0]) + np.linalg.norm(p[2] - p[3]))
    return 0.5 * float(np.linalg.norm(p[3] - p[0]) + np.linalg.norm(p[2] - p[1]))
