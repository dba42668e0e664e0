"""Output formats: every sample of a shard goes through one ``ShardWriters``, which fans it out
to the requested formats (several at once), and ``merge_outputs`` builds root-level files from
the complete shards.

Per shard (``<out>/shards/<name>/``), all paths inside label files relative to ``<out>``:

====================  ==================================  ==================================
format                per shard                           merged at ``<out>``
====================  ==================================  ==================================
``jsonl``             ``labels.jsonl``                    ``labels.jsonl``
``anyword``           ``anyword.json``                    ``anyword.json`` (absolute root)
``paddle-rec``        ``rec_gt.txt`` (line only)          ``rec_gt.txt``
``paddle-det``        ``det_gt.txt``                      ``det_gt.txt``
``imagefolder``       ``imagefolder.jsonl``               ``metadata.jsonl``
``lmdb``              ``lmdb/data.mdb`` (line only)       ``lmdb/<name>/data.mdb`` symlinks
``wds``               ``data.tar``                        ``wds_shards.txt``
====================  ==================================  ==================================

The file-based formats (all but ``lmdb`` and ``wds``) share one copy of the images per shard:
``images/<key>.<ext>``, plus ``glyph/<key>.png`` and ``mask/<key>.png`` when the samples
have control images. Each format's module says how its readers consume it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from glyphgen.synth.record import Sample
from glyphgen.synth.writers.anyword import AnyWordWriter
from glyphgen.synth.writers.base import KINDS, FormatWriter, check_rel
from glyphgen.synth.writers.files import LooseFiles
from glyphgen.synth.writers.imagefolder import ImageFolderWriter
from glyphgen.synth.writers.jsonl import JsonlWriter
from glyphgen.synth.writers.lmdb_env import LmdbWriter
from glyphgen.synth.writers.paddle_det import PaddleDetWriter
from glyphgen.synth.writers.paddle_rec import PaddleRecWriter
from glyphgen.synth.writers.wds import WdsWriter

__all__ = [
    "FORMATS",
    "FormatWriter",
    "ShardWriters",
    "merge_outputs",
    "open_writers",
    "remove_merged",
    "shard_layout",
    "validate_formats",
]

FORMATS: dict[str, type[FormatWriter]] = {
    cls.name: cls
    for cls in (
        JsonlWriter,
        AnyWordWriter,
        PaddleRecWriter,
        PaddleDetWriter,
        LmdbWriter,
        WdsWriter,
        ImageFolderWriter,
    )
}


def validate_formats(formats: Iterable[str], kind: str) -> list[str]:
    """The requested formats, checked and without repeats (order kept)."""
    if kind not in KINDS:
        raise ValueError(f"unknown sample kind {kind!r}; use one of {list(KINDS)}")
    names = list(dict.fromkeys(formats))
    if not names:
        raise ValueError(f"no output format given; use one or more of {sorted(FORMATS)}")
    for name in names:
        if name not in FORMATS:
            raise ValueError(f"unknown output format {name!r}; use one of {sorted(FORMATS)}")
        cls = FORMATS[name]
        if kind not in cls.kinds:
            raise ValueError(
                f"output format {name!r} cannot hold {kind!r} samples (only {list(cls.kinds)}). "
                + cls.kind_fix
            )
    return names


class ShardWriters:
    """The writers of one shard: ``add`` every sample in order, then ``close``.

    Also a context manager that releases open files (without finishing them) on an error.
    """

    def __init__(self, formats: list[str], shard_dir: Path, shard_rel: str, kind: str) -> None:
        self.formats = validate_formats(formats, kind)
        self.kind = kind
        self.shard_dir = Path(shard_dir)
        self.shard_rel = check_rel(shard_rel)
        self.shard_dir.mkdir(parents=True, exist_ok=True)
        classes = [FORMATS[name] for name in self.formats]
        self._files = LooseFiles(self.shard_dir) if any(c.loose_files for c in classes) else None
        self._writers: list[FormatWriter] = []
        try:
            for cls in classes:
                self._writers.append(cls(self.shard_dir, self.shard_rel))
        except BaseException:
            self.abort()
            raise
        self._closed = False

    def add(self, sample: Sample) -> None:
        if self._closed:
            raise RuntimeError(f"the writers of {self.shard_rel} are already closed")
        if sample.kind != self.kind:
            raise ValueError(
                f"sample {sample.index} is a {sample.kind!r} sample, but the writers of "
                f"{self.shard_rel} were opened for {self.kind!r}"
            )
        if self._files is not None:
            self._files.add(sample)
        for writer in self._writers:
            writer.add(sample)

    def close(self) -> dict[str, int]:
        """Finish every format's files; returns samples written per format."""
        counts = {writer.name: writer.close() for writer in self._writers}
        self._closed = True
        return counts

    def abort(self) -> None:
        for writer in self._writers:
            try:
                writer.abort()
            except Exception:  # releasing what is left matters more than the first failure
                continue
        self._closed = True

    def __enter__(self) -> ShardWriters:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None and not self._closed:
            self.abort()


def open_writers(formats: list[str], shard_dir: Path, shard_rel: str, kind: str) -> ShardWriters:
    """Writers for one shard, written into ``shard_dir`` (a temporary folder that is renamed to
    ``<out>/<shard_rel>`` afterwards); label files store paths as ``<shard_rel>/...``."""
    return ShardWriters(formats, shard_dir, shard_rel, kind)


def shard_layout(formats: Iterable[str]) -> tuple[list[str], bool]:
    """What a complete shard of ``formats`` holds: the files each format needs, and whether
    there is one ``images/<key>.<ext>`` per sample (the formats with loose files)."""
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown output format(s) {unknown}; use one of {sorted(FORMATS)}")
    classes = [FORMATS[name] for name in dict.fromkeys(formats)]
    files = sorted({f for cls in classes for f in cls.shard_files()})
    return files, any(cls.loose_files for cls in classes)


def remove_merged(formats: Iterable[str], out_root: Path) -> list[Path]:
    """Delete the root-level outputs ``merge_outputs`` built for ``formats`` (unknown format
    names are passed over: they may come from an older version's run); returns what went."""
    removed = []
    for name in dict.fromkeys(formats):
        for rel in FORMATS[name].merged_files() if name in FORMATS else ():
            path = Path(out_root) / rel
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
            else:
                continue
            removed.append(path)
    return removed


def merge_outputs(formats: Iterable[str], out_root: Path, shard_rels: list[str]) -> list[Path]:
    """Root-level files of each format from the complete shards, in shard order; rebuilt on
    every call (they are derived data). Returns the paths written."""
    written = []
    for name in dict.fromkeys(formats):
        if name not in FORMATS:
            raise ValueError(f"unknown output format {name!r}; use one of {sorted(FORMATS)}")
        path = FORMATS[name].merge(Path(out_root), list(shard_rels))
        if path is not None:
            written.append(path)
    return written
