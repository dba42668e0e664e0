"""Draw text into regions of an image with the glyph model, and say what was drawn where.

Per region (its text, fonts and geometry checked by the caller: ``glyphgen.render``):
1) rectify the region into a crop (the same ``window`` training uses: the line centred,
``FILL`` of the crop's height); 2) draw the glyph control and masks in the crop; 3) run
the pipeline in editing mode (the background outside the text is the model's context);
4) warp the crop back and blend it in with a feathered mask. The annotation is our JSONL
record, so ``glyphgen eval --annotations out.json`` checks the result directly.

torch and diffusers are imported by ``render_regions`` only: importing this module (as
``glyphgen.render`` does to check a request) costs no torch.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from glyphgen.model.crops import edit_mask, reach_px, style_vector
from glyphgen.typeset.fonts import FontLibrary
from glyphgen.typeset.line import crop_size, draw_line, glyph_cache, window

if TYPE_CHECKING:
    import torch

    from glyphgen.edit.classical import ClassicalEdit, TextColours
    from glyphgen.model.guidance import Guide
    from glyphgen.model.losses import TextPerceptualLoss
    from glyphgen.model.pipeline import GlyphPipeline

FILL = 0.7  # the region's height as a fraction of the crop's (training draws 0.55-0.85)
CHANGE_SIGMA = 4.0  # crop px: of the model's change over the classical draft, only the detail
CHROMA_SIGMA = 2.0  # crop px: the Gaussian over the chroma of a crop pasted whole (from noise)
# BT.601, as glyphgen.eval.edit_metrics.luma (not imported: it loads the whole evaluator)
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclass
class RegionRequest:
    text: str
    polygon: np.ndarray  # (4, 2) clockwise from where reading starts, image pixels
    vertical: bool = False
    old_text: str | None = None  # the text there now (A), when known: its face is matched
    font: str = "auto"  # the classical draft's face: "auto" (A's), "off" (canonical), an id


def render_regions(
    pipe: GlyphPipeline,
    image: np.ndarray,
    requests: list[RegionRequest],
    fonts: FontLibrary,
    *,
    style_ref: np.ndarray | None = None,
    colours: TextColours | None = None,
    seed: int = 0,
    steps: int | None = None,
    strength: float | None = None,
    draft: str | None = None,
    guidance: float = 0.0,
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """The image with every region drawn, and one JSONL text entry per region.

    colours: the text's colours when the user gives them; else the style reference's
    (``reference_colours``). Where known they reach the model as its style attributes (as
    in training, where half the samples carry them) and colour the classical draft; where
    neither gives them, the model is given none and the classical draft takes A's own.

    draft: what sampling below strength 1 starts from (None: the pipeline's default_draft).
    "glyph": the region with B's glyph inked over it in black or white (A still under it),
    the model's output blended over the whole region; "classical": the classical edit (A
    found and inpainted, B painted in A's colours or the style reference's), the model's
    output blended over the pixels that edit changed only (A's erased pixels and B's grown
    ink; where the feathering leaves the model out, the classical edit shows), so the rest
    of the photo stays as it was.

    guidance: above 0, the project's reader steers every denoising step towards the
    region's text by this step (``glyphgen.model.guidance``); 0 samples unguided.
    """
    import torch

    from glyphgen.model.pipeline import GlyphPipelineOutput

    height = int(pipe.config.crop_height)
    out = image.copy()
    glyphs = glyph_cache(fonts)
    texts = []
    # resolved once here (None: the pipeline's defaults), passed on as numbers
    steps = pipe.resolve_steps(steps)
    strength = pipe.resolve_strength(strength)
    draft = pipe.resolve_draft(draft)
    from_noise = strength == 1
    keep_known = bool(pipe.config.get("keep_known", False))
    ref = None if style_ref is None else _rgb_tensor(style_ref)
    colours = colours or reference_colours(style_ref)
    attributes = style_attributes(colours)
    reader = guidance_reader() if guidance > 0 else None
    for k, req in enumerate(requests):
        _, _, need = window(req.polygon, req.vertical, height, FILL, None)
        size = crop_size(height, req.vertical, need, pipe.size_multiple)
        m, rect, _ = window(req.polygon, req.vertical, height, FILL, max(size))
        crop = _warp_in(out, m, size)
        glyph, poly, quads = draw_line(req.text, rect, req.vertical, size, fonts, glyphs)
        position = np.zeros((size[1], size[0]), np.uint8)
        cv2.fillPoly(position, [np.round(poly).astype(np.int32)], 255)
        edit = edit_mask(rect, size, req.vertical)
        start, changed, drafted_crop, style = None, None, None, None
        if draft == "classical" or keep_known:
            drafted_edit = classical_draft_edit(out, req, fonts, colours)
            style = drafted_edit.style.to_json()
        region = edit  # what the model generates; a keep_known model's is pasted over the
        # region alone (A's ink in it, grown: no feathering leaves A's thin strokes behind),
        # so the photo outside keeps its own pixels rather than the crop's warped twice
        if keep_known:  # B's grown glyph and A's ink; the rest stays
            old_ink = _warp_in(drafted_edit.erased.astype(np.uint8) * 255, m, size)
            region = known_region(glyph, old_ink, edit, height)
        if draft == "classical":
            drafted, changed = drafted_edit.image, drafted_edit.changed()
            drafted_crop = _warp_in(drafted, m, size)
            start = _rgb_tensor(drafted_crop)
        result = pipe(
            texts=[req.text],
            glyph=_mask_tensor(glyph),
            position_mask=_mask_tensor(position),
            source=_rgb_tensor(crop),
            edit_mask=_mask_tensor(region),
            captions=[""],  # as the training samples whose caption was dropped
            style_ref=ref,
            style_attributes=attributes,
            num_inference_steps=steps,
            strength=strength,
            draft=start,
            guide=None if reader is None else line_guide(reader, req, rect, guidance),
            generator=torch.Generator().manual_seed(seed + k),
        )
        assert isinstance(result, GlyphPipelineOutput)
        if changed is not None:
            out[changed] = drafted[changed]
        inv = np.linalg.inv(m)
        within = changed
        if within is None and keep_known:  # the photo's known pixels stay at full resolution
            within = _warp_out(region, inv, out.shape[:2]) > 0
        _paste(out, result.images[0], edit, m, within, drafted_crop, from_noise)
        entry = line_entry(
            req.text,
            cv2.perspectiveTransform(poly[None].astype(np.float64), inv)[0],
            [cv2.perspectiveTransform(q[None].astype(np.float64), inv)[0] for q in quads],
            req.vertical,
        )
        texts.append(entry if style is None else {**entry, "style": style})
    return out, texts


def known_region(
    glyph: np.ndarray, old_ink: np.ndarray, box: np.ndarray, crop_height: int
) -> np.ndarray:
    """What a ``keep_known`` model generates in a crop (uint8 (H, W), 255 inside): B's glyph
    and A's ink (any pixel it touches, after the warp into the crop), each grown by
    ``crops.reach_px`` as training grows its glyphs, within the line's edit box."""
    square = np.ones((2 * reach_px(crop_height) + 1,) * 2, np.uint8)
    ink = ((glyph > 127) | (old_ink > 0)).astype(np.uint8)
    inside = cv2.dilate(ink, square) > 0
    return np.where(inside & (box > 127), 255, 0).astype(np.uint8)


