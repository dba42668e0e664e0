"""Shards: the factory's unit of work, of output, and of resume.

Shard ``k`` holds samples ``[k*size, min((k+1)*size, num))``. It is written into
``shards/.tmp-<name>-<pid>-<nonce>/`` and renamed to ``shards/<name>/`` only once complete,
with a ``_SHARD.json`` listing every file, its size and its sha256. A re-run skips a shard
whose manifest matches the run's fingerprint, whose files are all there with those sizes
(``verify="hash"`` re-hashes them too), that holds every file the run's formats need and as
many samples in each format (and images) as its manifest says; anything else is redone.
Temporary folders of writers that are gone are swept away, so a half-written shard is never
counted as done; one whose writer (``<pid>``) still lives is left alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glyphgen.hashing import sha256_file
from glyphgen.synth.lifetime import pid_alive

SHARD_MANIFEST = "_SHARD.json"
RUN_MANIFEST = "glyphgen_run.json"


@dataclass(frozen=True)
class ShardPlan:
    shard: int
    start: int  # first sample index
    stop: int  # one past the last sample index

    @property
    def name(self) -> str:
        return f"{self.shard:05d}"

    @property
    def rel(self) -> str:
        return f"shards/{self.name}"


def plan_shards(num: int, shard_size: int) -> list[ShardPlan]:
    return [
        ShardPlan(k, start, min(start + shard_size, num))
        for k, start in enumerate(range(0, num, shard_size))
    ]


def fingerprint(config: dict[str, Any]) -> str:
    """Stable hash of the config parts that decide sample bytes."""
    blob = json.dumps(config, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


TEMP_PREFIX = ".tmp-"


def temp_dir(out: Path, plan: ShardPlan) -> Path:
    """A fresh folder for this process to write ``plan`` into, named after its pid."""
    path = out / "shards" / f"{TEMP_PREFIX}{plan.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    return path


def temp_writer(path: Path) -> int | None:
    """The pid that writes temporary folder ``path``; None for a name without one."""
    parts = path.name[len(TEMP_PREFIX) :].split("-")
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def seal(tmp: Path, out: Path, plan: ShardPlan, fp: str, info: dict[str, Any]) -> Path:
    """Write the shard manifest (files, sizes, hashes) and move the shard into place."""
    files = {}
    for path in sorted(p for p in tmp.rglob("*") if p.is_file()):
        rel = path.relative_to(tmp).as_posix()
        if rel.endswith("lock.mdb"):  # LMDB's lock file changes on every open
            continue
        files[rel] = {"size": path.stat().st_size, "sha256": sha256_file(path)}
    manifest = {
        "fingerprint": fp,
        "shard": plan.shard,
        "start": plan.start,
        "stop": plan.stop,
        "files": files,
        **info,
    }
    with open(tmp / SHARD_MANIFEST, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    final = out / plan.rel
    if final.exists():  # an invalid older copy: replaced only now that the new one is whole
        shutil.rmtree(final)
    os.rename(tmp, final)
    return final


def read_manifest(shard_dir: Path) -> dict[str, Any] | None:
    try:
        with open(shard_dir / SHARD_MANIFEST, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_complete(
    out: Path,
    plan: ShardPlan,
    fp: str,
    verify: str = "size",
    formats: Sequence[str] = (),
    files: Sequence[str] = (),
    images: bool = False,
) -> bool:
    """True when the shard on disk is finished, from this config, and intact: every file its
    manifest lists is there (same size; same sha256 with ``verify="hash"``), the manifest
    lists ``files`` (what ``formats`` need), each of ``formats`` holds the manifest's sample
    count, and with ``images`` there is one ``images/`` file per sample."""
    if verify not in ("size", "hash"):
        raise ValueError(f"unknown verify mode {verify!r}; use 'size' or 'hash'")
    shard_dir = out / plan.rel
    manifest = read_manifest(shard_dir)
    if manifest is None or manifest.get("fingerprint") != fp:
        return False
    if (manifest.get("start"), manifest.get("stop")) != (plan.start, plan.stop):
        return False
    listed = manifest.get("files")
    samples = manifest.get("samples")
    counts = manifest.get("formats")
    if not isinstance(listed, dict) or not isinstance(counts, dict):
        return False
    if not isinstance(samples, int) or not 0 <= samples <= plan.stop - plan.start:
        return False
    if any(name not in listed for name in files):
        return False
    if any(counts.get(name) != samples for name in formats):
        return False
    if images and sum(rel.startswith("images/") for rel in listed) != samples:
        return False
    for rel, entry in listed.items():
        path = shard_dir / rel
        try:
            if path.stat().st_size != entry["size"]:
                return False
        except OSError:
            return False
        if verify == "hash" and sha256_file(path) != entry["sha256"]:
            return False
    return True


def sweep_temporaries(out: Path) -> int:
    """Remove half-written shards whose writer is gone (a killed run); returns how many.

    A folder whose writer still lives is left alone: removing files under a process that
    goes on writing and then seals what is left is how a shard loses its labels."""
    root = out / "shards"
    if not root.is_dir():
        return 0
    stale = []
    for path in root.iterdir():
        if not path.name.startswith(TEMP_PREFIX):
            continue
        pid = temp_writer(path)
        if pid is not None and pid != os.getpid() and pid_alive(pid):
            continue
        stale.append(path)
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return len(stale)


class OutputMismatchError(ValueError):
    """The output folder holds shards of a different config."""


def check_run_manifest(
    out: Path, fp: str, config: dict[str, Any], overwrite: bool
) -> dict[str, Any] | None:
    """Refuse to mix two configs' shards in one folder (unless ``overwrite``, which deletes
    the other shards). Returns the other run's config when its shards were deleted (its
    merged outputs are the caller's to delete: {} when unknown), else None."""
    path = out / RUN_MANIFEST
    cleared: dict[str, Any] | None = None
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            old = {}
        if not isinstance(old, dict):
            old = {}
        if old.get("fingerprint") != fp:
            if not overwrite:
                raise OutputMismatchError(
                    f"{out} holds shards of a different config (fingerprint "
                    f"{old.get('fingerprint')} vs this run's {fp}). Use a new --out folder, "
                    "or pass --overwrite to delete those shards and start again."
                )
            cleared = old.get("config") if isinstance(old.get("config"), dict) else {}
    elif (out / "shards").exists():
        if not overwrite:
            raise OutputMismatchError(
                f"{out}/shards exists but {RUN_MANIFEST} does not: not a glyphgen output "
                "folder, or a damaged one. Use a new --out folder, or pass --overwrite."
            )
        cleared = {}
    if cleared is not None and (out / "shards").exists():
        shutil.rmtree(out / "shards")  # loud: a half-deleted folder must not look resumable
    out.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(
        json.dumps({"fingerprint": fp, "config": config}, ensure_ascii=False, indent=1),
        encoding="utf-8",
    )
    os.replace(tmp, path)
    return cleared
