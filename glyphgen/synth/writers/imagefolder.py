"""``imagefolder``: a Hugging Face ``imagefolder`` dataset rooted at the output folder.

``datasets.load_dataset("imagefolder", data_dir=OUT)`` gives one row per sample, or faster on
large runs (no scan of the image tree) ``load_dataset("imagefolder",
data_files={"train": "OUT/metadata.jsonl"})``. Columns:

- ``image`` (from ``file_name``), and ``glyph`` / ``mask`` images (from ``glyph_file_name`` /
  ``mask_file_name``) when the run writes control images: a run writes them for all samples
  or for none, so every row has the same columns;
- ``text`` (lines joined by newlines), ``kind``, ``index``, ``width``, ``height``, ``caption``;
- ``texts`` and ``meta`` as JSON strings (``json.loads``): nested polygons and per-run meta
  keys would give each metadata chunk its own inferred schema otherwise.

When ``metadata.jsonl`` files exist, the builder makes rows from them only (so the glyph and
mask PNGs of the tree do not become rows), but it reads *every* ``metadata.jsonl`` under
``data_dir``. So the shards write ``imagefolder.jsonl`` (paths relative to the output root)
and only the merge writes ``<out>/metadata.jsonl``, their concatenation in shard order.
"""

from __future__ import annotations

from typing import Any, ClassVar

from glyphgen.synth.record import Sample
from glyphgen.synth.writers.base import LineFileWriter, sample_paths
from glyphgen.synth.writers.jsonl import dumps, line_record


class ImageFolderWriter(LineFileWriter):
    name: ClassVar[str] = "imagefolder"
    loose_files: ClassVar[bool] = True
    filename: ClassVar[str] = "imagefolder.jsonl"
    merged_name: ClassVar[str] = "metadata.jsonl"

    def line(self, sample: Sample) -> str:
        paths = sample_paths(sample, self.shard_rel)
        # file_name must come first: datasets 5.2 fills each image column by popping
        # "file_name" before "<column>_file_name", so a glyph column listed first would
        # take the main image.
        row: dict[str, Any] = {"file_name": paths.image}
        if paths.glyph is not None:
            row["glyph_file_name"] = paths.glyph
        if paths.mask is not None:
            row["mask_file_name"] = paths.mask
        row.update(
            text=sample.text,
            kind=sample.kind,
            index=int(sample.index),
            width=int(sample.width),
            height=int(sample.height),
            caption=sample.caption,
            texts=dumps([line_record(line) for line in sample.lines]),
            meta=dumps(sample.meta),
        )
        return dumps(row)