@functools.cache
def guidance_reader() -> TextPerceptualLoss:
    """The project's bundled reader as a differentiable loss (loaded once per process)."""
    from glyphgen.model.losses import load_text_loss

    return load_text_loss("reader")


def line_guide(
    reader: TextPerceptualLoss,
    req: RegionRequest,
    rect: tuple[float, float, float, float],
    scale: float,
) -> Guide:
    """The guide of one region's crop: ``reader`` reading ``req.text`` on the line's
    rectangle ``rect`` (crop pixels)."""
    from glyphgen.model.guidance import reader_guide

    x0, y0, x1, y1 = rect
    box = (int(x0), int(y0), int(np.ceil(x1)), int(np.ceil(y1)))
    return reader_guide(reader, [req.text], [box], req.vertical, scale)


def reference_colours(style_ref: np.ndarray | None) -> TextColours | None:
    """The text colours of a style reference crop, or None where there is no reference or
    the classical step finds no text in it (the classical draft then takes A's own)."""
    from glyphgen.edit import classical

    if style_ref is None:
        return None
    try:
        return classical.reference_colours(style_ref, classical.ClassicalConfig())
    except ValueError:
        return None


def style_attributes(colours: TextColours | None) -> torch.Tensor | None:
    """The adapter's attribute vector for ``colours`` ((1, 5), ``crops.style_vector``), or
    None without colours. A shadow is never known here: its flag is 0."""
    import torch

    if colours is None:
        return None
    stroke = colours.stroke is not None and colours.stroke_width > 0
    return torch.from_numpy(style_vector(colours.text, stroke, shadow=False))[None]


def classical_draft_edit(
    image: np.ndarray, req: RegionRequest, fonts: FontLibrary, colours: TextColours | None
) -> ClassicalEdit:
    """The classical edit of one region: B in A's style (``req.font``, ``req.old_text``), in
    ``colours`` (``reference_colours``), or in A's own when None."""
    from glyphgen.edit.classical import classical_edit

    return classical_edit(
        image,
        req.polygon,
        req.text,
        fonts,
        vertical=req.vertical,
        colours=colours,
        font=req.font,
        old_text=req.old_text,
    )


