"""Weights are loaded from safetensors only, and only as their manifest lists them.

A pickle file (``.bin``, ``.pt``, ``.pth``, ``.ckpt``, ``.pkl``) runs whatever code its
author put in it the moment it is unpickled, and diffusers falls back to one ("Defaulting to
unsafe serialization") when a component folder has no safetensors file. So every loader of
glyph-model or reader weights checks the folder first, before any file in it is opened: a
pickle anywhere in it is refused, and ``use_safetensors=True`` is passed where the loader
takes it.

A safetensors file with flipped bits in its data (a valid header) loads without a word and
draws garbage. So where the folder's ``manifest.json`` lists its files' sha256 (every export
and trained weights folder does), each listed file is hashed and compared before loading (15
MB of glyph model: about 0.08 s), and a weights file the manifest does not list is refused.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

from glyphgen.hashing import sha256_file

MANIFEST = "manifest.json"

PICKLE_SUFFIXES = frozenset({".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle"})


class PickleWeightsRefused(ValueError):
    """A weights folder holds pickle files; ``files`` are their paths."""

    def __init__(self, files: list[Path], message: str) -> None:
        super().__init__(message)
        self.files = files


class WeightsChanged(ValueError):
    """A weights file whose bytes are not the ones its folder's manifest lists (changed or
    damaged since it was written), missing, or not listed at all."""


def pickle_files(folder: Path) -> list[Path]:
    """Pickle files anywhere under ``folder`` (subfolders at any depth), in path order."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and is_pickle(p))


def refuse_pickles(folder: Path | str, expected: str) -> None:
    """Raise :class:`PickleWeightsRefused` when ``folder`` (a directory; anything else is left
    to the loader) holds a pickle file anywhere. ``expected`` is the safetensors file the
    loader reads instead (e.g. ``diffusion_pytorch_model.safetensors``): the message says to
    convert to it."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    found = pickle_files(folder)
    if found:
        raise refusal(found, expected)


def listed_hashes(manifest: dict[str, Any]) -> dict[str, str]:
    """File -> sha256 from a manifest: an export's or a trained folder's ``files`` table
    (``{"unet/x.safetensors": {"sha256": ..., "bytes": ...}}``) or the recognizer's
    ``sha256`` (``{"model.safetensors": ...}``); empty when it lists none."""
    files = manifest.get("files")
    if isinstance(files, dict):
        return {k: v["sha256"] for k, v in files.items() if isinstance(v, dict) and "sha256" in v}
    digests = manifest.get("sha256")
    if isinstance(digests, dict):
        return {k: v for k, v in digests.items() if isinstance(v, str)}
    return {}


def check_manifest(folder: Path | str) -> None:
    """Raise :class:`WeightsChanged` unless every file ``folder``'s manifest lists has that
    sha256 and every safetensors file in the folder is listed. A folder without a manifest, or
    whose manifest lists no hashes (a training checkpoint), is left to the loader."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        return
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise WeightsChanged(f"{path} is not valid JSON ({exc}); restore it") from exc
    except OSError as exc:
        raise WeightsChanged(f"cannot read {path} ({exc}); check its permissions") from exc
    listed = listed_hashes(manifest) if isinstance(manifest, dict) else {}
    if not listed:
        return
    fix = "restore the folder as it was written (git checkout, a fresh copy) or export it again"
    for name, digest in sorted(listed.items()):
        if PurePosixPath(name).is_absolute() or ".." in PurePosixPath(name).parts:
            raise WeightsChanged(f"{path} lists {name!r}, outside {folder}; {fix}")
        file = folder / name
        if not file.is_file():
            raise WeightsChanged(f"{file} is listed in {path} but missing; {fix}")
        found = sha256_file(file)
        if found != digest:
            raise WeightsChanged(
                f"{file} is not the file {path} lists (sha256 {found[:16]}..., listed "
                f"{digest[:16]}...): changed or damaged since it was written; {fix}"
            )
    unlisted = sorted(
        p for p in folder.rglob("*.safetensors") if p.relative_to(folder).as_posix() not in listed
    )
    if unlisted:
        raise WeightsChanged(
            f"{unlisted[0]} is not listed in {path}: weights added after it was written are not "
            f"loaded; remove the file, or export the folder again"
        )


def is_pickle(path: Path) -> bool:
    return path.suffix.lower() in PICKLE_SUFFIXES


def refusal(found: list[Path], expected: str) -> PickleWeightsRefused:
    """The error for pickle files ``found`` where safetensors ``expected`` should be."""
    first = found[0]
    others = ""
    if len(found) > 1:
        shown = ", ".join(map(str, found[1:4])) + (", ..." if len(found) > 4 else "")
        others = f" (and {len(found) - 1} more: {shown})"
    return PickleWeightsRefused(
        found,
        f"{first} is a pickle file{others}: glyphgen loads only safetensors weights, "
        f"because unpickling a file can run any code in it. If you trust its source, convert "
        f"it to {first.parent / expected} with "
        f"safetensors.torch.save_file(torch.load(path, weights_only=True), ...), then delete "
        f"the pickle (or just delete it where a safetensors copy is already beside it)",
    )
