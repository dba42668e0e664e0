"""Figures of the style-edit benchmark: text A in an image region replaced by text B in A's
style, the output compared with a ground-truth image that has B drawn there.

Every figure is a pure function of numpy arrays. Conventions shared by all of them:

- images are RGB ``uint8`` arrays (H, W, 3) in sRGB; the output and the ground truth have
  the same shape;
- a region is a polygon ((N, 2) float array of x, y image pixels, N >= 3, filled with
  ``cv2.fillPoly`` after rounding to the nearest pixel) or a mask ((H, W), bool or numeric);
- a mask (region, or B's glyph) is binary: a pixel is in when its value is at least half of
  full scale (``True``; >= 128 for ``uint8`` coverage; >= 0.5 for floats), so the
  anti-aliased fringe of a glyph, a mix of ink and background, counts as out;
- texts are compared as given: normalize them first (``glyphgen.eval.normalize``) when the
  benchmark wants full-width and half-width forms or spaces folded.

Per edit (``edit_figures`` computes them all):

- residue (``old_text_residue``): does the reading still say A?
- colour error (``text_colour_error``): CIEDE2000 between the mean text colours;
- PSNR / SSIM over the region's bounding box (``region_psnr``, ``region_ssim``);
- background PSNR (``background_psnr``): the region minus B's dilated glyph, i.e. how well A
  was erased and the surface restored;
- seam (``seam_step``): the colour step the edit leaves at the region's border;
- colour cast (``colour_cast``): chroma gained or lost in the region.

Over edits: ``residue_summary``, ``median_p90`` and ``paired_bootstrap`` (a 95% interval of
the mean difference between two rows of the benchmark on the same edits).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import Levenshtein
import numpy as np

from glyphgen.typeset.geometry import stroke_width

# -- masks and regions -------------------------------------------------------------------


def binary_mask(mask: np.ndarray, shape: tuple[int, int], name: str = "mask") -> np.ndarray:
    """``mask`` as a bool (H, W) array, in where at least half of full scale (see module)."""
    mask = np.asarray(mask)
    if mask.shape != shape:
        raise ValueError(f"{name} has shape {mask.shape}; it must match the image's {shape}")
    if mask.dtype == bool:
        return mask
    if mask.dtype == np.uint8:
        return mask >= 128
    if np.issubdtype(mask.dtype, np.floating):
        return mask >= 0.5
    raise ValueError(f"{name} has dtype {mask.dtype}; give bool, uint8 (0-255) or float (0-1)")


def region_mask(region: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The region (polygon or mask, see module) as a bool (H, W) mask; it must not be empty."""
    region = np.asarray(region)
    if region.ndim == 2 and region.shape == shape:
        out = binary_mask(region, shape, "region mask")
    elif region.ndim == 2 and region.shape[1] == 2 and len(region) >= 3:
        canvas = np.zeros(shape, np.uint8)
        cv2.fillPoly(canvas, [np.round(region).astype(np.int32)], 1)
        out = canvas.astype(bool)
    else:
        raise ValueError(
            f"region has shape {region.shape}: give a polygon (N >= 3, 2) of x, y pixels "
            f"or a mask of the image's shape {shape}"
        )
    if not out.any():
        raise ValueError(
            f"the region covers no pixel of the {shape[1]}x{shape[0]} image: "
            "check its coordinates (x, y order, image pixels)"
        )
    return out


def bounding_box(mask: np.ndarray) -> tuple[slice, slice]:
    """(rows, columns) slices of the smallest box holding every pixel of a non-empty mask."""
    ys, xs = np.nonzero(mask)
    return slice(int(ys.min()), int(ys.max()) + 1), slice(int(xs.min()), int(xs.max()) + 1)


def _check_pair(output: np.ndarray, truth: np.ndarray) -> tuple[int, int]:
    for name, im in (("output", output), ("ground truth", truth)):
        if im.ndim != 3 or im.shape[2] != 3 or im.dtype != np.uint8:
            raise ValueError(
                f"the {name} image is {im.dtype} {im.shape}; give an RGB uint8 (H, W, 3) array"
            )
    if output.shape != truth.shape:
        raise ValueError(
            f"the output is {output.shape[1]}x{output.shape[0]} but the ground truth is "
            f"{truth.shape[1]}x{truth.shape[0]}: compare images of the same size"
        )
    return output.shape[0], output.shape[1]


