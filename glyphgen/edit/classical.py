"""The classical text edit, no model: replace the text A of a region by text B in A's style.

``classical_edit`` in four steps, all on the image's own pixels (no resampling of the
photo: only B's glyph is drawn in a rectified frame and warped in):

1. find A: cluster the region's pixels in CIELAB (k-means, 2 or 3 clusters, deterministic
   start). The background is what the surface just *outside* the region looks like: a
   cluster is background when its share of the outer ring (pixels within ``ring`` px around
   the region, assigned to the nearest centre) is at least half its share of the region;
   text is what stays, the minority that does not reach outside. With two text clusters,
   one lying between the background and the other in CIELAB is the other's anti-aliased
   fringe; otherwise the one touching the background more is a stroke (outline) ring
   around the fill. No text cluster (nothing differs from the surround by ``min_contrast``)
   means no text was found;
2. remove A: ``cv2.inpaint`` (Telea or Navier-Stokes) over A's pixels grown by ``dilate``
   px (and A's shadow, when step 4's estimate finds one); when no text was found nothing
   is erased: only B's ink and its effects change the box;
3. colours: given colours win, then a style reference crop (clustered as in 1, its border
   standing in for the outer ring), then A's own pixels (median CIELAB of the fill cluster
   away from its fringe); with none of these, black or white, whichever differs more from
   the restored surface (as the glyph model's draft does);
4. draw B in A's style (``glyphgen.edit.style``, by default): the face nearest A's ink
   (given A's text), grown or thinned to A's stroke width, at A's letter spacing, mapped
   onto the quad as the factory places a line, its glyphs at the size and on the centre
   line of A's in their cells, and painted as the factory composes one:
   A's shadow, outline ring and fill colour, as blurred and as shaded as A was. With
   ``font="off"``, B in the canonical font fitted to A's quad:
   ``glyphgen.typeset.line.window`` rectifies the quad, ``glyphgen.typeset.line.draw_line``
   lays B out in it (the code the glyph model's draft uses), and the coverage is warped back onto the image and painted in the text colour,
   over a stroke ring when A had one.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import cv2
import numpy as np

from glyphgen.edit import style as st
from glyphgen.typeset import geometry as geo
from glyphgen.typeset.fonts import FontLibrary
from glyphgen.typeset.line import crop_size, draw_line, glyph_cache, line_faces, window

RGB = tuple[int, int, int]
INPAINT_METHODS = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}


@dataclass(frozen=True)
class ClassicalConfig:
    clusters: int = 3  # k-means clusters: 2 (text, background) or 3 (adds a fringe or ring)
    ring: int = 4  # px: the outer ring that shows the surface around the region
    min_contrast: float = 12.0  # CIELAB distance from the background for a cluster to be text
    dilate: int = 2  # px: A's pixels are grown this much before inpainting
    inpaint: str = "telea"  # "telea" (Telea 2004) or "ns" (Navier-Stokes, Bertalmio 2001)
    inpaint_radius: int = 3  # px: cv2.inpaint's neighbourhood
    sample: int = 20_000  # at most this many region pixels fit the clusters (evenly strided)
    stroke_share: float = 0.2  # region share of stroke-like pixels that counts as text there

    def __post_init__(self) -> None:
        if self.clusters not in (2, 3):
            raise ValueError(f"clusters must be 2 or 3, got {self.clusters}")
        if self.inpaint not in INPAINT_METHODS:
            raise ValueError(
                f"unknown inpaint method {self.inpaint!r}; use one of {sorted(INPAINT_METHODS)}"
            )
        for name in ("ring", "dilate", "inpaint_radius", "sample"):
            if getattr(self, name) < (1 if name != "dilate" else 0):
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")


@dataclass(frozen=True)
class TextColours:
    text: RGB
    stroke: RGB | None = None  # an outline ring around the strokes, when there is one
    stroke_width: float = 0.0  # px, in the image


@dataclass(frozen=True)
class TextPixels:
    """What step 1 found in a region: masks over the whole image and the CIELAB centres."""

    found: bool
    fill: np.ndarray  # (H, W) bool: the text's fill cluster
    text: np.ndarray  # (H, W) bool: everything to erase (fill, fringe, ring)
    ring: np.ndarray | None  # (H, W) bool: the stroke ring, when one was found
    colours: TextColours | None  # from the pixels; None when no text was found


@dataclass(frozen=True)
class ClassicalEdit:
    image: np.ndarray  # (H, W, 3) uint8: the edited image
    found_text: bool  # step 1 found A's pixels (else nothing was erased)
    text_mask: np.ndarray  # (H, W) bool: A's pixels as found (before growing)
    erased: np.ndarray  # (H, W) bool: what was inpainted
    glyph: np.ndarray  # (H, W) uint8: B's coverage as painted (0-255)
    line: np.ndarray  # (4, 2) image px: where B's line stands
    quads: list[np.ndarray]  # (4, 2) image px: one per character of B, reading order
    colours: TextColours  # what B was painted in
    colour_source: str  # "given" | "style reference" | "region" | "contrast"
    style: st.TextStyle  # face, weight, fill, outline, shadow B was drawn in

    def changed(self, grow: int = 2) -> np.ndarray:
        """Every pixel the edit changed (bool (H, W)): A's erased pixels and B's ink with its
        outline and shadow, grown by ``grow`` px."""
        return self.erased | st.effects_mask(self.glyph, self.style, grow)


# -- step 1: A's pixels -------------------------------------------------------------------


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (OpenCV, D65: L in 0-100) of uint8 sRGB pixels (..., 3), float32."""
    flat = np.asarray(rgb, np.uint8).reshape(-1, 1, 3).astype(np.float32) / 255
    return cv2.cvtColor(flat, cv2.COLOR_RGB2Lab).reshape(*np.shape(rgb)[:-1], 3)


