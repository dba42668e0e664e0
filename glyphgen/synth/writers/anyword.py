"""``anyword``: AnyWord-3M / AnyText training JSON.

``{"data_root": ..., "data_list": [{"img_name", "caption", "annotations": [{"polygon",
"text", "language", "valid": true}]}]}``. AnyText opens ``os.path.join(data_root, img_name)``
and feeds ``np.array(polygon)`` to ``cv2.minAreaRect`` / ``cv2.fillPoly``, which take integer
points only, so polygons are pixel-rounded (curved lines keep all their points).

``img_name`` is always relative to the output root (``shards/00000/images/000000123.jpg``).
``data_root`` differs by file:

- ``shards/<name>/anyword.json``: ``"."``, i.e. the output root when read from there (these are
  the merge's inputs, written before the shard has its final place);
- ``<out>/anyword.json``: the output root as an absolute path, written at merge time, so
  AnyText's loader works from any working directory. After moving the folder, run the
  factory on it again (complete shards are kept, the merge is redone) or edit ``data_root``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any, ClassVar

from glyphgen.synth.record import Sample
from glyphgen.synth.writers.base import (
    FormatWriter,
    atomic_path,
    points_int,
    sample_paths,
    shard_file,
)
from glyphgen.synth.writers.jsonl import dumps


def entry(sample: Sample, img_name: str) -> dict[str, Any]:
    return {
        "img_name": img_name,
        "caption": sample.caption,
        "annotations": [
            {
                "polygon": points_int(line.polygon),
                "text": line.text,
                "language": line.language,
                "valid": True,
            }
            for line in sample.lines
        ],
    }


def _open_list(fh: IO[str], data_root: str) -> None:
    fh.write('{"data_root":' + dumps(data_root) + ',"data_list":[\n')


def _close_list(fh: IO[str]) -> None:
    fh.write("\n]}\n")


class AnyWordWriter(FormatWriter):
    name: ClassVar[str] = "anyword"
    loose_files: ClassVar[bool] = True
    filename: ClassVar[str] = "anyword.json"
    merged_name: ClassVar[str] = "anyword.json"

    def __init__(self, shard_dir: Path, shard_rel: str) -> None:
        super().__init__(shard_dir, shard_rel)
        # Streamed (one entry per line) so a shard never sits in memory whole.
        self._fh: IO[str] | None = open(  # noqa: SIM115 (kept open for the shard's lifetime)
            self.shard_dir / self.filename, "w", encoding="utf-8", newline="\n"
        )
        _open_list(self._fh, ".")

    def add(self, sample: Sample) -> None:
        if self._fh is None:
            raise RuntimeError(f"{self.name} writer for {self.shard_rel} is already closed")
        if self.count:
            self._fh.write(",\n")
        self._fh.write(dumps(entry(sample, sample_paths(sample, self.shard_rel).image)))
        self.count += 1

    def close(self) -> int:
        if self._fh is not None:
            _close_list(self._fh)
            self._fh.close()
            self._fh = None
        return self.count

    def abort(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    @classmethod
    def merge(cls, out_root: Path, shard_rels: list[str]) -> Path | None:
        dest = Path(out_root) / cls.merged_name
        first = True
        with atomic_path(dest) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            _open_list(fh, str(Path(out_root).resolve()))
            for rel in shard_rels:
                with open(
                    shard_file(out_root, rel, cls.filename, cls.name), encoding="utf-8"
                ) as src:
                    items = json.load(src)["data_list"]  # one shard: small
                for item in items:
                    fh.write(("" if first else ",\n") + dumps(item))
                    first = False
            _close_list(fh)
        return dest
