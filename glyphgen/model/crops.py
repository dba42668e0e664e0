"""Where a text line goes in a model crop: the geometry training and ``render`` share.

A line's quadrilateral is warped to a rectangle ``fill`` of the crop's height, centred in
the crop (``window``); the crop is as long as the line needs, in multiples of the model's
size step (``crop_size``); the model may change pixels only near the line (``edit_mask``).
``render`` cuts user regions exactly as training cuts factory lines, so the model sees at
inference what it saw in training. numpy and OpenCV only: no torch, no factory.
"""

from __future__ import annotations

import cv2
import numpy as np

EDIT_MARGIN = 0.15  # the edit mask reaches this far (x line height) around the line


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


def edit_mask(rect: tuple[float, float, float, float], size: tuple[int, int], vertical: bool):
    x0, y0, x1, y1 = rect
    pad = EDIT_MARGIN * ((x1 - x0) if vertical else (y1 - y0))
    out = np.zeros((size[1], size[0]), np.uint8)
    xa, ya = max(0, round(x0 - pad)), max(0, round(y0 - pad))
    out[ya : round(y1 + pad), xa : round(x1 + pad)] = 255
    return out


def style_vector(rgb: tuple[int, int, int], stroke: bool, shadow: bool) -> np.ndarray:
    """The style adapter's attribute vector ((5,) float32: fill r, g, b in [0, 1], a stroke
    flag, a shadow flag), as training builds it from the factory's labels and ``render``
    from the colours it knows."""
    fill = np.array(rgb, np.float32) / 255
    return np.concatenate([fill, np.array([stroke, shadow], np.float32)])