def to_rgb(lab: np.ndarray) -> RGB:
    """One CIELAB colour (3,) back to uint8 sRGB."""
    rgb = cv2.cvtColor(np.asarray(lab, np.float32).reshape(1, 1, 3), cv2.COLOR_Lab2RGB)
    r, g, b = np.clip(np.round(rgb.reshape(3) * 255), 0, 255).astype(int)
    return int(r), int(g), int(b)


def kmeans(points: np.ndarray, k: int, iterations: int = 25) -> np.ndarray:
    """(k, 3) centres of (N, 3) points by Lloyd's k-means, started deterministically at the
    5th / 50th / 95th percentiles (5th / 95th for k = 2) along the first principal axis."""
    mean = points.mean(axis=0)
    centred = points - mean
    axis = np.linalg.svd(centred[:: max(1, len(points) // 2000)], full_matrices=False)[2][0]
    proj = centred @ axis
    qs = [5, 95] if k == 2 else [5, 50, 95]
    centres = np.array([points[np.argmin(np.abs(proj - np.percentile(proj, q)))] for q in qs])
    for _ in range(iterations):
        labels = assign(points, centres)
        new = np.array(
            [
                points[labels == j].mean(axis=0) if (labels == j).any() else centres[j]
                for j in range(k)
            ]
        )
        if np.allclose(new, centres, atol=1e-3):
            break
        centres = new
    return centres


def assign(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre per point: (N,)."""
    return np.argmin(((points[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)


def find_text(
    image: np.ndarray, region: np.ndarray, cfg: ClassicalConfig, surround: np.ndarray | None = None
) -> TextPixels:
    """Step 1 (module docstring): A's pixels inside ``region`` (bool (H, W) mask).

    ``surround`` (bool (H, W)) are the pixels that show the background; by default the
    ring of ``cfg.ring`` px around the region, or, where the region leaves no pixel outside
    it, the region's own outermost ``cfg.ring`` px.
    """
    h, w = region.shape
    if surround is None:
        box = np.ones((2 * cfg.ring + 1,) * 2, np.uint8)
        surround = cv2.dilate(region.astype(np.uint8), box).astype(bool) & ~region
        if not surround.any():
            surround = region & ~cv2.erode(
                region.astype(np.uint8), box, borderType=cv2.BORDER_CONSTANT, borderValue=0
            ).astype(bool)
    lab = to_lab(image)
    inside = lab[region]  # (N, 3)
    stride = max(1, len(inside) // cfg.sample)
    centres = kmeans(inside[::stride].astype(np.float64), cfg.clusters)
    labels = assign(inside, centres)
    share_in = np.bincount(labels, minlength=len(centres)) / len(labels)
    outside = assign(lab[surround], centres)
    share_out = np.bincount(outside, minlength=len(centres)) / max(1, len(outside))
    background = [j for j in range(len(centres)) if share_out[j] >= 0.5 * share_in[j]]
    if not background:  # every cluster is rarer outside than inside: take the commonest there
        background = [int(np.argmax(share_out / np.maximum(share_in, 1e-9)))]

    def contrast(j: int) -> float:
        return float(min(np.linalg.norm(centres[j] - centres[b]) for b in background))

    text = [
        j for j in range(len(centres)) if j not in background and contrast(j) >= cfg.min_contrast
    ]
    empty = np.zeros((h, w), bool)
    if not text:
        return TextPixels(False, empty, empty, None, None)
    label_map = np.full((h, w), -1, np.int64)
    label_map[region] = labels
    fill_j, ring_j = max(text, key=contrast), None
    if len(text) == 2:
        other = min(text, key=contrast)
        nearest_bg = min(background, key=lambda b: np.linalg.norm(centres[other] - centres[b]))
        if not _between(centres[other], centres[nearest_bg], centres[fill_j]):
            # Two distinct colours: the one that meets the background more is the outline.
            bg_near = cv2.dilate(
                np.isin(label_map, background).astype(np.uint8), np.ones((3, 3), np.uint8)
            )
            touch = {j: float(bg_near[label_map == j].mean()) for j in text}
            ring_j = max(text, key=lambda j: touch[j])
            fill_j = other if ring_j == fill_j else fill_j
    fill = label_map == fill_j
    erase = np.isin(label_map, text)
    ring = label_map == ring_j if ring_j is not None else None
    surface = centres[min(background, key=lambda b: np.linalg.norm(centres[fill_j] - centres[b]))]
    return TextPixels(True, fill, erase, ring, _colours(lab, fill, ring, surface))


def _between(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
    """``p`` lies near the segment from ``a`` to ``b`` (a blend of the two colours): its
    distance to the segment is under a quarter of the segment's length, its projection
    strictly inside."""
    ab = b - a
    t = float((p - a) @ ab / max(float(ab @ ab), 1e-9))
    gap = float(np.linalg.norm(a + t * ab - p))
    return 0 < t < 1 and gap < 0.25 * float(np.linalg.norm(ab))


def _off_segment(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of each of (N, 3) points to the segment from ``a`` to ``b``: (N,)."""
    ab = b - a
    t = np.clip((points - a) @ ab / max(float(ab @ ab), 1e-9), 0, 1)
    return np.linalg.norm(points - (a + t[:, None] * ab), axis=1)


def _colours(
    lab: np.ndarray, fill: np.ndarray, ring: np.ndarray | None, surface: np.ndarray
) -> TextColours:
    """Median CIELAB of the fill's core (the fill eroded by 1 px when that leaves pixels:
    edge pixels are blends with the background), and, when there is a ring, of its purest
    quarter. A thin outline is mostly blends with the fill or the surface, colours on the
    segments from the outline's colour to those two; the purest pixels are those farthest
    from the segment fill-to-surface (``surface``: the background centre)."""
    core = cv2.erode(fill.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    fill_lab = np.median(lab[core if core.any() else fill], axis=0)
    text = to_rgb(fill_lab)
    if ring is None or not ring.any():
        return TextColours(text)
    # A band w px wide: its distance transform peaks at about w / 2 in the band's middle.
    dist = cv2.distanceTransform(ring.astype(np.uint8), cv2.DIST_L2, 3)
    width = max(1.0, 2 * float(np.percentile(dist[ring], 90)))
    pixels = lab[ring].astype(np.float64)
    apart = _off_segment(pixels, fill_lab, surface)
    purest = pixels[apart >= np.percentile(apart, 75)]
    return TextColours(text, to_rgb(np.median(purest, axis=0)), width)


# -- steps 2-4 ----------------------------------------------------------------------------


def polygon_mask(polygon: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The quad filled (pixels whose centres it covers, after rounding): bool (H, W)."""
    out = np.zeros(shape, np.uint8)
    cv2.fillPoly(out, [np.round(polygon).astype(np.int32)], 1)
    return out.astype(bool)


def check_inputs(image: np.ndarray, polygon: np.ndarray, text_b: str, fonts: FontLibrary) -> None:
    """Loud errors before any work: image type, the quad inside the image, B drawable."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(
            f"the image is {image.dtype} {image.shape}; give an RGB uint8 (H, W, 3) array"
        )
    p = np.asarray(polygon, np.float64)
    if p.shape != (4, 2):
        raise ValueError(
            f"the region has shape {p.shape}; give 4 points (x, y) clockwise from where "
            "reading starts"
        )
    h, w = image.shape[:2]
    if (
        p[:, 0].min() < -0.5
        or p[:, 1].min() < -0.5
        or p[:, 0].max() > w + 0.5
        or p[:, 1].max() > h + 0.5
    ):
        raise ValueError(f"the region {p.round(1).tolist()} reaches outside the {w}x{h} image")
    if abs(cv2.contourArea(p.astype(np.float32))) < 4:
        raise ValueError(f"the region {p.round(1).tolist()} has (almost) no area")
    if not text_b.strip():
        raise ValueError("text B is empty: give the text to draw")
    line_faces(fonts, text_b)  # raises UncoveredCharacters, naming the characters


def has_strokes(image: np.ndarray, region: np.ndarray, size: float, cfg: ClassicalConfig) -> bool:
    """Whether strokes stand out of the region's surface where step 1's colours found none:
    the share of the region's pixels whose luminance differs from the surface around them
    (morphological top-hat and black-hat, a square a quarter of the line's ``size`` wide)
    by ``cfg.min_contrast`` (CIELAB L) or more is at least ``cfg.stroke_share``."""
    lum = to_lab(image)[..., 0]
    k = max(3, round(size / 4) | 1)
    kernel = np.ones((k, k), np.uint8)
    top = cv2.morphologyEx(lum, cv2.MORPH_TOPHAT, kernel)
    black = cv2.morphologyEx(lum, cv2.MORPH_BLACKHAT, kernel)
    strong = np.maximum(top, black)[region] >= cfg.min_contrast
    return float(strong.mean()) >= cfg.stroke_share


def erase_text(image: np.ndarray, mask: np.ndarray, cfg: ClassicalConfig) -> np.ndarray:
    """Step 2: ``image`` with ``mask`` (bool (H, W)) inpainted by ``cfg.inpaint``."""
    return cv2.inpaint(
        image, mask.astype(np.uint8) * 255, cfg.inpaint_radius, INPAINT_METHODS[cfg.inpaint]
    )


def contrast_colour(image: np.ndarray, region: np.ndarray) -> RGB:
    """Black or white, whichever differs more from the region's mean luminance."""
    return (0, 0, 0) if float(image[region].mean()) > 127.5 else (255, 255, 255)


def draw_text(
    polygon: np.ndarray, text: str, vertical: bool, shape: tuple[int, int], fonts: FontLibrary
) -> np.ndarray:
    """Step 4's coverage: ``text`` in the canonical font fitted to ``polygon``, uint8 (H, W)."""
    return fit_text(polygon, text, vertical, shape, fonts)[0]


def fit_text(
    polygon: np.ndarray, text: str, vertical: bool, shape: tuple[int, int], fonts: FontLibrary
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """``text`` in the canonical font fitted to ``polygon``: its coverage uint8 (H, W), and
    where it stands, the line's polygon and one quad per character ((4, 2) image pixels).

    The quad is rectified by ``window`` (no margin: the crop is the quad) at about the
    image's own resolution across the line, ``draw_line`` lays the text out in it, and the
    coverage and the quads are warped back through the inverse homography.
    """
    p = np.asarray(polygon, np.float64)
    across = float(np.linalg.norm(p[1] - p[0]) if vertical else np.linalg.norm(p[3] - p[0]))
    height = max(8, math.ceil(across))
    _, _, need = window(p, vertical, height, 1.0, None)
    size = crop_size(height, vertical, need, 1)
    m, rect, _ = window(p, vertical, height, 1.0, max(size))
    glyph, line, quads = draw_line(text, rect, vertical, size, fonts, glyph_cache(fonts))
    inv = np.linalg.inv(m)
    back = [cv2.perspectiveTransform(q[None].astype(np.float64), inv)[0] for q in [line, *quads]]
    return geo.warp(glyph, inv, (shape[1], shape[0])), back[0], back[1:]


def paint(image: np.ndarray, coverage: np.ndarray, colours: TextColours) -> np.ndarray:
    """``coverage`` (uint8) painted over ``image`` in the text colour, over a ring of the
    stroke colour ``stroke_width`` px wide when there is one (grey dilation of the coverage)."""
    out: np.ndarray = image.astype(np.float32)
    if colours.stroke is not None and colours.stroke_width > 0:
        r = max(1, round(colours.stroke_width))
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        a = cv2.dilate(coverage, disc).astype(np.float32)[..., None] / 255
        out = out * (1 - a) + np.array(colours.stroke, np.float32) * a
    a = coverage.astype(np.float32)[..., None] / 255
    out = out * (1 - a) + np.array(colours.text, np.float32) * a
    return np.round(out).astype(np.uint8)


def classical_edit(
    image: np.ndarray,
    polygon: np.ndarray,
    text_b: str,
    fonts: FontLibrary,
    *,
    vertical: bool = False,
    style_ref: np.ndarray | None = None,
    colours: TextColours | None = None,
    cfg: ClassicalConfig | None = None,
    font: str = "auto",
    old_text: str | None = None,
) -> ClassicalEdit:
    """Replace the text in ``polygon`` ((4, 2) x, y image pixels, clockwise from where
    reading starts; a column when ``vertical``) by ``text_b``, following the module's four
    steps. ``style_ref`` (an RGB uint8 crop of text in the wanted style) or ``colours``
    override the colours read from the region. The input image is not modified.

    ``font``: ``"auto"`` draws B in A's style as ``glyphgen.edit.style`` estimates it (the
    nearest face to A's ink when ``old_text``, A's text, is given; A's weight, outline and
    shadow); a face id of ``fonts`` draws B in that face (A's outline and shadow kept);
    ``"off"`` draws B in the canonical font with A's colours only."""
    cfg = cfg or ClassicalConfig()
    check_inputs(image, polygon, text_b, fonts)
    if font not in st.FONT_MODES:
        fonts.face(font)  # KeyError naming the known faces
    shape = (image.shape[0], image.shape[1])
    p = np.asarray(polygon, np.float64)
    region = polygon_mask(p, shape)
    if not region.any():
        raise ValueError(f"the region {np.round(polygon, 1).tolist()} covers no pixel centre")
    # 1) A's pixels, and its style; 2) erase them. Where the colours tell no text apart but
    # there is some (A's text is known, or strokes stand out of the surface), the whole box
    # is erased; a box with neither is left alone: only B's ink and its effects change it.
    found = find_text(image, region, cfg)
    erased = np.zeros(shape, bool)
    if found.found:
        grow = np.ones((2 * cfg.dilate + 1,) * 2, np.uint8)
        erased = cv2.dilate(found.text.astype(np.uint8), grow).astype(bool)
    elif (old_text or "").strip() or has_strokes(image, region, geo.across_size(p, vertical), cfg):
        ys, xs = np.nonzero(region)
        erased[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] = True
    clean = erase_text(image, erased, cfg) if erased.any() else image.copy()
    glyphs = glyph_cache(fonts)
    estimate = None
    if found.found and font != "off" and found.colours is not None:
        c = found.colours
        # A's ink as a rendering's coverage binarized at a half (the fill cluster alone
        # misses the strokes' blended edges); the fill cluster where an outline surrounds it.
        ink, share = found.fill, None
        if found.ring is None:
            share = st.fill_share(image, clean, c.text, erased & region)
            ink = st.ink_coverage(share)
            ink, share = (ink, share) if ink.sum() >= 20 else (found.fill, None)
        estimate = st.estimate_style(
            image,
            p,
            vertical,
            ink,
            found.text,
            region,
            (c.text, c.stroke, c.stroke_width),
            fonts,
            glyphs,
            old_text=old_text,
            candidates=None if font == "auto" else [font],
            ring=found.ring,
            share=share,
        )
        if estimate.shadow is not None:  # A's shadow goes too
            erased |= st.shadow_zone(shape, ink, estimate.shadow) & region
            clean = erase_text(image, erased, cfg)
    # 3) colours.
    if colours is not None:
        chosen, source = colours, "given"
    elif style_ref is not None:
        chosen, source = reference_colours(style_ref, cfg), "style reference"
    elif found.colours is not None:
        chosen, source = found.colours, "region"
        if estimate is not None and estimate.outline is None and chosen.stroke is not None:
            chosen = TextColours(chosen.text)  # the ring was A's shadow
    else:
        chosen, source = TextColours(contrast_colour(clean, region)), "contrast"
    # 4) B at A's quad, in A's style.
    style = st.TextStyle(
        face=fonts.canonical().id if font in st.FONT_MODES else font,
        fill=chosen.text,
        outline=chosen.stroke,
        outline_width=chosen.stroke_width if chosen.stroke is not None else 0.0,
        source="default",
    )
    if estimate is not None:
        # A's shading is around A's fill: kept, with the plane's colour at its centre as the
        # fill (the core's, less the fringe the cluster holds), where the fill is A's own
        shading = estimate.shading if source == "region" else None
        style = dataclasses.replace(
            estimate,
            fill=shading.fill if shading is not None and shading.fill else style.fill,
            outline=style.outline,
            outline_width=style.outline_width,
            shading=shading,
        )
    if font == "off":
        glyph, line, quads = fit_text(p, text_b, vertical, shape, fonts)
    else:
        glyph, line, quads = st.draw_styled(p, text_b, vertical, shape, fonts, glyphs, style)
    return ClassicalEdit(
        image=st.paint_styled(clean, glyph, style),
        found_text=found.found,
        text_mask=found.text,
        erased=erased,
        glyph=glyph,
        line=line,
        quads=quads,
        colours=chosen,
        colour_source=source,
        style=style,
    )


def reference_colours(style_ref: np.ndarray, cfg: ClassicalConfig) -> TextColours:
    """Text colours of a style reference crop: step 1 on the whole crop, its outermost
    ``cfg.ring`` px standing for the surround."""
    if style_ref.ndim != 3 or style_ref.shape[2] != 3 or style_ref.dtype != np.uint8:
        raise ValueError(
            f"the style reference is {style_ref.dtype} {style_ref.shape}; give an RGB uint8 crop"
        )
    whole = np.ones(style_ref.shape[:2], bool)
    found = find_text(style_ref, whole, cfg)
    if found.colours is None:
        raise ValueError(
            f"no text found in the {style_ref.shape[1]}x{style_ref.shape[0]} style reference: "
            "give a crop of text on its background, or give the colours"
        )
    return found.colours
