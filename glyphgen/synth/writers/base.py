"""What every output format shares: the writer interface, paths, rounding, atomic merges.

A format writer lives for one shard. It is opened on the shard's temporary folder but stores
paths relative to the output root with the shard's final name (``shard_rel``), so the folder
can be renamed into place and per-shard label files can be concatenated as they are.
"""

from __future__ import annotations

import abc
import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, ClassVar

from glyphgen.synth.record import Point, Sample

KINDS = ("line", "scene")


class FormatWriter(abc.ABC):
    """Writes the samples of one shard in one output format.

    Subclasses set ``name`` (the ``--format`` value), ``kinds`` (sample kinds the format can
    hold) with ``kind_fix`` (what to do instead, for the error), and ``loose_files`` when their
    labels point at image files on disk (``images/``, ``glyph/``, ``mask/``), which are then
    written once per shard for all such formats.
    """

    name: ClassVar[str]
    kinds: ClassVar[tuple[str, ...]] = KINDS
    kind_fix: ClassVar[str] = ""
    loose_files: ClassVar[bool] = False

    def __init__(self, shard_dir: Path, shard_rel: str) -> None:
        self.shard_dir = Path(shard_dir)
        self.shard_rel = check_rel(shard_rel)
        self.count = 0

    @abc.abstractmethod
    def add(self, sample: Sample) -> None:
        """Write one sample (samples arrive in index order)."""

    @abc.abstractmethod
    def close(self) -> int:
        """Finish the shard's files; returns how many samples were written."""

    @abc.abstractmethod
    def abort(self) -> None:
        """Release open files after a failure, unfinished; the runner deletes the folder."""

    @classmethod
    def merge(cls, out_root: Path, shard_rels: list[str]) -> Path | None:
        """Build the root-level file(s) from complete shards, atomically. None: nothing to build."""
        return None

    @classmethod
    def shard_files(cls) -> tuple[str, ...]:
        """Files (relative to the shard folder) every complete shard of this format holds, even
        one with no sample: a shard without them is not complete, whatever its manifest says."""
        filename = getattr(cls, "filename", None)
        return (filename,) if filename else ()

    @classmethod
    def merged_files(cls) -> tuple[str, ...]:
        """What ``merge`` writes at the output root (files or folders)."""
        merged = getattr(cls, "merged_name", None)
        return (merged,) if merged else ()


class LineFileWriter(FormatWriter):
    """A format whose per-shard labels are one text line per sample, merged by concatenation."""

    filename: ClassVar[str]  # per shard
    merged_name: ClassVar[str]  # at the output root

    def __init__(self, shard_dir: Path, shard_rel: str) -> None:
        super().__init__(shard_dir, shard_rel)
        self._fh: IO[str] | None = open(  # noqa: SIM115 (kept open for the shard's lifetime)
            self.shard_dir / self.filename, "w", encoding="utf-8", newline="\n"
        )

    @abc.abstractmethod
    def line(self, sample: Sample) -> str:
        """The sample's label line, without the newline."""

    def add(self, sample: Sample) -> None:
        if self._fh is None:
            raise RuntimeError(f"{self.name} writer for {self.shard_rel} is already closed")
        self._fh.write(self.line(sample) + "\n")
        self.count += 1

    def close(self) -> int:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        return self.count

    def abort(self) -> None:
        self.close()

    @classmethod
    def merge(cls, out_root: Path, shard_rels: list[str]) -> Path | None:
        return concat_shard_files(out_root, shard_rels, cls.filename, cls.merged_name, cls.name)


# -- paths -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SamplePaths:
    """Where a sample's loose files live, relative to the output root (POSIX separators)."""

    image: str
    glyph: str | None
    mask: str | None


IMAGES_DIR, GLYPH_DIR, MASK_DIR = "images", "glyph", "mask"


def sample_paths(sample: Sample, shard_rel: str) -> SamplePaths:
    base = PurePosixPath(shard_rel)
    return SamplePaths(
        image=str(base / IMAGES_DIR / f"{sample.key}.{sample.image_ext}"),
        glyph=str(base / GLYPH_DIR / f"{sample.key}.png")
        if sample.glyph_image is not None
        else None,
        mask=str(base / MASK_DIR / f"{sample.key}.png")
        if sample.position_mask is not None
        else None,
    )


def check_rel(shard_rel: str) -> str:
    """``shard_rel`` as a clean relative POSIX path; paths escaping the root are refused."""
    rel = PurePosixPath(str(shard_rel).replace("\\", "/"))
    if rel.is_absolute() or ".." in rel.parts or str(rel) in ("", "."):
        raise ValueError(
            f"shard_rel must be a path relative to the output root, like 'shards/00000'; "
            f"got {shard_rel!r}"
        )
    return str(rel)


# -- numbers ---------------------------------------------------------------------------------
def r2(value: float) -> float:
    """Round to 2 decimals; ``+ 0.0`` turns -0.0 into 0.0 so it prints as 0.0."""
    return round(float(value), 2) + 0.0


def points2(points: Sequence[Point]) -> list[list[float]]:
    return [[r2(x), r2(y)] for x, y in points]


def points_int(points: Sequence[Point]) -> list[list[int]]:
    """Pixel-rounded points, as PaddleOCR and AnyWord-3M labels store them."""
    return [[round(float(x)), round(float(y))] for x, y in points]


def rec_label(sample: Sample, fmt: str) -> str:
    """The recognition label of a line sample; tabs and newlines would break the label file."""
    text = sample.text
    if "\t" in text or "\n" in text or "\r" in text:
        raise ValueError(
            f"sample {sample.index}: {fmt} labels are one line per image, but the text "
            f"{text!r} holds a tab or line break (is it a multi-line sample?); "
            "remove such characters from the corpus or use the jsonl format"
        )
    return text


# -- atomic root files -----------------------------------------------------------------------
@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; it replaces ``path`` only if the block succeeds."""
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


def shard_file(out_root: Path, shard_rel: str, filename: str, fmt: str) -> Path:
    """A complete shard's file of format ``fmt``, or a precise error when it is not there."""
    path = Path(out_root) / check_rel(shard_rel) / filename
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: shard {shard_rel} was not written with format {fmt!r}. "
            "Run the factory again on this folder to redo it (or --overwrite)."
        )
    return path


def concat_shard_files(
    out_root: Path, shard_rels: list[str], filename: str, merged_name: str, fmt: str
) -> Path:
    """Concatenate each shard's ``filename`` in shard order into ``<out_root>/<merged_name>``."""
    dest = Path(out_root) / merged_name
    with atomic_path(dest) as tmp, open(tmp, "wb") as out:
        for rel in shard_rels:
            with open(shard_file(out_root, rel, filename, fmt), "rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
    return dest
