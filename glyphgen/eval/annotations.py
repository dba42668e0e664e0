"""Annotation readers: our JSONL, AnyWord-3M / AnyText JSON, PaddleOCR det and rec labels.

Each reader turns a file into ``Sample`` records (one per image, with its text regions) and
a list of ``Problem`` records for lines it could not use, so one bad line never stops a
run. Only a file that cannot be read at all raises ``AnnotationError``.

Formats (``--format``; "auto" picks from the suffix and the first line):

- ``jsonl``: one JSON object per line, ``{"image": "rel/path.png", "texts": [{"text",
  "polygon": [[x, y], ...], "direction", "font", "chars": [{"char", "quad"}]}]}``, as the
  factory writes it; ``{"image", "text"}`` (or a text entry without a polygon) means the
  whole image is one line. Optional ``width``/``height`` are the annotated image size:
  an image of another size has its polygons scaled to it.
- ``anyword``: ``{"data_root", "data_list": [{"img_name", "annotations": [{"polygon",
  "text", "valid"}]}]}``; ``valid: false`` regions are skipped and counted.
- ``paddle-det``: ``path<TAB>[{"transcription", "points"}]``; "###" marks an ignore region.
- ``paddle-rec``: ``path<TAB>label``: the whole image is one line.
"""

from __future__ import annotations

import json
import math
import posixpath
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

Point = tuple[float, float]

FORMATS = ("jsonl", "anyword", "paddle-det", "paddle-rec")
IGNORE_TEXT = "###"  # PaddleOCR's (and ICDAR's) marker for an unreadable region


class AnnotationError(ValueError):
    """The annotation file as a whole cannot be read (missing, not UTF-8, unknown format)."""


@dataclass
class Region:
    text: str
    polygon: list[Point] | None  # None: the whole image is the line
    direction: str | None = None  # "horizontal" | "vertical" | None (decided from the shape)
    font: str | None = None
    char_quads: list[list[Point]] | None = None  # one quad per character, reading order
    language: str | None = None


@dataclass
class Sample:
    index: int  # position in the annotation file (0-based, among samples)
    image: str  # image path as annotated
    path: Path  # image path resolved against the images folder
    regions: list[Region]
    where: str  # "file:line" for messages
    size: tuple[int, int] | None = None  # annotated (width, height), if given


@dataclass
class Problem:
    """A sample or region that could not be evaluated, and why."""

    kind: str  # see PROBLEM_KINDS
    message: str
    where: str = ""  # "file:line"
    image: str | None = None
    region: int | None = None  # region index within the sample, None for the whole sample
    path: str | None = None  # the image file looked for (images folder / image), if any


PROBLEM_KINDS = {
    "bad-annotation": "an annotation line that is not valid JSON or lacks required fields",
    "missing-image": "the image file does not exist",
    "image-outside": "the image path leaves the images folder (../ or absolute; "
    "--allow-outside-images reads it)",
    "unreadable-image": "the image file exists but cannot be decoded (or is truncated)",
    "too-large-image": "the image's header gives more pixels than the limit (max_image_pixels)",
    "bad-polygon": "fewer than 3 points, non-numeric coordinates or zero area",
    "polygon-outside": "the polygon reaches outside the image",
    "empty-target": "the target text is empty after normalization",
    "missing-reference": "--reference-images has no image at the sample's path",
    "unreadable-reference": "the reference image cannot be decoded, is truncated or too large",
    "reference-size": "the reference image's size differs from the image's",
}


@dataclass
class AnnotationSet:
    format: str
    source: Path
    images_root: Path
    samples: list[Sample] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)  # regions marked invalid / ignore


