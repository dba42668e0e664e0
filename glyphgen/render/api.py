"""One render, whoever asks: ``glyphgen render`` (its flags and ``--batch`` lines), the web
page and Python callers all go through ``Renderer.render`` (or ``render`` for one call).

A render in two steps:

1. ``prepare``: read the background and the style reference, pair texts with regions,
   check them against the image and the fonts, and resolve the sampling against the
   weights' defaults (read from their ``model_index.json``, no torch). Every refusal comes
   from here, as a ``RenderError`` naming the input, before the model loads.
2. ``draw``: strength 0 draws the draft itself with no model (the classical edit, or B's
   glyph inked in black or white); above 0 the glyph model, loaded once per ``Renderer``
   on first need, draws each region (``glyphgen.model.render.render_regions``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from glyphgen.edit.style import FONT_MODES
from glyphgen.images import open_image
from glyphgen.model.config import DEFAULT_WEIGHTS
from glyphgen.model.render import RegionRequest, line_entry
from glyphgen.render.regions import (
    RenderError,
    check_requests,
    layout_requests,
    line_bands,
    text_lines,
)
from glyphgen.render.request import RenderRequest, Sampling, Verify
from glyphgen.render.result import RegionResult, RenderResult
from glyphgen.render.verify import Drawn
from glyphgen.typeset.fonts import FONT_SUFFIXES, FontLibrary

if TYPE_CHECKING:
    from glyphgen.edit.classical import TextColours
    from glyphgen.eval.backends import Recognizer
    from glyphgen.model.pipeline import GlyphPipeline


class FontsUnavailable(RenderError):
    """The font folders asked for are missing or hold no usable font."""


class ModelUnavailable(RenderError):
    """The glyph model is needed and its weights are missing or cannot be loaded."""


@dataclass
class Prepared:
    """A request checked and ready to draw: everything but the drawing is done."""

    request: RenderRequest
    image: np.ndarray  # (H, W, 3) uint8 to draw on
    lines: list[RegionRequest]  # every line to draw, region by region, each in its band
    regions: list[int]  # how many of ``lines`` each region has
    style: np.ndarray | None  # (h, w, 3) uint8 reference crop
    sampling: Sampling  # resolved: steps, strength and draft set (steps None at strength 0)
    fonts: FontLibrary | None = None  # the renderer's, plus the request's font file if any


class Renderer:
    """Draws ``RenderRequest``s with one set of fonts and, where one is needed, one loaded
    glyph model (``weights``; the shipped model by default).

    say: called with a line of progress (loading the model, region i of n); silent if None.
    judge: what a verified request (``RenderRequest.verify``) reads its regions with; the
    evaluator's ``combined`` backend, loaded on first need, by default.
    system_fonts: add the Chinese fonts fontconfig finds (more faces to match the old text).
    """

    def __init__(
        self,
        weights: Path | None = None,
        *,
        font_dirs: Sequence[Path] = (),
        fonts: FontLibrary | None = None,
        system_fonts: bool = False,
        say: Callable[[str], None] | None = None,
        judge: Recognizer | None = None,
    ) -> None:
        self.weights = Path(weights) if weights is not None else DEFAULT_WEIGHTS
        if fonts is None:
            try:
                fonts = FontLibrary.load(list(font_dirs), progress=False, system=system_fonts)
            except ValueError as exc:
                raise FontsUnavailable(str(exc)) from exc
        self.fonts = fonts
        self.say = say or (lambda line: None)
        self._pipe: GlyphPipeline | None = None
        self._defaults: dict[str, Any] | None = None
        self._judge = judge  # what verification reads with (``judge()``); loaded on first need

    def render(self, request: RenderRequest) -> RenderResult:
        return self.draw(self.prepare(request))

    # -- 1. everything short of drawing ------------------------------------------------------
    def prepare(self, request: RenderRequest) -> Prepared:
        background = None
        if request.background is not None:
            background = _image(request.background, "background")
        image, regions = layout_requests(
            request.texts, request.regions, background, request.vertical
        )
        style = None
        if request.style_ref is not None:
            style = _image(request.style_ref, "style reference")
        fonts, font = self.font(request.font)
        check_requests(regions, image, fonts)
        sampling = self.resolve(request.sampling)
        old = request.old_text
        lines, counts = [], []
        for k, region in enumerate(regions):  # a text's lines, each in its band of the region
            texts = text_lines(region.text)
            bands = line_bands(region.polygon, len(texts), region.vertical)
            # the old text, line by line where it has as many lines as the new one
            olds: list[str | None] = [None] * len(texts)
            if old:
                given = text_lines(old[k] if len(old) > 1 else old[0])
                olds = list(given) if len(given) == len(texts) else olds
            lines += [
                RegionRequest(t, b, region.vertical, o or None, font)
                for t, b, o in zip(texts, bands, olds, strict=True)
            ]
            counts.append(len(texts))
        return Prepared(request, image, lines, counts, style, sampling, fonts)

    def font(self, font: str) -> tuple[FontLibrary, str]:
        """The library to draw with and the face the classical edit takes for ``font``
        (``RenderRequest.font``): a font file's face is added to the renderer's library
        through the same coverage check as a font folder's."""
        if font in FONT_MODES:
            return self.fonts, font
        if Path(font).suffix.lower() in FONT_SUFFIXES or Path(font).is_file():
            try:
                fonts = self.fonts.with_files([font])
                return fonts, fonts.file_face(font).id
            except (ValueError, KeyError) as exc:
                raise RenderError(f"font: {exc}") from None
        try:
            return self.fonts, self.fonts.face(font).id
        except KeyError:
            known = ", ".join(f.id for f in self.fonts.faces)
            raise RenderError(
                f"font: no face {font!r}; give auto, off, a font file or one of: {known}"
            ) from None

    def resolve(self, sampling: Sampling) -> Sampling:
        """``sampling`` with the weights' defaults for what it leaves None; read once here,
        so the drawing is told numbers. Strength 0 needs no steps (and no weights, when its
        draft is given)."""
        if sampling.strength == 0 and sampling.draft is not None:
            return sampling
        defaults = self.defaults()
        done = replace(
            sampling,
            strength=_or(sampling.strength, float(defaults.get("default_strength", 1.0))),
            draft=_or(sampling.draft, str(defaults.get("default_draft", "glyph"))),
        )
        if done.strength == 0:
            return replace(done, steps=None)
        return replace(done, steps=_or(sampling.steps, int(defaults["default_steps"])))

    def defaults(self) -> dict[str, Any]:
        """The weights' ``model_index.json`` (their sampling defaults); RenderError where
        there are no weights."""
        if self._defaults is None:
            index = self.weights / "model_index.json"
            if not index.is_file():
                if self.weights == DEFAULT_WEIGHTS:
                    raise ModelUnavailable(
                        f"no trained weights at {DEFAULT_WEIGHTS} (they ship inside the "
                        "glyphgen package: is this a partial install or checkout?). Train your own with "
                        "`glyphgen train --config cpu` and pass --weights out/model/weights"
                    )
                raise ModelUnavailable(
                    f"{self.weights} is not a trained pipeline folder (no model_index.json in it)"
                )
            try:
                self._defaults = dict(json.loads(index.read_text(encoding="utf-8")))
            except (OSError, ValueError) as exc:
                raise ModelUnavailable(f"cannot read {index} ({exc})") from exc
        return self._defaults

    def pipeline(self) -> GlyphPipeline:
        """The glyph model, loaded on first call."""
        if self._pipe is None:
            self.defaults()  # no weights: the named error, not diffusers'
            self.say(f"loading the glyph model from {self.weights}")
            try:
                self._pipe = load_pipeline(self.weights)
            except (ValueError, OSError) as exc:  # a pickle refused, a component missing
                raise ModelUnavailable(
                    f"cannot load the glyph model from {self.weights}: {exc}"
                ) from exc
        return self._pipe

    # -- 2. drawing ----------------------------------------------------------------------------
    def draw(self, prepared: Prepared) -> RenderResult:
        from glyphgen.edit.classical import TextColours

        request = prepared.request
        colour = request.colour
        colours = None if colour is None else TextColours(colour)
        s = prepared.sampling
        if s.strength != 0:
            self.pipeline()  # loaded (and said so) before the first region
        if request.verify is not None:
            image, entries = self._verified(prepared, colours, request.verify)
        else:
            image, entries = prepared.image, []
            draw = self.line_drawer(prepared, colours)
            where = [(k, j, n) for k, n in enumerate(prepared.regions) for j in range(n)]
            for line_k, (k, j, n) in enumerate(where):
                of_lines = f", line {j + 1} of {n}" if n > 1 else ""
                self.say(f"region {k + 1} of {len(prepared.regions)}{of_lines}")
                image, entry = draw(image, line_k, s.seed + line_k)  # line k: seed + k
                entries.append(entry)
        regions, start = [], 0
        for index, count in enumerate(prepared.regions):
            lines = entries[start : start + count]
            styles = [e.pop("style", None) for e in lines]
            text = "\n".join(e["text"] for e in lines)
            regions.append(RegionResult(index, text, request.vertical, lines, styles[0]))
            start += count
        return RenderResult(image, regions, prepared.sampling)

    def line_drawer(
        self, prepared: Prepared, colours: TextColours | None
    ) -> Callable[[np.ndarray, int, int], Drawn]:
        """``draw(image, k, seed)``: line ``k`` drawn into ``image`` as the sampling asks
        (the classical edit, the glyph draft, or the model with ``seed``)."""
        s = prepared.sampling
        fonts = prepared.fonts or self.fonts

        def draw(image: np.ndarray, k: int, seed: int) -> Drawn:
            line = prepared.lines[k]
            if s.strength == 0 and s.draft == "classical":
                return self._classical(image, line, prepared.style, colours, fonts)
            if s.strength == 0:
                return self._glyph_draft(image, line, fonts)
            return self._model(image, line, prepared.style, colours, s, seed, fonts)

        return draw

    def classical_fallback(
        self, prepared: Prepared, colours: TextColours | None
    ) -> Callable[[np.ndarray, int], Drawn]:
        """``fallback(image, k)``: line ``k``'s classical edit in the colours the model's
        classical draft takes (``colours``, else the style reference's, else the old text's);
        a style reference with no text in it falls to the old text's instead of failing."""
        from glyphgen.model.render import reference_colours

        known = colours or reference_colours(prepared.style)
        fonts = prepared.fonts or self.fonts
        return lambda image, k: self._classical(image, prepared.lines[k], None, known, fonts)

    def judge(self) -> Recognizer:
        """The selecting judge, loaded on first call: the evaluator's ``combined`` backend
        (PP-OCRv4 where it can output every character of the text, our reader else)."""
        if self._judge is None:
            from glyphgen.eval.backends import create_backend

            self.say("loading the judge (PP-OCRv4 and glyphgen's reader)")
            self._judge = create_backend("combined")
        return self._judge

    def _verified(
        self, prepared: Prepared, colours: TextColours | None, verify: Verify
    ) -> tuple[np.ndarray, list[dict[str, Any]]]:
        """Every line drawn and read back until it reads exactly (``glyphgen.render.verify``)."""
        from glyphgen.render.verify import read_record, verify_regions

        s = prepared.sampling
        classical = s.strength == 0 and s.draft == "classical"
        judge = self.judge()
        image, entries, _ = verify_regions(
            prepared.image,
            [line.text for line in prepared.lines],
            self.line_drawer(prepared, colours),
            lambda image, record: read_record(judge, image, record),
            seed=s.seed,
            tries=1 if s.strength == 0 else verify.tries,  # a draft alone draws the same each time
            fallback=None
            if verify.strict or classical
            else self.classical_fallback(prepared, colours),
        )
        return image, entries

    def _model(
        self,
        image: np.ndarray,
        line: RegionRequest,
        style: np.ndarray | None,
        colours: TextColours | None,
        s: Sampling,
        seed: int,
        fonts: FontLibrary,
    ) -> tuple[np.ndarray, dict[str, Any]]:
        from glyphgen.model import render as model_render

        out, (entry,) = model_render.render_regions(
            self.pipeline(),
            image,
            [line],
            fonts,
            style_ref=style,
            colours=colours,
            seed=seed,
            steps=s.steps,
            strength=s.strength,
            draft=s.draft,
            guidance=s.guidance,
        )
        return out, entry

    def _classical(
        self,
        image: np.ndarray,
        line: RegionRequest,
        style: np.ndarray | None,
        colours: TextColours | None,
        fonts: FontLibrary,
    ) -> tuple[np.ndarray, dict[str, Any]]:
        from glyphgen.edit.classical import classical_edit

        edit = classical_edit(
            image,
            line.polygon,
            line.text,
            fonts,
            vertical=line.vertical,
            style_ref=style,
            colours=colours,
            font=line.font,
            old_text=line.old_text,
        )
        entry = line_entry(line.text, edit.line, edit.quads, line.vertical)
        return edit.image, {**entry, "style": edit.style.to_json()}

    def _glyph_draft(
        self, image: np.ndarray, line: RegionRequest, fonts: FontLibrary
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """The glyph draft as it is (strength 0, no model): B inked over the region in black
        or white, whichever differs more from the image under B, the old text left under it."""
        from glyphgen.edit.classical import TextColours, fit_text, paint

        h, w = image.shape[:2]
        cover, polygon, quads = fit_text(line.polygon, line.text, line.vertical, (h, w), fonts)
        under = image[cover > 127]
        ink = (0, 0, 0) if under.size == 0 or float(under.mean()) > 127.5 else (255, 255, 255)
        out = paint(image, cover, TextColours(ink))
        return out, line_entry(line.text, polygon, quads, line.vertical)


def render(
    request: RenderRequest, *, weights: Path | None = None, font_dirs: Sequence[Path] = ()
) -> RenderResult:
    """One request drawn (``Renderer`` keeps fonts and the model for many)."""
    return Renderer(weights, font_dirs=font_dirs).render(request)


def load_pipeline(weights: Path) -> GlyphPipeline:
    """The glyph model at ``weights``, quiet (no progress bars)."""
    from diffusers.utils.logging import disable_progress_bar

    from glyphgen.model.pipeline import GlyphPipeline

    disable_progress_bar()
    pipe = GlyphPipeline.from_pretrained(weights)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def _image(source: Path | np.ndarray, name: str) -> np.ndarray:
    if isinstance(source, np.ndarray):
        if source.ndim != 3 or source.shape[2] != 3 or source.dtype != np.uint8:
            raise RenderError(
                f"{name}: an RGB uint8 (H, W, 3) array, got {source.dtype} {source.shape}"
            )
        return source
    return open_image(source, "RGB", name=f"{name} {source}")
