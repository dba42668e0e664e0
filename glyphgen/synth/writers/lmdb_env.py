"""``lmdb``: recognition LMDB as deep-text-recognition-benchmark and PaddleOCR's LMDBDataSet
read it: ``image-%09d`` (encoded image bytes), ``label-%09d`` (UTF-8 text) and
``num-samples`` (decimal count), indices from 1 within each environment.

Each shard holds its own environment in ``shards/<name>/lmdb/`` (``data.mdb`` only: it is
written with ``lock=False``, which is safe because one process owns the shard, and the
readers open it that way too). Those readers walk a folder and open every leaf folder as an
environment, so the merge builds ``<out>/lmdb/<name>/data.mdb``, relative symlinks to the
shards' files: point the reader at ``<out>/lmdb``. (Pointing it at ``<out>`` or
``<out>/shards`` fails as soon as another format has put ``images/`` leaf folders there.)

The map starts at 64 MiB and doubles whenever a batch does not fit, so nothing alarming is
reserved; the file on disk grows with the data only.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import ClassVar

import lmdb

from glyphgen.synth.record import Sample
from glyphgen.synth.writers.base import FormatWriter, atomic_path, check_rel, rec_label, shard_file

ENV_DIR = "lmdb"
DATA_FILE = "data.mdb"
INITIAL_MAP_SIZE = 64 << 20
BATCH_SAMPLES = 256  # samples per write transaction
BATCH_BYTES = 16 << 20  # or fewer, when images are large


class LmdbWriter(FormatWriter):
    name: ClassVar[str] = "lmdb"
    kinds: ClassVar[tuple[str, ...]] = ("line",)
    kind_fix: ClassVar[str] = (
        "This LMDB layout holds recognition crops with one text label each: use kind line "
        "(--preset lines); for scenes use wds, jsonl or paddle-det."
    )

    def __init__(self, shard_dir: Path, shard_rel: str) -> None:
        super().__init__(shard_dir, shard_rel)
        self._map_size = INITIAL_MAP_SIZE
        with self._os_errors():
            self._env: lmdb.Environment | None = lmdb.open(
                str(self.shard_dir / ENV_DIR), map_size=self._map_size, subdir=True, lock=False
            )
        self._batch: list[tuple[bytes, bytes]] = []
        self._batch_bytes = 0

    def add(self, sample: Sample) -> None:
        if self._env is None:
            raise RuntimeError(f"{self.name} writer for {self.shard_rel} is already closed")
        label = rec_label(sample, self.name).encode("utf-8")
        self.count += 1  # indices start at 1, as the readers expect
        self._put(b"image-%09d" % self.count, sample.image_bytes)
        self._put(b"label-%09d" % self.count, label)
        if len(self._batch) >= 2 * BATCH_SAMPLES or self._batch_bytes >= BATCH_BYTES:
            self._commit()

    def _put(self, key: bytes, value: bytes) -> None:
        self._batch.append((key, value))
        self._batch_bytes += len(key) + len(value)

    @contextlib.contextmanager
    def _os_errors(self) -> Iterator[None]:
        """LMDB's errors (a full disk reads ``mdb_txn_commit: Input/output error``) as the
        OSError every other writer raises, naming the file."""
        try:
            yield
        except lmdb.MapFullError:
            raise
        except lmdb.Error as exc:
            path = self.shard_dir / ENV_DIR / DATA_FILE
            raise OSError(errno.EIO, f"LMDB: {exc}", str(path)) from exc

    def _commit(self) -> None:
        assert self._env is not None
        while True:
            try:
                with self._os_errors(), self._env.begin(write=True) as txn:  # aborted on error
                    for key, value in self._batch:
                        txn.put(key, value)
                break
            except lmdb.MapFullError:
                self._map_size *= 2
                self._env.set_mapsize(self._map_size)
        self._batch.clear()
        self._batch_bytes = 0

    def close(self) -> int:
        if self._env is not None:
            self._put(b"num-samples", str(self.count).encode())
            self._commit()
            with self._os_errors():
                self._env.sync(True)
            self._env.close()
            self._env = None
        return self.count

    def abort(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None

    @classmethod
    def shard_files(cls) -> tuple[str, ...]:
        return (f"{ENV_DIR}/{DATA_FILE}",)

    @classmethod
    def merged_files(cls) -> tuple[str, ...]:
        return (ENV_DIR,)

    @classmethod
    def merge(cls, out_root: Path, shard_rels: list[str]) -> Path | None:
        dest = Path(out_root) / ENV_DIR
        with atomic_path(dest) as tmp:
            tmp.mkdir()
            for rel in shard_rels:
                target = shard_file(out_root, rel, f"{ENV_DIR}/{DATA_FILE}", cls.name)
                link_dir = tmp / PurePosixPath(check_rel(rel)).name
                link_dir.mkdir()
                # Relative to the link's final place, so the folder can be moved as a whole.
                final_dir = dest / link_dir.name
                _link(target, link_dir / DATA_FILE, os.path.relpath(target, final_dir))
            if dest.exists():  # os.replace cannot overwrite a non-empty folder
                shutil.rmtree(dest)
        return dest


def _link(target: Path, link: Path, relative: str) -> None:
    try:
        os.symlink(relative, link)
    except OSError:  # no symlinks here (some Windows setups): a hard link shares the bytes too
        os.link(target, link)