def _square(radius: int) -> np.ndarray:
    return np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)


# -- old-text residue --------------------------------------------------------------------


@dataclass(frozen=True)
class Residue:
    residue: bool  # d(reading, A) < d(reading, B); a tie is not residue
    to_a: int  # Levenshtein distance from the reading to A
    to_b: int  # ... to B
    old_chars: int  # characters read that belong to A and not to B (multiset, see below)


def old_text_residue(reading: str, text_a: str, text_b: str) -> Residue:
    """Whether the OCR reading of the edited region is closer to the old text A than to B.

    ``residue`` is ``d(reading, A) < d(reading, B)`` with ``d`` the Levenshtein distance
    (insert, delete, substitute, each costing 1). A tie counts as *not* residue: the
    reading is then no evidence that A survived rather than B.

    ``old_chars``: the characters of A that do not occur anywhere in B, taken as a multiset
    (a character twice in A counts up to twice), intersected with the multiset of the
    reading's characters: how many of A's own characters the judge still read. Characters
    A shares with B are never counted, since reading them is correct.
    """
    to_a = Levenshtein.distance(reading, text_a)
    to_b = Levenshtein.distance(reading, text_b)
    in_b = set(text_b)
    only_a = Counter(ch for ch in text_a if ch not in in_b)
    old = sum((only_a & Counter(reading)).values())
    return Residue(residue=to_a < to_b, to_a=to_a, to_b=to_b, old_chars=old)


@dataclass(frozen=True)
class ResidueSummary:
    edits: int
    share: float  # edits with residue / edits
    old_chars: int  # total of ``Residue.old_chars``


def residue_summary(residues: Sequence[Residue]) -> ResidueSummary:
    """Share of edits whose reading is closer to A, and the total of A's characters read."""
    if not residues:
        raise ValueError("no edits to summarise: residue_summary needs at least one Residue")
    share = sum(r.residue for r in residues) / len(residues)
    return ResidueSummary(len(residues), share, sum(r.old_chars for r in residues))


# -- colour: sRGB -> CIELAB, CIEDE2000 ---------------------------------------------------

# Linear sRGB -> XYZ, IEC 61966-2-1 (D65).
_RGB_TO_XYZ = np.array(
    [
        [0.4124, 0.3576, 0.1805],
        [0.2126, 0.7152, 0.0722],
        [0.0193, 0.1192, 0.9505],
    ]
)
# The white point is the matrix's image of RGB white (0.9505, 1.0000, 1.0890, D65), so every
# grey maps to a* = b* = 0 up to float rounding: a grey photo has chroma 0, not ~0.01.
_WHITE = _RGB_TO_XYZ.sum(axis=1)


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65 white, 2-degree observer) of sRGB values in 0-255: (..., 3) -> (..., 3)
    float64, L* in [0, 100]."""
    c = np.asarray(rgb, np.float64) / 255.0
    # sRGB transfer function (IEC 61966-2-1): linear segment below 0.04045.
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    t = lin @ _RGB_TO_XYZ.T / _WHITE
    # CIE 1976: cube root above (6/29)^3, a line below it.
    d = 6 / 29
    f = np.where(t > d**3, np.cbrt(t), t / (3 * d * d) + 4 / 29)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])],
        axis=-1,
    )


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference of (..., 3) CIELAB arrays, parametric factors
    kL = kC = kH = 1.

    Follows G. Sharma, W. Wu, E. N. Dalal, "The CIEDE2000 color-difference formula:
    implementation notes, supplementary test data, and mathematical observations", Color
    Research & Application 30(1), 2005, equations (1)-(23), including their notes: the
    hue angle of a neutral colour (a' = b' = 0) is 0; the mean hue of a pair in which
    either colour is neutral is the plain sum of the two; dh' of such a pair is 0.
    """
    l1, a1, b1 = np.moveaxis(np.asarray(lab1, np.float64), -1, 0)
    l2, a2, b2 = np.moveaxis(np.asarray(lab2, np.float64), -1, 0)
    # (2)-(6): a' stretches a* by a factor that depends on the mean chroma.
    c_bar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_bar**7 / (c_bar**7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.where((a1p == 0) & (b1 == 0), 0.0, np.degrees(np.arctan2(b1, a1p)) % 360)
    h2p = np.where((a2p == 0) & (b2 == 0), 0.0, np.degrees(np.arctan2(b2, a2p)) % 360)
    # (8)-(10): differences; the hue difference goes the short way round the circle.
    dlp = l2 - l1
    dcp = c2p - c1p
    neutral = c1p * c2p == 0
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(neutral, 0.0, dh)
    dHp = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh) / 2)
    # (12)-(14): means; the mean hue also goes the short way round.
    lbp = (l1 + l2) / 2
    cbp = (c1p + c2p) / 2
    hsum = h1p + h2p
    far = np.abs(h1p - h2p) > 180
    hbp = np.where(far, np.where(hsum < 360, (hsum + 360) / 2, (hsum - 360) / 2), hsum / 2)
    hbp = np.where(neutral, hsum, hbp)
    # (15)-(22): weighting functions and the rotation term for blue.
    t = (
        1
        - 0.17 * np.cos(np.radians(hbp - 30))
        + 0.24 * np.cos(np.radians(2 * hbp))
        + 0.32 * np.cos(np.radians(3 * hbp + 6))
        - 0.20 * np.cos(np.radians(4 * hbp - 63))
    )
    d_theta = 30 * np.exp(-(((hbp - 275) / 25) ** 2))
    r_c = 2 * np.sqrt(cbp**7 / (cbp**7 + 25.0**7))
    s_l = 1 + 0.015 * (lbp - 50) ** 2 / np.sqrt(20 + (lbp - 50) ** 2)
    s_c = 1 + 0.045 * cbp
    s_h = 1 + 0.015 * cbp * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c
    # (23)
    return np.sqrt(
        (dlp / s_l) ** 2 + (dcp / s_c) ** 2 + (dHp / s_h) ** 2 + r_t * (dcp / s_c) * (dHp / s_h)
    )


