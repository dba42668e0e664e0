"""``jsonl``: our own labels, one JSON object per sample, everything the record holds.

``{"image", "width", "height", "kind", "index", "texts": [{"text", "polygon", "chars":
[{"char", "quad", "font"}], "font", "size", "color", "angle", "direction", "language"}],
"caption", "glyph_image", "position_mask", "meta"}``. Paths are relative to the output root;
coordinates are rounded to 2 decimals; ``meta`` is kept exact (it replays the sample). The
evaluator reads ``image`` and ``texts[*].text`` / ``texts[*].polygon``.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import Any, ClassVar

from glyphgen.synth.record import EDIT_FILES, Sample, TextLine
from glyphgen.synth.writers.base import LineFileWriter, SamplePaths, points2, r2, sample_paths


def line_record(line: TextLine) -> dict[str, Any]:
    return {
        "text": line.text,
        "polygon": points2(line.polygon),
        "chars": [{"char": c.char, "quad": points2(c.quad), "font": c.font} for c in line.chars],
        "font": line.font,
        "size": int(line.size),
        "color": [int(v) for v in line.color],
        "angle": r2(line.angle),
        "direction": line.direction,
        "language": line.language,
    }


def sample_record(sample: Sample, paths: SamplePaths | None) -> dict[str, Any]:
    """The JSON record of a sample; ``paths=None`` leaves the file paths out (WebDataset)."""
    record: dict[str, Any] = {}
    if paths is not None:
        record["image"] = paths.image
    record.update(
        width=int(sample.width),
        height=int(sample.height),
        kind=sample.kind,
        index=int(sample.index),
        texts=[line_record(line) for line in sample.lines],
        caption=sample.caption,
    )
    if paths is not None:
        record["glyph_image"] = paths.glyph
        record["position_mask"] = paths.mask
    if sample.edit is not None:
        record["edit"] = edit_record(sample, paths)
    record["meta"] = sample.meta
    return record


def edit_record(sample: Sample, paths: SamplePaths | None) -> dict[str, Any]:
    """An edit pair's labels: A's text, the style as drawn, and (beside files) where the source
    scene, both text masks and the style reference are. The edited line is ``texts[0]``."""
    assert sample.edit is not None
    record: dict[str, Any] = {"text_a": sample.edit.text_a, "text_b": sample.lines[0].text}
    if paths is not None:
        shard = PurePosixPath(paths.image).parent.parent
        record.update({name: str(shard / name / f"{sample.key}.png") for name in EDIT_FILES})
    record["style"] = sample.edit.style
    return record


def _json_default(obj: Any) -> Any:
    """numpy scalars and arrays (``.item()`` / ``.tolist()``), tuples come as lists already."""
    for attr in ("tolist", "item"):
        if hasattr(obj, attr):
            return getattr(obj, attr)()
    raise TypeError(f"{type(obj).__name__} is not JSON serializable: {obj!r}")


def dumps(obj: Any) -> str:
    """Compact UTF-8 JSON; NaN/inf are refused (they are not JSON and break strict readers)."""
    return json.dumps(
        obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_json_default
    )


class JsonlWriter(LineFileWriter):
    name: ClassVar[str] = "jsonl"
    loose_files: ClassVar[bool] = True
    filename: ClassVar[str] = "labels.jsonl"
    merged_name: ClassVar[str] = "labels.jsonl"

    def line(self, sample: Sample) -> str:
        return dumps(sample_record(sample, sample_paths(sample, self.shard_rel)))
