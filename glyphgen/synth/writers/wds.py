"""``wds``: one WebDataset tar per shard, ``shards/<name>/data.tar``.

Members share the sample key (the 9-digit index, no dots): ``<key>.jpg|png`` (image),
``<key>.txt`` (all text, lines joined by newlines), ``<key>.json`` (the jsonl record without
file paths), and ``<key>.glyph.png`` / ``<key>.mask.png`` when present. The constant file name
makes the shards addressable by a brace pattern, ``<out>/shards/{00000..00041}/data.tar``; the
merge writes ``<out>/wds_shards.txt`` with every shard's tar, relative to the output root, one
per line, for readers that take a list.

POSIX ustar with fixed mtime, owner and mode: the same samples give byte-identical tars.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path, PurePosixPath
from typing import ClassVar

from glyphgen.synth.record import Sample
from glyphgen.synth.writers.base import FormatWriter, atomic_path, check_rel, shard_file
from glyphgen.synth.writers.jsonl import dumps, sample_record

TAR_NAME = "data.tar"
INDEX_NAME = "wds_shards.txt"
MTIME = 946684800  # 2000-01-01T00:00:00Z: any constant will do; 0 upsets some tools


class WdsWriter(FormatWriter):
    name: ClassVar[str] = "wds"

    def __init__(self, shard_dir: Path, shard_rel: str) -> None:
        super().__init__(shard_dir, shard_rel)
        self._tar: tarfile.TarFile | None = tarfile.open(  # noqa: SIM115 (kept open for the shard's lifetime)
            self.shard_dir / TAR_NAME, "w", format=tarfile.USTAR_FORMAT
        )

    def _member(self, name: str, data: bytes) -> None:
        assert self._tar is not None
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = MTIME
        info.mode = 0o644
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        self._tar.addfile(info, io.BytesIO(data))

    def add(self, sample: Sample) -> None:
        if self._tar is None:
            raise RuntimeError(f"{self.name} writer for {self.shard_rel} is already closed")
        key = sample.key
        if "." in key:
            raise ValueError(f"WebDataset keys may not contain dots; got {key!r}")
        self._member(f"{key}.{sample.image_ext}", sample.image_bytes)
        self._member(f"{key}.txt", sample.text.encode("utf-8"))
        self._member(f"{key}.json", dumps(sample_record(sample, None)).encode("utf-8"))
        if sample.glyph_png is not None:
            self._member(f"{key}.glyph.png", sample.glyph_png)
        if sample.mask_png is not None:
            self._member(f"{key}.mask.png", sample.mask_png)
        for name, data in sample.edit_pngs.items():
            self._member(f"{key}.{name}.png", data)
        self.count += 1

    def close(self) -> int:
        if self._tar is not None:
            self._tar.close()
            self._tar = None
        return self.count

    def abort(self) -> None:
        self.close()

    @classmethod
    def shard_files(cls) -> tuple[str, ...]:
        return (TAR_NAME,)

    @classmethod
    def merged_files(cls) -> tuple[str, ...]:
        return (INDEX_NAME,)

    @classmethod
    def merge(cls, out_root: Path, shard_rels: list[str]) -> Path | None:
        dest = Path(out_root) / INDEX_NAME
        lines = []
        for rel in shard_rels:
            shard_file(out_root, rel, TAR_NAME, cls.name)  # fails loudly if one is missing
            lines.append(str(PurePosixPath(check_rel(rel)) / TAR_NAME) + "\n")
        with atomic_path(dest) as tmp:
            tmp.write_text("".join(lines), encoding="utf-8", newline="\n")
        return dest
