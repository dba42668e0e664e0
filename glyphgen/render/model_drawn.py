"""Model-drawn regions for the factory (``glyphgen synth --model-draw``): a text region
redrawn by the glyph model through this entry point, kept only where the judge reads every
line of it exactly. The factory hands each region it picked (``glyphgen.synth.model_draw``)
to ``ModelDrawer.region``:

1) the region's lines become one ``RenderRequest`` on the image as drawn so far (background
   and earlier regions, before the effects): each line a region of the request, with its
   text and polygon, the face the factory chose and its fill colour (the style's stroke and
   shadow are not asked of the model);
2) ``Renderer`` draws each line and reads it back with the judge, drawing again with new
   seeds up to ``tries`` (``glyphgen.render.verify``, strict: no classical fallback);
3) every line read exactly: the model's pixels replace the font's and the lines' geometry
   (polygon, character quads) is the model's; otherwise the region is inked by font
   (``on_fail: font``) or the sample is dropped (``on_fail: drop``);
4) once the sample is finished, a region kept as the model drew it is read again as stored
   (after the effects and the file's encoding, ``read_back``): one no longer read exactly
   is treated as in 3) (the sample drawn again from its record with that region in font
   ink, or dropped), so every model-drawn label is read exactly in the file written.

What happened is in the sample's meta under ``model_draw`` (per region: ``draw``, ``seed``,
what the judge ``read`` in each line, ``tries``, ``kept``, ``read_stored``) and counted in the run report's
events: ``model_draw_regions`` = ``_kept`` + ``_font`` + ``_dropped`` + ``_refused`` (a
region the entry point refuses, e.g. a curved line or a fallback chain of faces: its font
ink is kept); ``_redrawn``: regions where some line took more than one draw; ``_draws``:
draws of the model in all; ``_unread_stored``: regions read while drawn but not as stored
(counted in ``_font`` or ``_dropped``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from glyphgen.synth.choices import Choices
from glyphgen.synth.model_draw import Kept
from glyphgen.synth.record import CharBox, TextLine

if TYPE_CHECKING:
    from glyphgen.synth.config import ModelDrawConfig
    from glyphgen.typeset.fonts import FontLibrary


class ModelDrawer:
    """Redraws picked regions with one glyph model and one judge, loaded on first need.

    renderer: a ``glyphgen.render.Renderer`` (or anything with its ``render``); None builds
    one from the config (its weights, the factory's fonts, its judge)."""

    def __init__(
        self,
        cfg: ModelDrawConfig,
        fonts: FontLibrary,
        stats: Counter[str],
        renderer: Any = None,
    ) -> None:
        from glyphgen.eval.backends import backend_names

        if cfg.judge not in backend_names():  # checked when the run starts, nothing loaded
            raise ValueError(
                f"model_draw.judge: unknown OCR backend {cfg.judge!r}; use one of {backend_names()}"
            )
        self.cfg = cfg
        self.fonts = fonts
        self.stats = stats
        self._renderer = renderer

    def renderer(self) -> Any:
        if self._renderer is None:
            import torch

            from glyphgen.eval.backends import create_backend
            from glyphgen.render import Renderer

            torch.set_num_threads(self.cfg.threads)  # this worker's share of the cores
            weights = Path(self.cfg.weights) if self.cfg.weights else None
            try:  # the ONNX judges take a thread count; the torch reader follows torch's
                judge = create_backend(self.cfg.judge, threads=self.cfg.threads)
            except ValueError as exc:
                if "does not take that option" not in str(exc):
                    raise
                judge = create_backend(self.cfg.judge)
            self._renderer = Renderer(weights, fonts=self.fonts, judge=judge)
        return self._renderer

    def region(
        self, image: np.ndarray, lines: list[TextLine], rc: Choices
    ) -> tuple[Kept, list[TextLine]]:
        """``glyphgen.synth.model_draw.RegionDrawer.region``: picked by ``rc`` (``fraction``),
        drawn and read back as above."""
        from glyphgen.render import RenderError, RenderRequest, Sampling
        from glyphgen.render.request import Verify

        if not rc.chance("draw", self.cfg.fraction):
            return "font", lines
        seed = rc.seed("seed")
        if "read_stored" in rc.recorded and rc.recorded.get("kept") != "model":
            rc.meta.update(rc.recorded)  # drawn before, unread as stored: the font's, as then
            return "font", lines
        self.stats["model_draw_regions"] += 1
        before = np.clip(np.rint(image), 0, 255).astype(np.uint8)
        try:
            if any(len(line.polygon) != 4 for line in lines):
                raise RenderError("a curved line (the render entry point takes 4 points)")
            if len({c.font for line in lines for c in line.chars}) > 1:
                raise RenderError("characters of several faces (the request takes one face)")
            request = RenderRequest(
                [line.text for line in lines],
                [np.asarray(line.polygon, np.float64) for line in lines],
                background=before,
                vertical=lines[0].direction == "vertical",
                color=lines[0].color,
                font=lines[0].font,
                sampling=Sampling(seed, steps=self.cfg.steps, strength=self.cfg.strength),
                verify=Verify(self.cfg.tries, strict=True),
            )
            result = self.renderer().render(request)
        except RenderError as exc:
            rc.meta["kept"], rc.meta["refused"] = "font", str(exc)
            self.stats["model_draw_refused"] += 1
            return "font", lines
        entries = [region.lines[0] for region in result.regions]  # one line per region
        tries = [int(e["tries"]) for e in entries]
        rc.meta["read"] = [e["read"] for e in entries]
        rc.meta["tries"] = tries
        rc.meta["judge"] = entries[0]["judge"]
        self.stats["model_draw_draws"] += sum(tries)
        if max(tries) > 1:
            self.stats["model_draw_redrawn"] += 1
        if not result.unread():
            rc.meta["kept"] = "model"
            self.stats["model_draw_kept"] += 1
            changed = (result.image != before).any(axis=-1)  # (H, W): the model's pixels
            image[changed] = result.image[changed]
            return "model", [_as_drawn(line, e) for line, e in zip(lines, entries, strict=True)]
        kept: Kept = "font" if self.cfg.on_fail == "font" else "drop"
        rc.meta["kept"] = kept
        self.stats["model_draw_font" if kept == "font" else "model_draw_dropped"] += 1
        return kept, lines

    def read_back(self, image: np.ndarray, lines: list[TextLine], record: dict[str, Any]) -> Kept:
        """A region kept as the model drew it, read again on the sample as stored
        (``image``: after the effects and the file's encoding): "model" where every line
        still reads exactly; else what ``on_fail`` says ("font": the factory draws the
        sample again from its record with this region in font ink; "drop"), written into
        the region's ``record`` and counted (``model_draw_unread_stored``)."""
        from glyphgen.eval.metrics import score
        from glyphgen.eval.normalize import normalize
        from glyphgen.render.verify import read_record

        judge = self.renderer().judge()
        scores = [
            score(normalize(line.text), normalize(read_record(judge, image, _record(line)).text))
            for line in lines
        ]
        record["read_stored"] = [s.read for s in scores]
        if all(s.exact for s in scores):
            return "model"
        kept: Kept = "font" if self.cfg.on_fail == "font" else "drop"
        record["kept"] = kept
        self.stats["model_draw_unread_stored"] += 1
        self.stats["model_draw_kept"] -= 1
        self.stats["model_draw_font" if kept == "font" else "model_draw_dropped"] += 1
        return kept


def _as_drawn(line: TextLine, entry: dict[str, Any]) -> TextLine:
    """``line`` with the geometry the render drew it in (its polygon and character quads)."""
    chars = [
        CharBox(c.char, [(float(x), float(y)) for x, y in e["quad"]], c.font)
        for c, e in zip(line.chars, entry["chars"], strict=True)
    ]
    polygon = [(float(x), float(y)) for x, y in entry["polygon"]]
    return replace(line, polygon=polygon, chars=chars)


def _record(line: TextLine) -> dict[str, Any]:
    """``line`` as a JSONL text entry (what ``glyphgen.render.verify.read_record`` crops)."""
    return {
        "text": line.text,
        "polygon": line.polygon,
        "direction": line.direction,
        "chars": [{"quad": c.quad} for c in line.chars],
    }
