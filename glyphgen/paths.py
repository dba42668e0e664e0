"""Where glyphgen's bundled data lives, and how relative data paths are resolved.

Everything the defaults need ships inside the package, in ``glyphgen/data/`` (package data
of the wheel, the same folder in a checkout): synth presets, corpora and charsets, the
bundled fonts, the held-out photos, the shipped glyph model and our recognizer. It is found
relative to this file, never by walking up to a repository. Two things in that folder stay
in the checkout and are left out of the wheel (``exclude-package-data`` in pyproject.toml):
the held-out font and the campaign's weights, which only the benchmarks read.

Checkout-only material (the benchmarks' fixed sets and recorded results) is found under
:data:`REPO_ROOT`, which is only meaningful in a checkout.
"""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
# The checkout's root: benchmark sets and results. Not part of an installed wheel.
REPO_ROOT = Path(__file__).resolve().parents[1]


def data_path(*parts: str) -> Path:
    """A bundled file or folder: ``data_path("weights", "glyph-default")``."""
    return DATA_DIR.joinpath(*parts)


def resolve_data_path(name: str | Path, base_dir: Path | None = None) -> Path:
    """``name`` as given if it exists, else under ``base_dir`` (the config's folder), else
    among the bundled data (``corpora/signboards.txt``, ``weights/glyph-default``), else
    under the checkout (benchmark sets), else as given (for the error)."""
    path = Path(name)
    if path.is_absolute() or path.exists():
        return path
    # the checkout only where there is one: installed, REPO_ROOT is site-packages
    checkout = REPO_ROOT if (REPO_ROOT / "pyproject.toml").is_file() else None
    for root in (base_dir, DATA_DIR, checkout):
        if root is not None and (root / path).exists():
            return root / path
    return path
