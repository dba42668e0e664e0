"""``assert_text``: check the text in one image from your own test suite.

    from glyphgen.eval import assert_text

    def test_poster_says_beijing_university():
        image = my_model.generate("a poster that says 北京大学")
        assert_text(image, "北京大学", region=(40, 100, 360, 160), min_ratio=0.9)

A failure reads::

    AssertionError: text in image does not match
      expected: 北京大学
      read:     北京大字  (confidence 0.97)
      differs:  学 -> 字 (position 4)
      ratio 0.7500 < min_ratio 0.9; NED 0.7500
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from glyphgen.eval.annotations import Region
from glyphgen.eval.backends import Recognizer, create_backend
from glyphgen.eval.config import CropConfig, NormalizeConfig
from glyphgen.eval.crops import CropError, crop_region, load_image
from glyphgen.eval.metrics import Score, alignment, score
from glyphgen.eval.normalize import normalize as normalize_text

ImageLike = str | Path | np.ndarray | Image.Image


@dataclass(frozen=True)
class TextCheck:
    read: str  # what the judge read (raw)
    confidence: float
    score: Score  # metrics on the normalized texts


def read_text(
    image: ImageLike,
    region: Sequence[Sequence[float]] | Sequence[float] | None = None,
    *,
    direction: str | None = None,
    backend: str | Recognizer = "rapidocr",
    crop: CropConfig | None = None,
) -> tuple[str, float]:
    """What the judge reads in ``region`` of ``image`` (the whole image when None)."""
    array = _as_array(image)
    poly = _polygon(region)
    try:
        line = crop_region(array, Region(text="", polygon=poly, direction=direction), crop)
    except CropError as exc:
        raise ValueError(f"region {region!r}: {exc}") from exc
    reading = _recognizer(backend).recognize([line])[0]
    return reading.text, reading.score


def assert_text(
    image: ImageLike,
    expected: str,
    region: Sequence[Sequence[float]] | Sequence[float] | None = None,
    *,
    min_ratio: float | None = None,
    min_ned: float | None = None,
    direction: str | None = None,
    backend: str | Recognizer = "rapidocr",
    normalize: NormalizeConfig | None = None,
    crop: CropConfig | None = None,
) -> TextCheck:
    """Assert that the judge reads ``expected`` in ``image``.

    image: a path, a PIL image, or an RGB ``uint8`` array.
    region: a polygon ``[(x, y), ...]`` (clockwise from where reading starts) or a box
        ``(x0, y0, x1, y1)``; None for the whole image.
    min_ratio / min_ned: pass when the Levenshtein ratio / NED reach them; with neither,
        the normalized texts must match exactly.
    Raises ``ValueError`` (not ``AssertionError``) when ``expected`` holds characters the
    judge can never output: such an assertion could not pass, whatever the image.
    """
    norm = normalize or NormalizeConfig()
    target = normalize_text(expected, norm)
    if not target:
        raise ValueError(f"expected text {expected!r} is empty after normalization")
    recognizer = _recognizer(backend)
    charset = recognizer.charset()
    if charset is not None:
        reachable = set("".join(normalize_text(c, norm) for c in charset))
        missing = "".join(dict.fromkeys(c for c in target if c not in reachable))
        if missing:
            raise ValueError(
                f"the {recognizer.name} judge cannot output {missing!r}, so it can never read "
                f"{expected!r}; use a backend that covers them"
            )
    read, confidence = read_text(image, region, direction=direction, backend=recognizer, crop=crop)
    s = score(target, normalize_text(read, norm))
    failures = []
    if min_ratio is None and min_ned is None and not s.exact:
        failures.append(
            "texts differ (exact match required; pass min_ratio or min_ned to allow errors)"
        )
    if min_ratio is not None and s.ratio < min_ratio:
        failures.append(f"ratio {s.ratio:.4f} < min_ratio {min_ratio}")
    if min_ned is not None and s.ned < min_ned:
        failures.append(f"NED {s.ned:.4f} < min_ned {min_ned}")
    if failures:
        raise AssertionError(
            "text in image does not match\n"
            f"  expected: {s.target}\n"
            f"  read:     {s.read or '(nothing)'}  (confidence {confidence:.2f})\n"
            f"  differs:  {describe_diff(s.target, s.read)}\n"
            f"  {'; '.join(failures)}; ratio {s.ratio:.4f}, NED {s.ned:.4f}"
        )
    return TextCheck(read, confidence, s)


def describe_diff(target: str, read: str) -> str:
    """'学 -> 字 (position 4); missing 京 (position 2)' (1-based target positions)."""
    parts = []
    pos = 1
    for op, t, r in alignment(target, read):
        if op == "replace":
            parts.append(f"{t} -> {r} (position {pos})")
        elif op == "delete":
            parts.append(f"missing {t} (position {pos})")
        elif op == "insert":
            parts.append(f"extra {r} (before position {pos})")
        pos += len(t)
    return "; ".join(parts) or "none"


@functools.cache
def _cached_backend(name: str) -> Recognizer:
    return create_backend(name)


def _recognizer(backend: str | Recognizer) -> Recognizer:
    return backend if isinstance(backend, Recognizer) else _cached_backend(backend)


def _as_array(image: ImageLike) -> np.ndarray:
    if isinstance(image, (str, Path)):
        try:
            return load_image(Path(image))
        except CropError as exc:
            raise ValueError(str(exc)) from exc
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim not in (2, 3):
        raise ValueError(f"expected an RGB uint8 image array, got {array.dtype} {array.shape}")
    return np.stack([array] * 3, axis=-1) if array.ndim == 2 else array[..., :3]


def _polygon(
    region: Sequence[Sequence[float]] | Sequence[float] | None,
) -> list[tuple[float, float]] | None:
    if region is None:
        return None
    items = list(region)
    if len(items) == 4 and all(isinstance(v, (int, float)) for v in items):
        x0, y0, x1, y1 = (float(v) for v in items)  # type: ignore[arg-type]
        return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    try:
        return [(float(p[0]), float(p[1])) for p in items]  # type: ignore[index]
    except (TypeError, IndexError, ValueError) as exc:
        raise ValueError(
            f"region must be (x0, y0, x1, y1) or [(x, y), ...], got {region!r}"
        ) from exc