# -- entry point ------------------------------------------------------------------------------
def read_annotations(
    path: Path | str, images: Path | str | None = None, fmt: str = "auto"
) -> AnnotationSet:
    path = Path(path)
    if path.is_dir():
        raise AnnotationError(
            f"{path} is a folder; pass the annotation file in it (labels.jsonl, an AnyWord "
            "JSON or a PaddleOCR label file) to --annotations, and the folder to --images"
        )
    if not path.is_file():
        raise AnnotationError(f"annotation file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AnnotationError(f"annotation file {path} is not UTF-8 text: {exc}") from exc
    except OSError as exc:
        raise AnnotationError(f"annotation file {path} cannot be read: {exc}") from exc
    if fmt == "auto":
        fmt = detect_format(path, text)
    if fmt not in FORMATS:
        raise AnnotationError(f"unknown annotation format {fmt!r}; use auto or one of {FORMATS}")
    images_root = Path(images) if images is not None else None
    if fmt == "anyword":
        return _read_anyword(path, text, images_root)
    out = AnnotationSet(format=fmt, source=path, images_root=images_root or path.parent)
    line_reader = {
        "jsonl": _jsonl_line,
        "paddle-det": _paddle_det_line,
        "paddle-rec": _paddle_rec_line,
    }[fmt]
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{lineno}"
        try:
            image, regions, size, skipped = line_reader(line)
        except _BadLine as exc:
            out.problems.append(Problem("bad-annotation", str(exc), where))
            continue
        out.skipped.update(skipped)
        out.samples.append(
            Sample(len(out.samples), image, out.images_root / image, regions, where, size)
        )
    if not out.samples and not out.problems:
        raise AnnotationError(f"annotation file {path} holds no samples")
    return out


def detect_format(path: Path, text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    if not first:
        raise AnnotationError(f"annotation file {path} is empty")
    stripped = text.lstrip()
    if path.suffix == ".json" or (stripped.startswith("{") and '"data_list"' in text[:4096]):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict) and "data_list" in data:
            return "anyword"
    if first.lstrip().startswith("{"):
        return "jsonl"
    if "\t" in first:
        label = first.split("\t", 1)[1].strip()
        if label.startswith("["):
            try:
                if isinstance(json.loads(label), list):
                    return "paddle-det"
            except json.JSONDecodeError:
                pass
        return "paddle-rec"
    raise AnnotationError(
        f"cannot tell the format of {path}: the first line is neither a JSON object nor "
        f"'path<TAB>label'; pass --format with one of {FORMATS}"
    )


# -- per-format readers -----------------------------------------------------------------------
class _BadLine(ValueError):
    pass


_LineResult = tuple[str, list[Region], tuple[int, int] | None, Counter[str]]


def _jsonl_line(line: str) -> _LineResult:
    rec = _json_object(line)
    image = _image_path(_require_str(rec, "image"))
    size = None
    if isinstance(rec.get("width"), int) and isinstance(rec.get("height"), int):
        size = (rec["width"], rec["height"])
    if "texts" in rec:
        texts = rec["texts"]
        if not isinstance(texts, list):
            raise _BadLine(f"'texts' must be a list, got {type(texts).__name__}")
    elif "text" in rec:
        texts = [{"text": rec["text"]}]
    else:
        raise _BadLine("the object has neither 'texts' nor 'text'")
    regions = []
    for k, item in enumerate(texts):
        if not isinstance(item, dict):
            raise _BadLine(f"texts[{k}] must be an object, got {item!r}")
        text = _require_str(item, "text", f"texts[{k}].")
        polygon = item.get("polygon")
        chars = item.get("chars")
        quads = None
        if (
            isinstance(chars, list)
            and chars
            and all(isinstance(c, dict) and "quad" in c for c in chars)
        ):
            quads = [_points(c["quad"], f"texts[{k}].chars quad") for c in chars]
        regions.append(
            Region(
                text=text,
                polygon=None if polygon is None else _points(polygon, f"texts[{k}].polygon"),
                direction=_opt_str(item.get("direction")),
                font=_opt_str(item.get("font")),
                char_quads=quads,
                language=_opt_str(item.get("language")),
            )
        )
    return image, regions, size, Counter()


def _paddle_det_line(line: str) -> _LineResult:
    image, _, label = line.partition("\t")
    if not label:
        raise _BadLine('expected \'path<TAB>[{"transcription", "points"}, ...]\'')
    try:
        items = json.loads(label)
    except json.JSONDecodeError as exc:
        raise _BadLine(f"the label is not valid JSON: {exc}") from exc
    if not isinstance(items, list):
        raise _BadLine("the label must be a JSON list of regions")
    regions, skipped = [], Counter[str]()
    for k, item in enumerate(items):
        if not isinstance(item, dict):
            raise _BadLine(f"region {k} must be an object, got {item!r}")
        text = _require_str(item, "transcription", f"region {k}: ")
        if text == IGNORE_TEXT:
            skipped["ignore-label"] += 1
            continue
        if "points" not in item:
            raise _BadLine(f"region {k} has no 'points'")
        regions.append(Region(text=text, polygon=_points(item["points"], f"region {k} points")))
    return _image_path(image.strip()), regions, None, skipped


def _paddle_rec_line(line: str) -> _LineResult:
    image, sep, label = line.partition("\t")
    if not sep:
        raise _BadLine("expected 'path<TAB>label'")
    return _image_path(image.strip()), [Region(text=label, polygon=None)], None, Counter()


def _read_anyword(path: Path, text: str, images: Path | None) -> AnnotationSet:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AnnotationError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("data_list"), list):
        raise AnnotationError(f"{path} has no 'data_list' list: not AnyWord-3M / AnyText JSON")
    if images is None:
        root = data.get("data_root")
        images = path.parent / root if isinstance(root, str) and root else path.parent
    out = AnnotationSet(format="anyword", source=path, images_root=images)
    for k, item in enumerate(data["data_list"]):
        where = f"{path.name}:data_list[{k}]"
        try:
            if not isinstance(item, dict):
                raise _BadLine(f"entry must be an object, got {item!r}")
            image = _image_path(_require_str(item, "img_name"))
            annotations = item.get("annotations", [])
            if not isinstance(annotations, list):
                raise _BadLine("'annotations' must be a list")
            regions = []
            for j, ann in enumerate(annotations):
                if not isinstance(ann, dict):
                    raise _BadLine(f"annotations[{j}] must be an object")
                if ann.get("valid") is False:
                    out.skipped["invalid"] += 1
                    continue
                t = _require_str(ann, "text", f"annotations[{j}].")
                if t == IGNORE_TEXT:
                    out.skipped["ignore-label"] += 1
                    continue
                polygon = ann.get("polygon")
                regions.append(
                    Region(
                        text=t,
                        polygon=None
                        if polygon is None
                        else _points(polygon, f"annotations[{j}].polygon"),
                        language=_opt_str(ann.get("language")),
                    )
                )
        except _BadLine as exc:
            out.problems.append(Problem("bad-annotation", str(exc), where))
            continue
        out.samples.append(Sample(len(out.samples), image, images / image, regions, where))
    return out


