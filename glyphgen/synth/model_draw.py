"""The factory's seam for model-drawn regions (``model_draw`` in the config).

The factory stands below the glyph model (the model is trained on it), so it does not draw
with the model itself: a run is handed a ``DrawerFactory`` (``runner.run(..., drawer=)``;
``glyphgen synth`` hands it ``glyphgen.render.model_drawn.ModelDrawer``), each worker builds
one ``RegionDrawer`` from it, and the sample renderer asks it, region by region, whether to
redraw the region and with what result (``glyphgen.synth.render.Renderer._compose``).

A sample's model-draw choices (which regions, their seeds) come from a stream of their own,
``default_rng([seed, index, MODEL_DRAW_STREAM])``: the sample's other choices are those of a
run without model drawing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from glyphgen.synth.choices import Choices
from glyphgen.synth.record import TextLine

if TYPE_CHECKING:
    from glyphgen.synth.config import ModelDrawConfig
    from glyphgen.typeset.fonts import FontLibrary

MODEL_DRAW_STREAM = 1  # the third word of the model-draw stream's seed (the sample's has two)

Kept = Literal["model", "font", "drop"]


class RegionDrawer(Protocol):
    def region(
        self, image: np.ndarray, lines: list[TextLine], rc: Choices
    ) -> tuple[Kept, list[TextLine]]:
        """Region ``lines`` (one region's, as the factory laid them out) redrawn into
        ``image`` ((H, W, 3) float32, the sample before its effects; changed in place) when
        ``rc`` picks it and the judge reads it: ("model", the lines as drawn); else ("font",
        ``lines``) for the factory to ink by font, or ("drop", ``lines``): no sample."""
        ...

    def read_back(self, image: np.ndarray, lines: list[TextLine], record: dict[str, Any]) -> Kept:
        """A region ``region`` kept ("model"), read again on the finished sample as stored
        (``image``): "model" where it still reads; else "font" (the factory draws the sample
        again from its record, ``record`` now saying the region is the font's) or "drop"."""
        ...


# (the config's model_draw section, the factory's fonts, the renderer's event counter)
DrawerFactory = Callable[["ModelDrawConfig", "FontLibrary", Counter[str]], RegionDrawer]


def model_draw_choices(seed: int, index: int, recorded: dict[str, Any] | None) -> Choices:
    """Sample ``index``'s model-draw choices (replayed from ``recorded`` where given)."""
    return Choices(np.random.default_rng([seed, index, MODEL_DRAW_STREAM]), recorded)
