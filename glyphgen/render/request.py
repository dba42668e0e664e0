"""What one render is asked for, checked once where it enters: ``RenderRequest`` and its
``Sampling``.

The command line (its flags and each ``--batch`` line), the web page and Python callers all
build these; each argument has one rule (``glyphgen.model.config.SAMPLING_RULES``,
``cmdline.colour``, ``regions.region_from_numbers``) and is checked here, before any image is read or model
loaded, and by nothing downstream. What needs the images or the fonts (a region inside the
background, a character no font has) is checked by ``Renderer.prepare``, still before the
model loads.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from glyphgen import cmdline
from glyphgen.limits import MAX_LINES_PER_REGION, MAX_REGIONS, MAX_TEXT_LENGTH, MAX_TRIES
from glyphgen.model.config import SAMPLING_RULES
from glyphgen.render.regions import (
    RenderError,
    RenderLimitError,
    parse_region,
    region_from_numbers,
)
from glyphgen.render.verify import DEFAULT_TRIES

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Sampling:
    """How the model samples. None: the weights' own default (``default_steps``,
    ``default_strength``, ``default_draft`` in their ``model_index.json``)."""

    seed: int = 0  # region line k uses seed + k
    steps: int | None = None
    strength: float | None = None  # 1: from noise; below 1: refine a draft; 0: the draft, no model
    draft: str | None = None  # "glyph" or "classical" (``glyphgen.model.config.DRAFTS``)
    guidance: float = 0.0  # OCR-guided sampling's step (``glyphgen.model.guidance``); 0: off

    def __post_init__(self) -> None:
        for name, rule in SAMPLING_RULES.items():
            value = getattr(self, name)
            if value is not None or name == "seed":
                try:
                    object.__setattr__(self, name, rule(value))
                except ValueError as exc:
                    raise RenderError(f"{name}: {exc}") from None


@dataclass(frozen=True)
class Verify:
    """Read every drawn region back with the judge and redraw it (new seeds) until it reads
    exactly (``glyphgen.render.verify``)."""

    tries: int = DEFAULT_TRIES  # candidates per region at most (the first is the unverified one)
    strict: bool = False  # no classical fallback: a region never read exactly is a failure

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "tries", cmdline.positive_int(self.tries))
        except ValueError as exc:
            raise RenderError(f"tries: {exc}") from None
        if self.tries > MAX_TRIES:
            raise RenderError(
                f"tries: {self.tries} draws per region; at most {MAX_TRIES} (each is a full "
                "draw of the model)"
            )
        if not isinstance(self.strict, bool):
            raise RenderError(f"strict: must be true or false, got {self.strict!r}")


@dataclass(frozen=True)
class RenderRequest:
    """Text to draw into regions of an image.

    texts: one per region, or one for every region; with no region, one text goes in the
    middle of the background (or of a plain canvas made for it). A line break ("\\n") starts
    a new line inside the region; no other control character is taken.
    regions: (4, 2) x, y image pixels each, clockwise from where reading starts (a box's
    top-left for a row), or 4 or 8 numbers (a box, or 4 points).
    background, style_ref: a path or an RGB uint8 array; no background: plain paper.
    color: the text's fill; else the style reference's, else the old text's in the region.
    classical: no model, the classical edit (the same as strength 0 with the classical draft).
    font: the face the classical edit (and the model's classical draft) draws in: "auto"
    (the old text's style, estimated: face, weight, outline, shadow), "off" (the canonical
    font, the old text's colours only), a face id of the library, or a font file.
    old_text: the text in each region now (one, or one per region): its face is matched to
    the old text's ink; without it the canonical face is grown or thinned to its weight.
    """

    texts: Sequence[str]
    regions: Sequence[Any] = ()
    background: Path | np.ndarray | None = None
    vertical: bool = False
    style_ref: Path | np.ndarray | None = None
    color: RGB | str | None = None  # "#RRGGBB", "R,G,B" or (R, G, B)
    sampling: Sampling = field(default_factory=Sampling)
    classical: bool = False
    verify: Verify | None = None  # read back and redrawn until exact; None: drawn once
    font: str = "auto"
    old_text: str | Sequence[str] = ()

    def __post_init__(self) -> None:
        texts = [self.texts] if isinstance(self.texts, str) else self.texts
        if (
            not isinstance(texts, Sequence)
            or not texts
            or not all(isinstance(t, str) for t in texts)
        ):
            raise RenderError(
                f"text: must be a string or a non-empty list of strings, got {self.texts!r}"
            )
        if len(texts) > MAX_REGIONS or len(self.regions) > MAX_REGIONS:
            raise RenderLimitError(
                f"{len(texts)} texts for {len(self.regions)} regions; at most {MAX_REGIONS} "
                "regions in one render: split it into several (--batch renders many)"
            )
        object.__setattr__(self, "texts", tuple(_text(k, t) for k, t in enumerate(texts)))
        object.__setattr__(self, "regions", tuple(_polygon(r) for r in self.regions))
        if not isinstance(self.vertical, bool):
            raise RenderError(f"vertical: must be true or false, got {self.vertical!r}")
        if self.color is not None:
            given = self.color if isinstance(self.color, str) else list(self.color)
            try:
                object.__setattr__(self, "color", cmdline.colour(given))
            except ValueError as exc:
                raise RenderError(f"color: {exc}") from None
        if not isinstance(self.font, str) or not self.font.strip():
            raise RenderError(
                f"font: auto, off, a face id (glyphgen fonts) or a font file, got {self.font!r}"
            )
        old = [self.old_text] if isinstance(self.old_text, str) else self.old_text
        if not isinstance(old, Sequence) or not all(isinstance(t, str) for t in old):
            raise RenderError(
                f"old_text: a string or a list of strings (one per region), got {self.old_text!r}"
            )
        object.__setattr__(self, "old_text", tuple(old))
        if self.old_text and len(self.old_text) not in (1, len(self.regions)):
            raise RenderError(
                f"old_text: {len(self.old_text)} given for {len(self.regions)} region(s): give "
                "one for every region, or one per region"
            )
        if not isinstance(self.sampling, Sampling):
            raise RenderError(f"sampling: must be a Sampling, got {self.sampling!r}")
        if self.verify is not None and not isinstance(self.verify, Verify):
            raise RenderError(f"verify: must be a Verify or None, got {self.verify!r}")
        if self.classical:
            # the classical edit (no model) is the classical draft as it is
            classical = Sampling(self.sampling.seed, strength=0.0, draft="classical")
            object.__setattr__(self, "sampling", classical)

    @property
    def colour(self) -> RGB | None:
        """``color`` as checked (a string given is read into (R, G, B) on creation)."""
        return cast("RGB | None", self.color)


# Control characters by name; any other in Unicode's Cc category (or a line or paragraph
# separator) is named by its code point.
CONTROL_NAMES = {
    "\t": "a tab",
    "\r": "a carriage return",
    "\x0b": "a vertical tab",
    "\x0c": "a form feed",
    "\x00": "a NUL",
    "\x1b": "an escape",
    "\x7f": "a delete",
    "\x85": "a next-line",
    "\u2028": "a line separator",
    "\u2029": "a paragraph separator",
}


def _text(k: int, text: str) -> str:
    """Text ``k`` with its line breaks as ``\\n`` (a CRLF is one) and none at its ends;
    RenderError for any other control character, or one over the bounds."""
    text = text.replace("\r\n", "\n").strip("\n")
    for c in text:
        if c != "\n" and (unicodedata.category(c) == "Cc" or c in CONTROL_NAMES):
            name = CONTROL_NAMES.get(c, "a control character")
            raise RenderError(
                f"text {k}: U+{ord(c):04X} ({name}) cannot be drawn; only line breaks may "
                "stand in a text (each starts a new line in the region): remove it"
            )
    lines = text.split("\n")
    if len(lines) > MAX_LINES_PER_REGION:
        raise RenderLimitError(
            f"text {k}: {len(lines)} lines; at most {MAX_LINES_PER_REGION} in one region: "
            "give the rest regions of their own"
        )
    for j, line in enumerate(lines):
        if len(line) > MAX_TEXT_LENGTH:
            where = f"text {k}" + (f", line {j + 1}" if len(lines) > 1 else "")
            raise RenderLimitError(
                f"{where}: {len(line)} characters; at most {MAX_TEXT_LENGTH} in a line: break "
                "it into lines or split it over regions"
            )
    return text


def _polygon(region: Any) -> np.ndarray:
    """A region in any of its forms -> its (4, 2) float64 polygon: the flag's string, 4
    numbers (a box), 8 numbers or a (4, 2) array (4 points clockwise from the reading start)."""
    if isinstance(region, str):
        return parse_region(region)
    try:
        numbers = np.asarray(region, np.float64).reshape(-1).tolist()
    except (TypeError, ValueError):
        raise RenderError(f"region {region!r}: give x0,y0,x1,y1 or 4 points") from None
    return region_from_numbers(
        numbers, region.tolist() if isinstance(region, np.ndarray) else region
    )
