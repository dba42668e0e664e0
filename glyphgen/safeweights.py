"""Weights are loaded from safetensors only: a folder holding pickle files is refused by name.

A pickle file (``.bin``, ``.pt``, ``.pth``, ``.ckpt``, ``.pkl``) runs whatever code its
author put in it the moment it is unpickled, and diffusers falls back to one ("Defaulting to
unsafe serialization") when a component folder has no safetensors file. So every loader of
glyph-model or reader weights checks the folder first, before any file in it is opened, and
passes ``use_safetensors=True`` where the loader takes it.
"""

from __future__ import annotations

from pathlib import Path

PICKLE_SUFFIXES = frozenset({".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle"})


class PickleWeightsRefused(ValueError):
    """A weights folder holds pickle files; ``files`` are their paths."""

    def __init__(self, files: list[Path], message: str) -> None:
        super().__init__(message)
        self.files = files


def pickle_files(folder: Path, depth: int = 0) -> list[Path]:
    """Pickle files in ``folder`` and, down to ``depth`` levels, in its subfolders (a
    diffusers pipeline keeps each component one level down), in name order."""
    found: list[Path] = []
    for path in sorted(folder.iterdir()):
        if path.is_file() and is_pickle(path):
            found.append(path)
        elif path.is_dir() and depth > 0:
            found += pickle_files(path, depth - 1)
    return found


def refuse_pickles(folder: Path | str, expected: str, depth: int = 0) -> None:
    """Raise :class:`PickleWeightsRefused` when ``folder`` (a directory; anything else is left
    to the loader) holds a pickle file. ``expected`` is the safetensors file the loader reads
    instead (e.g. ``diffusion_pytorch_model.safetensors``): the message says to convert to it."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    found = pickle_files(folder, depth)
    if found:
        raise refusal(found, expected)


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