def _warp_in(image: np.ndarray, m: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.warpPerspective(
        image, m, size, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE
    )


def _warp_out(crop: np.ndarray, inv: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A crop (or a crop's mask) in image pixels of ``shape`` (H, W), through ``inv``, the
    inverse of ``_warp_in``'s homography."""
    h, w = shape
    return cv2.warpPerspective(crop, inv, (w, h), flags=cv2.INTER_LINEAR)


def _rgb_tensor(arr: np.ndarray) -> torch.Tensor:
    import torch

    # a copy: the caller's array may be read-only (torch warns on those)
    return torch.from_numpy(np.array(arr, np.float32)).permute(2, 0, 1)[None] / 127.5 - 1


def _mask_tensor(arr: np.ndarray) -> torch.Tensor:
    import torch

    return torch.from_numpy(arr).float()[None, None] / 255


def line_entry(
    text: str, polygon: np.ndarray, quads: Sequence[np.ndarray], vertical: bool
) -> dict[str, Any]:
    """The JSONL text entry of one drawn line (``glyphgen eval --annotations`` reads it):
    its polygon and one quad per character, (4, 2) image pixels each, rounded to 0.01 px."""
    return {
        "text": text,
        "polygon": _points(polygon),
        "direction": "vertical" if vertical else "horizontal",
        "chars": [{"char": c, "quad": _points(q)} for c, q in zip(text, quads, strict=True)],
    }


def _points(arr: np.ndarray) -> list[list[float]]:
    return [[round(float(x), 2), round(float(y), 2)] for x, y in arr]


def _paste(
    out: np.ndarray,
    crop: np.ndarray,
    edit: np.ndarray,
    m: np.ndarray,
    within: np.ndarray | None = None,
    base: np.ndarray | None = None,
    from_noise: bool = False,
) -> None:
    """Blend ``crop`` into ``out`` through the inverse of ``m``, feathered at the edit
    mask's border so no seam shows; only over ``within`` (bool (H, W) of ``out``, feathered
    over the 3 px around it) when it is given.

    base: the crop the model started from, warped out of ``out`` as it is now (the
    classical draft). Then only the model's change, ``crop - base``, is warped back and
    added: where the model kept the draft, ``out`` keeps its own full-resolution pixels
    instead of the crop's, which the warp back up-samples (a region taller than the crop)
    and blurs. And only the change's detail: its blur by a Gaussian of ``CHANGE_SIGMA``
    crop px is taken off, so a tint or a shifted surface colour of the model's is dropped
    and the draft's colours stay; and only its luminance, so fine colour speckle does not
    tint a grey scene either (both chosen on the validation pairs, docs/model.md). Without
    ``base`` the crop goes back whole; ``from_noise`` (the model drew all of it) with its
    chroma smoothed (``smooth_chroma``), which a glyph draft's crisp ink is spared."""
    inv = np.linalg.inv(m)
    shape = out.shape[:2]
    feather = max(1, round(min(edit.shape) * 0.04))
    alpha = cv2.erode(edit, np.ones((2 * feather + 1,) * 2, np.uint8))
    alpha = cv2.GaussianBlur(alpha.astype(np.float32) / 255, (0, 0), feather)
    a = _warp_out(alpha, inv, shape)
    if base is None:
        crop = smooth_chroma(crop, CHROMA_SIGMA) if from_noise else crop
        back = _warp_out(crop, inv, shape)
    else:
        change = crop.astype(np.float32) - base.astype(np.float32)
        change -= cv2.GaussianBlur(change, (0, 0), CHANGE_SIGMA)
        change = luminance_only(change)
        back = out + _warp_out(change, inv, shape)
    if within is not None:
        # 1 on ``within``, falling to 0 within 3 px of it
        grown = cv2.dilate(within.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(np.float32)
        a = a * np.maximum(within, cv2.GaussianBlur(grown, (5, 5), 1.0))
    a = a[..., None]
    out[:] = np.clip(np.round(back * a + out * (1 - a)), 0, 255).astype(np.uint8)


def smooth_chroma(crop: np.ndarray, sigma: float) -> np.ndarray:
    """``crop`` (H, W, 3) uint8 with its chroma (YCrCb's Cr and Cb) blurred by a Gaussian of
    ``sigma`` px and its luminance (Y) as it was: the model's fine colour speckle is
    averaged away, strokes keep their edges and the text its colour (chosen on the
    validation pairs, docs/model.md)."""
    ycc = cv2.cvtColor(crop, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    ycc[..., 1:] = cv2.GaussianBlur(ycc[..., 1:], (0, 0), sigma)
    out = np.clip(np.round(ycc), 0, 255).astype(np.uint8)
    return cv2.cvtColor(out, cv2.COLOR_YCrCb2RGB)


def luminance_only(change: np.ndarray) -> np.ndarray:
    """An RGB change (H, W, 3) reduced to its luminance, added alike to R, G and B: it
    shades the draft and leaves its chroma (YCbCr's Cb and Cr) as it was, so a grey scene
    stays grey."""
    return np.repeat(change @ LUMA[:, None], 3, axis=-1)
