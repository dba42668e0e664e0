"""Judges built on glyphgen's own recognizer (``glyphgen.reader``).

``glyphgen``: our CTC reader alone. ``combined``: PP-OCRv4 (the field's common judge) for
every target whose characters it can output, our reader for the others, so level-2 GB2312
characters are judged too; each reading says which judge made it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from glyphgen.eval.backends import BackendUnavailable, Reading, Recognizer


class GlyphgenRecognizer(Recognizer):
    name = "glyphgen"

    def __init__(self, weights: str | Path | None = None, batch_size: int = 32):
        from glyphgen.reader.weights import load_model

        try:
            self.model, self.vocab, self.manifest = load_model(Path(weights) if weights else None)
        except FileNotFoundError as exc:
            raise BackendUnavailable(str(exc)) from exc
        self.batch_size = batch_size
        self.weights = weights

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Reading]:
        from glyphgen.reader.data import to_grey
        from glyphgen.reader.metrics import read_lines

        greys = [to_grey(c) for c in crops]
        reads = read_lines(self.model, self.vocab, greys, self.batch_size)
        return [Reading(text, conf, self.name) for text, conf in reads]

    def charset(self) -> frozenset[str] | None:
        return frozenset(self.vocab.chars)

    def vertical_crop(self, target: str) -> Literal["rotate", "chars"]:
        return "chars"  # trained on upright characters in rows

    def info(self) -> dict[str, Any]:
        from glyphgen.reader.weights import identity

        who = identity(self.manifest, self.weights)
        return {
            "name": self.name,
            "model": who["weights"],
            "dictionary_size": len(self.vocab.chars),
            "steps": who["steps"],
            "sha256": who["sha256"],
            "batch_size": self.batch_size,
        }


class CombinedRecognizer(Recognizer):
    name = "combined"

    def __init__(self, weights: str | Path | None = None, **rapidocr_options: Any):
        from glyphgen.eval.backends import create_backend

        self.primary = create_backend("rapidocr", **rapidocr_options)
        self.secondary = GlyphgenRecognizer(weights)
        primary_chars = self.primary.charset()
        self._primary_chars = primary_chars if primary_chars is not None else frozenset()

    def _primary_can(self, target: str) -> bool:
        return all(c in self._primary_chars for c in target if not c.isspace())

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Reading]:
        """Without targets there is nothing to route by: PP-OCRv4 reads everything."""
        return [Reading(r.text, r.score, self.primary.name) for r in self.primary.recognize(crops)]

    def recognize_for(self, crops: Sequence[np.ndarray], targets: Sequence[str]) -> list[Reading]:
        first = [i for i, t in enumerate(targets) if self._primary_can(t)]
        second = [i for i, t in enumerate(targets) if not self._primary_can(t)]
        out: list[Reading | None] = [None] * len(crops)
        for judge, idx in ((self.primary, first), (self.secondary, second)):
            if idx:
                for i, r in zip(idx, judge.recognize([crops[i] for i in idx]), strict=True):
                    out[i] = Reading(r.text, r.score, judge.name)
        return [r for r in out if r is not None]

    def charset(self) -> frozenset[str] | None:
        return self._primary_chars | (self.secondary.charset() or frozenset())

    def vertical_crop(self, target: str) -> Literal["rotate", "chars"]:
        judge = self.primary if self._primary_can(target) else self.secondary
        return judge.vertical_crop(target)

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "routing": "rapidocr where it can output every target character, else glyphgen",
            "primary": self.primary.info(),
            "secondary": self.secondary.info(),
        }
