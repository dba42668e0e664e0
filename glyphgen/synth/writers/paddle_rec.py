"""``paddle-rec``: PaddleOCR recognition labels, ``<image path>\\t<text>`` per line.

PaddleOCR's SimpleDataSet joins each path with ``data_dir``: set ``data_dir`` to the output
root and ``label_file_list`` to ``rec_gt.txt`` (or the shards' own ``rec_gt.txt`` files).
"""

from __future__ import annotations

from typing import ClassVar

from glyphgen.synth.record import Sample
from glyphgen.synth.writers.base import LineFileWriter, rec_label, sample_paths


class PaddleRecWriter(LineFileWriter):
    name: ClassVar[str] = "paddle-rec"
    kinds: ClassVar[tuple[str, ...]] = ("line",)
    kind_fix: ClassVar[str] = (
        "Recognition labels need one text line per image: use kind line (--preset lines), "
        "or paddle-det for PaddleOCR detection labels of scenes."
    )
    loose_files: ClassVar[bool] = True
    filename: ClassVar[str] = "rec_gt.txt"
    merged_name: ClassVar[str] = "rec_gt.txt"

    def line(self, sample: Sample) -> str:
        return f"{sample_paths(sample, self.shard_rel).image}\t{rec_label(sample, self.name)}"
