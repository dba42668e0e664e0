"""Where a render's texts go: regions parsed from their forms (a box, 4 points), the canvas
when there is no background, texts paired with regions, and the checks that need the image
and the fonts. numpy and OpenCV only: a refusal costs no torch import.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from glyphgen.images import DEFAULT_MAX_PIXELS
from glyphgen.model.render import RegionRequest
from glyphgen.typeset.fonts import FontLibrary
from glyphgen.typeset.line import line_faces

PAPER = (248, 245, 238)  # default background colour
MARGIN = 24  # default canvas margin around generated regions, pixels


class RenderError(ValueError):
    """Bad input to render: empty text, characters no font has, a region off the image."""


def parse_region(spec: str) -> np.ndarray:
    """ "x0,y0,x1,y1" (a box) or 8 numbers (4 points clockwise from the reading start)."""
    try:
        v = [float(x) for x in spec.replace(" ", "").split(",")]
    except ValueError as exc:
        raise RenderError(f"region {spec!r} is not a list of numbers") from exc
    return region_from_numbers(v, spec)


def region_from_numbers(v: Sequence[float], spec: object) -> np.ndarray:
    """The (4, 2) polygon of a box (4 numbers) or of 4 points (8 numbers); ``spec`` is how
    errors name the region."""
    if not all(math.isfinite(x) for x in v):
        raise RenderError(f"region {spec!r}: every coordinate must be a finite number")
    if len(v) == 4:
        x0, y0, x1, y1 = v
        if x1 <= x0 or y1 <= y0:
            raise RenderError(f"region {spec!r}: need x0 < x1 and y0 < y1")
        return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)
    if len(v) == 8:
        poly = np.array(v, np.float64).reshape(4, 2)
        if abs(cv2.contourArea(poly.astype(np.float32))) < 1:
            raise RenderError(f"region {spec!r} has no area")
        return poly
    raise RenderError(f"region {spec!r}: give x0,y0,x1,y1 or 8 numbers (4 points), got {len(v)}")


def default_canvas(text: str, vertical: bool, em: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """A plain background just large enough for one line of ``text``, and its region."""
    along, across = round(em * 1.05 * max(len(text), 1)), em
    w, h = (across, along) if vertical else (along, across)
    canvas = np.full((h + 2 * MARGIN, w + 2 * MARGIN, 3), PAPER, np.uint8)
    return canvas, parse_region(f"{MARGIN},{MARGIN},{MARGIN + w},{MARGIN + h}")


def centred_region(image: np.ndarray, text: str, vertical: bool) -> np.ndarray:
    """A region in the middle of ``image`` for one line of ``text``."""
    h, w = image.shape[:2]
    n = max(len(text), 1) * 1.05
    if vertical:
        along = 0.8 * h
        across = min(along / n, 0.3 * w)
        along = min(along, across * n)
        x0, y0 = (w - across) / 2, (h - along) / 2
        return parse_region(f"{x0},{y0},{x0 + across},{y0 + along}")
    along = 0.8 * w
    across = min(along / n, 0.3 * h)
    along = min(along, across * n)
    x0, y0 = (w - along) / 2, (h - across) / 2
    return parse_region(f"{x0},{y0},{x0 + along},{y0 + across}")


def layout_requests(
    texts: Sequence[str],
    polygons: Sequence[np.ndarray],
    image: np.ndarray | None,
    vertical: bool,
) -> tuple[np.ndarray, list[RegionRequest]]:
    """The image to draw on and one request per region, paired as ``glyphgen render`` pairs
    its flags: no region puts one line in the middle of ``image`` (or of a canvas made for
    it); one text goes into every region; otherwise one text per region. Without ``image``
    the canvas is plain light grey reaching ``MARGIN`` past the regions."""
    texts, polygons = list(texts), list(polygons)
    if not texts:
        raise RenderError("no text to draw; give at least one")
    if image is None and polygons:
        w = int(max(p[:, 0].max() for p in polygons)) + MARGIN
        h = int(max(p[:, 1].max() for p in polygons)) + MARGIN
        if w * h > DEFAULT_MAX_PIXELS:
            raise RenderError(
                f"the regions need a {w}x{h} canvas, over the limit of {DEFAULT_MAX_PIXELS:,} "
                "pixels; give smaller regions or a background image"
            )
        image = np.full((h, w, 3), 248, np.uint8)  # light grey, as this has always drawn
    if not polygons:
        if len(texts) != 1:
            raise RenderError(f"{len(texts)} texts need as many regions; give one per text")
        if image is None:
            image, poly = default_canvas(texts[0], vertical)
        else:
            poly = centred_region(image, texts[0], vertical)
        polygons = [poly]
    if len(texts) == 1:
        texts = texts * len(polygons)
    if len(texts) != len(polygons):
        raise RenderError(f"{len(texts)} texts for {len(polygons)} regions; give one per region")
    assert image is not None
    return image, [RegionRequest(t, p, vertical) for t, p in zip(texts, polygons, strict=True)]


def check_requests(requests: list[RegionRequest], image: np.ndarray, fonts: FontLibrary) -> None:
    h, w = image.shape[:2]
    for k, req in enumerate(requests):
        if not req.text.strip():
            raise RenderError(f"region {k}: the text is empty")
        try:
            line_faces(fonts, req.text)
        except ValueError as exc:
            raise RenderError(f"region {k}: {exc}") from exc
        p = req.polygon
        if (
            p[:, 0].min() < -0.5
            or p[:, 1].min() < -0.5
            or p[:, 0].max() > w + 0.5
            or p[:, 1].max() > h + 0.5
        ):
            raise RenderError(
                f"region {k} {p.round(1).tolist()} reaches outside the {w}x{h} image; "
                "give a region inside it"
            )