# -- small validators -------------------------------------------------------------------------
def _json_object(line: str) -> dict[str, Any]:
    try:
        rec = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _BadLine(f"not valid JSON: {exc}") from exc
    if not isinstance(rec, dict):
        raise _BadLine(f"expected a JSON object, got {type(rec).__name__}")
    return rec


def _require_str(obj: dict[str, Any], key: str, prefix: str = "") -> str:
    if key not in obj:
        raise _BadLine(f"missing {prefix}{key!r}")
    value = obj[key]
    if not isinstance(value, str):
        raise _BadLine(f"{prefix}{key!r} must be a string, got {value!r}")
    return value


def leaves_folder(image: str) -> bool:
    """True when the annotated path ``image`` is absolute or climbs out of the folder it is
    read relative to (``../x.png``, ``a/../../x.png``), whatever that folder is."""
    if PurePosixPath(image).is_absolute() or PureWindowsPath(image).is_absolute():
        return True
    parts = PurePosixPath(posixpath.normpath(image.replace("\\", "/"))).parts
    return bool(parts) and parts[0] == ".."


def outside_problem(sample: Sample, root: Path) -> Problem:
    return Problem(
        "image-outside",
        f"image path {sample.image!r} leaves the images folder {root} (a '..' or an absolute "
        "path), so it is not opened; name images inside --images, or pass "
        "--allow-outside-images if you trust these annotations",
        sample.where,
        sample.image,
    )


def _image_path(value: str) -> str:
    if not value.strip():
        raise _BadLine("the image path is empty")
    return value


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _points(value: Any, what: str) -> list[Point]:
    """``[[x, y], ...]`` or a flat ``[x0, y0, x1, y1, ...]`` list of finite numbers."""
    if not isinstance(value, list) or not value:
        raise _BadLine(f"{what} must be a non-empty list of [x, y] points, got {value!r}")
    if all(_is_number(v) for v in value):
        if len(value) % 2:
            raise _BadLine(f"{what}: a flat coordinate list needs an even length, got {len(value)}")
        value = [value[i : i + 2] for i in range(0, len(value), 2)]
    points = []
    for p in value:
        if not (isinstance(p, (list, tuple)) and len(p) == 2 and all(_is_number(v) for v in p)):
            raise _BadLine(f"{what}: {p!r} is not an [x, y] pair of numbers")
        points.append((float(p[0]), float(p[1])))
    return points


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
