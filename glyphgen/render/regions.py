"""Where a render's texts go: regions parsed from their forms (a box, 4 points), the canvas
when there is no background, texts paired with regions, a region's lines (a text's line
breaks) each given a band of it, and the bounds and checks on all of these. numpy and
OpenCV only: a refusal costs no torch import.

A text with line breaks is that many lines inside its region: the region is cut across
its lines into equal bands (rows top to bottom; columns right to left, as vertical Chinese
reads), and each line is drawn as large as fits its band.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from glyphgen.images import DEFAULT_MAX_PIXELS
from glyphgen.limits import MIN_CHAR_PX, LimitError
from glyphgen.model.render import RegionRequest
from glyphgen.typeset.fonts import FontLibrary
from glyphgen.typeset.line import line_faces

PAPER = (248, 245, 238)  # default background colour
MARGIN = 24  # default canvas margin around generated regions, pixels
SPACING = 1.05  # em along a line per character (draw_line lays characters 0.05 em apart)


class RenderError(ValueError):
    """Bad input to render: empty text, characters no font has, a region off the image."""


class RenderLimitError(RenderError, LimitError):
    """A render past one of ``glyphgen.limits``' bounds; the message names it and the fix."""


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


def text_lines(text: str) -> list[str]:
    """The lines of a text (``\\n`` breaks them)."""
    return text.split("\n")


def default_canvas(text: str, vertical: bool, em: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """A plain background just large enough for ``text`` (one line per line of it), and
    its region."""
    lines = text_lines(text)
    along = round(em * SPACING * max(max(len(line) for line in lines), 1))
    across = em * len(lines)
    w, h = (across, along) if vertical else (along, across)
    canvas = np.full((h + 2 * MARGIN, w + 2 * MARGIN, 3), PAPER, np.uint8)
    return canvas, parse_region(f"{MARGIN},{MARGIN},{MARGIN + w},{MARGIN + h}")


def centred_region(image: np.ndarray, text: str, vertical: bool) -> np.ndarray:
    """A region in the middle of ``image`` for ``text``: 80% of the image along its lines,
    each line at most 30% of it across (all of them at most 80%)."""
    lines = text_lines(text)
    h, w = image.shape[:2]
    n = max(max(len(line) for line in lines), 1) * SPACING
    long, short = (h, w) if vertical else (w, h)
    along = 0.8 * long
    per_line = min(along / n, short * min(0.3, 0.8 / len(lines)))
    along, across = min(along, per_line * n), per_line * len(lines)
    a0, c0 = (long - along) / 2, (short - across) / 2
    if vertical:
        return parse_region(f"{c0},{a0},{c0 + across},{a0 + along}")
    return parse_region(f"{a0},{c0},{a0 + along},{c0 + across}")


def sides(polygon: np.ndarray, vertical: bool) -> tuple[float, float]:
    """(along, across) of a region: its mean length along the reading direction and
    across it, in image pixels (a column reads from p0 to p3, a row from p0 to p1)."""
    p = np.asarray(polygon, np.float64)
    row = (np.linalg.norm(p[1] - p[0]) + np.linalg.norm(p[2] - p[3])) / 2
    col = (np.linalg.norm(p[3] - p[0]) + np.linalg.norm(p[2] - p[1])) / 2
    return (float(col), float(row)) if vertical else (float(row), float(col))


def line_bands(polygon: np.ndarray, count: int, vertical: bool) -> list[np.ndarray]:
    """``polygon`` cut across its lines into ``count`` equal bands, in reading order: rows
    from the p0-p1 edge down, columns from the p1-p2 edge leftwards (vertical Chinese reads
    its columns right to left). Each band is (4, 2), clockwise from where it reads from."""
    p = np.asarray(polygon, np.float64)
    bands = []
    for j in range(count):
        if vertical:  # columns: cut the p0-p1 (and p3-p2) edge, from the p1 end
            a, b = 1 - (j + 1) / count, 1 - j / count
            top0, top1 = p[0] + (p[1] - p[0]) * a, p[0] + (p[1] - p[0]) * b
            bot0, bot1 = p[3] + (p[2] - p[3]) * a, p[3] + (p[2] - p[3]) * b
            bands.append(np.array([top0, top1, bot1, bot0]))
        else:  # rows: cut the p0-p3 (and p1-p2) edge, from the p0 end
            a, b = j / count, (j + 1) / count
            left0, left1 = p[0] + (p[3] - p[0]) * a, p[0] + (p[3] - p[0]) * b
            right0, right1 = p[1] + (p[2] - p[1]) * a, p[1] + (p[2] - p[1]) * b
            bands.append(np.array([left0, right0, right1, left1]))
    return bands


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
    """Each region inside ``image``, each of its lines non-empty, covered by the fonts and
    legible in its band (``MIN_CHAR_PX``); RenderError naming the region and the fix."""
    h, w = image.shape[:2]
    for k, req in enumerate(requests):
        if not req.text.strip():
            raise RenderError(f"region {k}: the text is empty")
        lines = text_lines(req.text)
        for j, line in enumerate(lines):
            if not line.strip():
                where = f"region {k}, line {j + 1} of {len(lines)}"
                raise RenderError(f"{where} is empty; remove the blank line")
            try:
                line_faces(fonts, line)
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
        check_legible(k, req)


class TooSmallToRead(RenderLimitError):
    """A text whose characters would be drawn under ``MIN_CHAR_PX`` in its region: ``em``
    (px) they would be, ``need`` (width, height px) the region they would need."""

    def __init__(self, message: str, em: float, need: tuple[int, int]) -> None:
        super().__init__(message)
        self.em, self.need = em, need


def check_legible(k: int, req: RegionRequest) -> None:
    """Refuse a text whose characters would be drawn under ``MIN_CHAR_PX`` in region ``k``,
    saying the size the region would need."""
    lines = text_lines(req.text)
    along, across = sides(req.polygon, req.vertical)
    longest = max(len(line) for line in lines)
    em = min(across / len(lines), along / (SPACING * longest))
    if em >= MIN_CHAR_PX:
        return
    need_along = math.ceil(max(along, MIN_CHAR_PX * SPACING * longest))
    need_across = math.ceil(max(across, MIN_CHAR_PX * len(lines)))
    need_w, need_h = (need_across, need_along) if req.vertical else (need_along, need_across)
    have_w, have_h = (across, along) if req.vertical else (along, across)
    chars = sum(len(line) for line in lines)
    raise TooSmallToRead(
        f"region {k}: {chars} characters in {len(lines)} line(s) of a {have_w:.0f}x"
        f"{have_h:.0f} px region would be {em:.1f} px each, under the {MIN_CHAR_PX} px a "
        f"character needs to be read; give a region of at least {need_w}x{need_h} px, or "
        "a shorter text (or break it into lines)",
        em,
        (need_w, need_h),
    )
