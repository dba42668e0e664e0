"""What the model sees of a line crop beyond its geometry (``glyphgen.typeset.line``'s
``window`` and ``crop_size``): where it may change pixels (``edit_mask``, only near the
line) and the style attributes it is given (``style_vector``). Training and ``render`` share
these. numpy and OpenCV only: no torch, no factory.
"""

from __future__ import annotations

import numpy as np

EDIT_MARGIN = 0.15  # the edit mask reaches this far (x line height) around the line
# keep_known (glyphgen.model.known): B's glyph is grown this far (x the crop's height)
KNOWN_REACH = 0.12


def reach_px(crop_height: int) -> int:
    """Pixels B's glyph is grown by in a crop ``crop_height`` high (``KNOWN_REACH``)."""
    return max(1, round(KNOWN_REACH * crop_height))


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
