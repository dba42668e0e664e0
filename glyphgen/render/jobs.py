"""Render jobs: what one ``glyphgen render`` draws, from its flags or from one line of a
``--batch`` file.

A batch file is JSON Lines, one object per job, whose keys are the flags' names:

    {"text": "营业中", "out": "sign.png", "background": "shop.jpg", "box": [120, 40, 360, 100]}
    {"text": ["一", "二"], "out": "two.png", "box": [[0, 0, 100, 40], [0, 50, 100, 90]]}
    {"text": "书山有路", "out": "col.png", "vertical": true, "steps": 4, "seed": 7}
    {"text": "开业大吉", "out": "red.png", "color": "#c00000"}

``text`` is a string or a list (one per region); a region is ``region`` (the flag's string,
or a list of them), ``box`` ([x0, y0, x1, y1], or a list of boxes) or ``points`` (4 [x, y]
clockwise from where reading starts, or a list of such); ``color`` is "#RRGGBB", "R,G,B" or
[R, G, B]; ``font`` is "auto", "off", a face id or a font file, ``old_text`` a string or a
list (one per region); ``out`` is required. Relative paths are relative to the batch file's folder, as
annotation files' image paths are. Numbers and colours are checked by the same rules as the
flags (``glyphgen.cmdline``). Blank lines are skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from glyphgen.render.regions import RenderError
from glyphgen.render.request import SAMPLING_RULES, RenderRequest, Sampling, Verify

REGION_KEYS = ("region", "box", "points")
VERIFY_KEYS = ("verify", "tries", "strict")
KEYS = (
    "text",
    "out",
    *REGION_KEYS,
    "background",
    "vertical",
    "style_ref",
    "color",
    "font",
    "old_text",
    *SAMPLING_RULES,
    *VERIFY_KEYS,
)


@dataclass(frozen=True)
class RenderJob:
    """One image to render and where to write it (its JSON goes beside it)."""

    out: Path
    request: RenderRequest

    def __post_init__(self) -> None:
        if self.out.suffix.lower() not in Image.registered_extensions():
            raise RenderError(
                f"out {self.out}: unknown image type {self.out.suffix!r}; use .png or .jpg"
            )


class BatchError(ValueError):
    """A batch file that cannot be read at all (missing, not UTF-8, no jobs)."""


def job_from_record(
    record: Any, base: Path, defaults: Sampling, verify: Verify | None = None
) -> RenderJob:
    """The job one batch line describes; relative paths join ``base``; ``defaults`` and
    ``verify`` are the command line's, for the keys the line leaves out. Raises ValueError
    (``RenderError`` for what ``RenderRequest`` checks) naming the key at fault."""
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object {{...}}, got {type(record).__name__}")
    unknown = sorted(set(record) - set(KEYS))
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(KEYS)}")
    if "text" not in record:
        raise ValueError('no "text": give the text to draw (a string, or a list per region)')
    given = [k for k in REGION_KEYS if k in record]
    if len(given) > 1:
        raise ValueError(f"give one of {', '.join(REGION_KEYS)}, not {' and '.join(given)}")
    out = _path(record, "out", base)
    if out is None:
        raise ValueError('no "out": give the image path to write (its .json goes beside it)')
    sampling = {k: record[k] for k in SAMPLING_RULES if k in record}
    request = RenderRequest(
        texts=record["text"],
        regions=_regions(given[0], record[given[0]]) if given else (),
        background=_path(record, "background", base),
        vertical=record.get("vertical", False),
        style_ref=_path(record, "style_ref", base),
        color=record.get("color"),
        sampling=Sampling(**{**vars(defaults), **sampling}),
        verify=_verify(record, verify),
        font=record.get("font", "auto"),
        old_text=record.get("old_text", ()),
    )
    return RenderJob(out, request)


def _verify(record: dict[str, Any], default: Verify | None) -> Verify | None:
    """A line's ``verify`` (true / false), ``tries`` and ``strict``, over the command line's."""
    on = record.get("verify", default is not None)
    if not isinstance(on, bool):
        raise RenderError(f"verify: must be true or false, got {on!r}")
    given = [k for k in ("tries", "strict") if k in record]
    if not on:
        if given:
            raise RenderError(f'{" and ".join(given)}: only with verification ("verify": true)')
        return None
    base = default or Verify()
    return Verify(record.get("tries", base.tries), record.get("strict", base.strict))


def read_batch(
    path: Path, defaults: Sampling, verify: Verify | None = None
) -> list[tuple[int, RenderJob | ValueError]]:
    """(line number, its job or why it has none) for every non-blank line of ``path``."""
    path = Path(path)
    if not path.is_file():
        raise BatchError(f"batch file {path} does not exist")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise BatchError(f"batch file {path} is not UTF-8 text ({exc})") from exc
    jobs: list[tuple[int, RenderJob | ValueError]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            jobs.append((number, job_from_record(json.loads(line), path.parent, defaults, verify)))
        except json.JSONDecodeError as exc:
            jobs.append((number, ValueError(f"not JSON ({exc.msg} at column {exc.colno})")))
        except ValueError as exc:
            jobs.append((number, exc))
    _refuse_shared_outputs(jobs)
    if not jobs:
        raise BatchError(f"batch file {path} has no jobs (one JSON object per line)")
    return jobs


def _refuse_shared_outputs(jobs: list[tuple[int, RenderJob | ValueError]]) -> None:
    """A job writing where an earlier one wrote would silently replace its image."""
    first: dict[Path, int] = {}
    for k, (number, job) in enumerate(jobs):
        if isinstance(job, RenderJob):
            if job.out in first:
                jobs[k] = (number, ValueError(f"out {job.out} is line {first[job.out]}'s too"))
            else:
                first[job.out] = number


def _path(record: dict[str, Any], key: str, base: Path) -> Path | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key}: must be a path (a non-empty string), got {value!r}")
    return base / value


def _regions(key: str, value: Any) -> list[str | list[float]]:
    """One region or a list of them, in the form ``key`` names: each as the flag's string
    or its numbers (a box's 4, or 4 points' 8), for ``RenderRequest`` to read."""
    if key == "region":
        specs = [value] if isinstance(value, str) else value
        if not isinstance(specs, list) or not all(isinstance(s, str) for s in specs):
            raise RenderError(
                f"region: must be a string like the flag's, or a list of them, got {value!r}"
            )
        return list(specs)
    depth = 1 if key == "box" else 2  # list nesting of one box / one set of points
    many = _nesting(value) == depth + 1
    regions = value if many else [value]
    out: list[str | list[float]] = []
    for r in regions:
        if _nesting(r) != depth or len(r) != 4 or (depth == 2 and any(len(p) != 2 for p in r)):
            shape = "[x0, y0, x1, y1]" if key == "box" else "4 points [x, y]"
            raise RenderError(f"{key}: {r!r} is not {shape} (or a list of such)")
        numbers = [x for p in r for x in p] if depth == 2 else r
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in numbers):
            raise RenderError(f"{key}: {r!r} holds something other than numbers")
        out.append([float(x) for x in numbers])
    return out


def _nesting(value: Any) -> int:
    """How deep the lists go along the first elements: 0 for a number, 1 for [1, 2], ..."""
    depth = 0
    while isinstance(value, list) and value:
        depth, value = depth + 1, value[0]
    return depth
