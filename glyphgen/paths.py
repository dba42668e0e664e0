"""Where the repository's bundled data lives, and how relative data paths are resolved."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def resolve_data_path(name: str | Path, base_dir: Path | None = None) -> Path:
    """``name`` as given if it exists, else under ``base_dir`` (the config's folder), else
    under the repository (bundled corpora and charsets), else as given (for the error)."""
    path = Path(name)
    if path.is_absolute() or path.exists():
        return path
    for root in (base_dir, REPO_ROOT):
        if root is not None and (root / path).exists():
            return root / path
    return path