def mean_lab(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The mean CIELAB colour (3,) of ``image``'s pixels under a non-empty bool ``mask``:
    each pixel converted to CIELAB first, then averaged."""
    if not mask.any():
        raise ValueError("the mask selects no pixel: no colour to average")
    return srgb_to_lab(image[mask]).mean(axis=0)


def text_colour_error(output: np.ndarray, truth: np.ndarray, glyph_b: np.ndarray) -> float:
    """CIEDE2000 between the output's and the ground truth's mean text colour: the mean in
    CIELAB (D65, sRGB input) over B's glyph pixels (``glyph_b`` binarised at half coverage,
    so anti-aliased edges are left out). 0 for identical images."""
    shape = _check_pair(output, truth)
    mask = binary_mask(glyph_b, shape, "B's glyph mask")
    if not mask.any():
        raise ValueError("B's glyph mask has no pixel at half coverage or more: nothing to judge")
    return float(ciede2000(mean_lab(output, mask), mean_lab(truth, mask)))


def median_p90(values: Iterable[float]) -> tuple[float, float]:
    """(median, 90th percentile) of a per-edit figure (numpy's linear interpolation)."""
    v = np.asarray(list(values), np.float64)
    if v.size == 0:
        raise ValueError("no values: median_p90 needs at least one")
    return float(np.median(v)), float(np.percentile(v, 90))


# -- fidelity ----------------------------------------------------------------------------

PEAK = 255.0
SSIM_WINDOW = 11  # Wang et al. 2004, section III-C: an 11x11 circular-symmetric Gaussian
SSIM_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03
BACKGROUND_DILATE = 3  # px: B's glyph is grown this much before the background is judged
SEAM_WIDTH = 3  # px: the rings either side of the region's border


def psnr_masked(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """PSNR in dB, 10 log10(255^2 / MSE), the MSE over every channel of the pixels under a
    non-empty bool mask; ``inf`` when they are equal."""
    if not mask.any():
        raise ValueError("the mask selects no pixel: no PSNR to compute")
    diff = a[mask].astype(np.float64) - b[mask].astype(np.float64)
    mse = float(np.mean(diff**2))
    return math.inf if mse == 0 else 10 * math.log10(PEAK**2 / mse)


def region_psnr(output: np.ndarray, truth: np.ndarray, region: np.ndarray) -> float:
    """PSNR (all three channels) over the region's bounding box; ``inf`` if identical there."""
    shape = _check_pair(output, truth)
    rows, cols = bounding_box(region_mask(region, shape))
    box = np.ones((rows.stop - rows.start, cols.stop - cols.start), bool)
    return psnr_masked(output[rows, cols], truth[rows, cols], box)


def luma(image: np.ndarray) -> np.ndarray:
    """Y' = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601) of gamma-encoded sRGB, float64."""
    return np.asarray(image, np.float64) @ np.array([0.299, 0.587, 0.114])


def ssim(x: np.ndarray, y: np.ndarray) -> float:
    """Mean SSIM of two single-channel float images in 0-255 (Wang, Bovik, Sheikh,
    Simoncelli 2004, eq. 13): local statistics under an 11x11 Gaussian window (sigma 1.5,
    weights summing to 1), C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2, averaged over the
    positions where the window fits inside the image ("valid", as the authors' MATLAB
    ssim_index.m). An image smaller than the window is first padded to 11 px by mirroring
    (OpenCV BORDER_REFLECT_101). 1.0 exactly for identical images."""
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"ssim takes two single-channel images of one shape: {x.shape}, {y.shape}")
    need_y, need_x = max(0, SSIM_WINDOW - x.shape[0]), max(0, SSIM_WINDOW - x.shape[1])
    if need_y or need_x:
        pad = (need_y // 2, need_y - need_y // 2, need_x // 2, need_x - need_x // 2)
        x = _mirror(x, pad)
        y = _mirror(y, pad)
    g = cv2.getGaussianKernel(SSIM_WINDOW, SSIM_SIGMA, cv2.CV_64F)
    g = g / g.sum()
    r = SSIM_WINDOW // 2

    def local_mean(img: np.ndarray) -> np.ndarray:
        return cv2.sepFilter2D(img, cv2.CV_64F, g, g)[r:-r, r:-r]  # keep the valid positions

    mx, my = local_mean(x), local_mean(y)
    vx, vy = local_mean(x * x) - mx * mx, local_mean(y * y) - my * my
    cxy = local_mean(x * y) - mx * my
    c1, c2 = (SSIM_K1 * PEAK) ** 2, (SSIM_K2 * PEAK) ** 2
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(s.mean())


def _mirror(img: np.ndarray, pad: tuple[int, int, int, int]) -> np.ndarray:
    top, bottom, left, right = pad
    out = img
    # BORDER_REFLECT_101 cannot pad more than the image is wide; grow it in steps.
    while top or bottom or left or right:
        h, w = out.shape
        t, b, lft, rgt = (min(v, n - 1) for v, n in ((top, h), (bottom, h), (left, w), (right, w)))
        if not (t or b or lft or rgt):  # a single pixel: repeat it
            return cv2.copyMakeBorder(out, top, bottom, left, right, cv2.BORDER_REPLICATE)
        out = cv2.copyMakeBorder(out, t, b, lft, rgt, cv2.BORDER_REFLECT_101)
        top, bottom, left, right = top - t, bottom - b, left - lft, right - rgt
    return out


def region_ssim(output: np.ndarray, truth: np.ndarray, region: np.ndarray) -> float:
    """SSIM (``ssim``) on luminance (``luma``, not per channel) over the region's bounding
    box; 1.0 when identical there."""
    shape = _check_pair(output, truth)
    rows, cols = bounding_box(region_mask(region, shape))
    return ssim(luma(output[rows, cols]), luma(truth[rows, cols]))


def background_mask(
    region: np.ndarray, glyph_b: np.ndarray, shape: tuple[int, int], dilate: int = BACKGROUND_DILATE
) -> np.ndarray:
    """The region's pixels outside B's glyph grown by ``dilate`` px (a square of side
    2 * dilate + 1): where only background belongs in the ground truth."""
    inside = region_mask(region, shape)
    glyph = binary_mask(glyph_b, shape, "B's glyph mask").astype(np.uint8)
    grown = cv2.dilate(glyph, _square(dilate)).astype(bool) if dilate > 0 else glyph.astype(bool)
    return inside & ~grown


def background_psnr(
    output: np.ndarray,
    truth: np.ndarray,
    region: np.ndarray,
    glyph_b: np.ndarray,
    dilate: int = BACKGROUND_DILATE,
) -> float:
    """PSNR (all channels) over ``background_mask``: how well A was erased and the surface
    under it restored, B's own strokes and their fringe left out; ``inf`` when identical."""
    shape = _check_pair(output, truth)
    mask = background_mask(region, glyph_b, shape, dilate)
    if not mask.any():
        raise ValueError(
            f"B's glyph, grown by {dilate} px, covers the whole region: no background to "
            "judge; give a smaller dilate"
        )
    return psnr_masked(output, truth, mask)


def halo_psnr(
    output: np.ndarray,
    truth: np.ndarray,
    ink_b: np.ndarray,
    reach: int,
    dilate: int = BACKGROUND_DILATE,
) -> float:
    """PSNR (all channels) over the ring just outside B's ink, wherever it falls (inside
    the line's quad or beyond it): B's ink grown by ``dilate`` px, out to ``reach`` px more.
    A dark halo, a smear or a soft fringe around the strokes shows here, where the ground
    truth has only its background; NaN where the ring is empty, ``inf`` when identical."""
    shape = _check_pair(output, truth)
    region = np.ones(shape, bool)
    inner = background_mask(region, ink_b, shape, dilate)
    ring = inner & ~background_mask(region, ink_b, shape, dilate + max(1, reach))
    return psnr_masked(output, truth, ring) if ring.any() else float("nan")


def border_step(image: np.ndarray, region: np.ndarray, width: int = SEAM_WIDTH) -> float:
    """Mean absolute colour step across the region's border in one image.

    The inner ring is the region's pixels within ``width`` px of its border (the mask minus
    its erosion by a (2w+1) square; the image edge does not erode it), the outer ring the
    pixels outside within ``width`` px (the dilation minus the mask). At each border pixel
    (a region pixel with one of its 8 neighbours outside it) whose (2w+1)^2 window holds pixels of
    both rings, the step is the mean over R, G, B of |mean of the window's inner-ring pixels
    - mean of its outer-ring pixels|, in 8-bit units; the figure is the mean step over
    those border pixels.
    """
    shape = (image.shape[0], image.shape[1])
    inside = region_mask(region, shape).astype(np.uint8)
    box = _square(width)
    inner = inside - cv2.erode(inside, box, borderType=cv2.BORDER_REPLICATE)
    outer = cv2.dilate(inside, box) - inside
    border = (inside - cv2.erode(inside, _square(1), borderType=cv2.BORDER_REPLICATE)).astype(bool)
    img = image.astype(np.float64)
    k = (2 * width + 1, 2 * width + 1)

    def window_sum(a: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(a, cv2.CV_64F, k, normalize=False, borderType=cv2.BORDER_CONSTANT)

    n_in, n_out = window_sum(inner.astype(np.float64)), window_sum(outer.astype(np.float64))
    use = border & (n_in > 0) & (n_out > 0)
    if not use.any():
        raise ValueError(
            "the region has no border inside the image (it covers the whole image): "
            "no seam to measure"
        )
    steps = []
    for c in range(3):
        m_in = window_sum(img[..., c] * inner)[use] / n_in[use]
        m_out = window_sum(img[..., c] * outer)[use] / n_out[use]
        steps.append(np.abs(m_in - m_out))
    return float(np.mean(steps))


def seam_step(
    output: np.ndarray, truth: np.ndarray, region: np.ndarray, width: int = SEAM_WIDTH
) -> float:
    """``border_step`` of the output minus that of the ground truth: the step the edit adds
    at the region's border (positive: a visible seam; 0 for identical images)."""
    _check_pair(output, truth)
    return border_step(output, region, width) - border_step(truth, region, width)


def colour_cast(output: np.ndarray, truth: np.ndarray, region: np.ndarray) -> float:
    """Mean chroma C*ab = sqrt(a*^2 + b*^2) (CIELAB, D65) over the region's pixels in the
    output minus the same in the ground truth. A grey photo edited into grey stays at 0; a
    positive value is colour the edit added."""
    shape = _check_pair(output, truth)
    inside = region_mask(region, shape)
    lab_out, lab_truth = srgb_to_lab(output[inside]), srgb_to_lab(truth[inside])
    chroma_out = np.hypot(lab_out[:, 1], lab_out[:, 2]).mean()
    chroma_truth = np.hypot(lab_truth[:, 1], lab_truth[:, 2]).mean()
    return float(chroma_out - chroma_truth)


# -- all figures of one edit -------------------------------------------------------------


@dataclass(frozen=True)
class EditFigures:
    residue: Residue
    colour_error: float  # CIEDE2000 of the mean text colours
    psnr: float  # dB over the region's box; inf when identical
    ssim: float  # luminance, region's box
    background_psnr: float  # dB, region minus B's dilated glyph
    seam: float  # 8-bit units, output's border step minus the ground truth's
    cast: float  # C*ab, output minus ground truth
    stroke_ratio: float = float("nan")  # B's stroke width in the output over A's in the source
    halo_psnr: float = float("nan")  # dB, the ring just outside B's ink (``halo_psnr``)


def edit_figures(
    output: np.ndarray,
    truth: np.ndarray,
    region: np.ndarray,
    glyph_b: np.ndarray,
    text_a: str,
    text_b: str,
    reading: str,
) -> EditFigures:
    """Every per-edit figure of the module for one edit (``reading``: the OCR reading of the
    output's region)."""
    return EditFigures(
        residue=old_text_residue(reading, text_a, text_b),
        colour_error=text_colour_error(output, truth, glyph_b),
        psnr=region_psnr(output, truth, region),
        ssim=region_ssim(output, truth, region),
        background_psnr=background_psnr(output, truth, region, glyph_b),
        seam=seam_step(output, truth, region),
        cast=colour_cast(output, truth, region),
    )


# -- stroke width ------------------------------------------------------------------------

STROKE_MIN_PIXELS = 20  # fewer fill-coloured pixels than this: no stroke width (NaN)


def fill_coloured(image: np.ndarray, region: np.ndarray, fill: Sequence[int]) -> np.ndarray:
    """Pixels of ``region`` (bool (H, W)) within CIEDE2000 15 of ``fill`` (RGB): bool (H, W)."""
    lab = srgb_to_lab(image[region])
    out = np.zeros(region.shape, bool)
    out[region] = ciede2000(lab, srgb_to_lab(np.array(fill, np.uint8)[None])) < 15
    return out


def stroke_width_ratio(
    output: np.ndarray,
    source: np.ndarray,
    region: np.ndarray,
    ink_a: np.ndarray,
    fill: Sequence[int],
) -> float:
    """B's stroke width in the output over A's in the source, both measured by
    ``stroke_width`` on the region's pixels of the text's fill colour (within CIEDE2000 15
    of ``fill``), leaving out the surface's own such pixels (those of the source outside
    A's ink ``ink_a``, bool (H, W)). 1 when B is drawn as heavy as A was; NaN when either
    has fewer than ``STROKE_MIN_PIXELS``."""
    _check_pair(output, source)
    region = region_mask(region, output.shape[:2])
    ink_a = binary_mask(ink_a, output.shape[:2], "A's ink")
    surface = fill_coloured(source, region & ~ink_a, fill)
    a = fill_coloured(source, region & ink_a, fill)
    b = fill_coloured(output, region, fill) & ~surface
    if min(a.sum(), b.sum()) < STROKE_MIN_PIXELS:
        return float("nan")
    return stroke_width(b) / stroke_width(a)


# -- comparing two rows ------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    mean_difference: float  # mean of first - second over the edits
    low: float  # 2.5th percentile of the resampled means (for level 0.95)
    high: float  # 97.5th percentile
    resamples: int


def paired_bootstrap(
    first: Sequence[float] | np.ndarray,
    second: Sequence[float] | np.ndarray,
    rng: np.random.Generator,
    resamples: int = 10_000,
    level: float = 0.95,
) -> Interval:
    """Percentile bootstrap interval of mean(first - second), the two rows scored on the
    same edits (edit i in both). Each resample draws len(first) edit indices with
    replacement from ``rng`` and keeps the pairs together, so what the edits share (a hard
    photo is hard for both rows) cancels. Values must be finite: cap PSNR's ``inf`` (for
    instance ``np.minimum(psnr, 100)``) before comparing."""
    a, b = np.asarray(first, np.float64), np.asarray(second, np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(
            f"paired_bootstrap takes two non-empty 1-D rows over the same edits, got shapes "
            f"{a.shape} and {b.shape}"
        )
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError(
            "a row holds inf or nan (PSNR of an identical image is inf): cap or drop those "
            "values before the bootstrap, e.g. np.minimum(psnr, 100)"
        )
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    d = a - b
    chunk = max(1, 2_000_000 // d.size)  # resamples per draw: bounded memory for long rows
    means = np.concatenate(
        [
            d[rng.integers(0, d.size, size=(min(chunk, resamples - start), d.size))].mean(axis=1)
            for start in range(0, resamples, chunk)
        ]
    )
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Interval(float(d.mean()), float(low), float(high), resamples)
