"""Verified font coverage: the code points a face really draws, found by rasterizing them.

A cmap entry is a claim, not a guarantee. Fonts map code points to empty glyphs, to the
.notdef box ("tofu"), or many code points to one placeholder glyph. So a code point counts as
covered only if

1. the face's cmap maps it (fontTools), to a glyph other than .notdef, and
2. Pillow/FreeType draws it with ink (whitespace is exempt: it is meant to be blank; control
   characters never count), and
3. the bitmap differs from the face's .notdef bitmap (drawn from a code point not in the cmap)
   and its outline is not a copy of the .notdef outline, and
4. no more than ``MAX_SHARED`` code points share its bitmap or its glyph. SynthTIGER uses the
   same trick against fonts that map whole blocks to one box glyph; legitimate duplicates
   (compatibility ideographs, Kangxi radicals, Latin/Greek/Cyrillic look-alikes) share 2-3.

Checking a big face takes seconds, so results are cached per (file sha256, face index) as a
compact JSON of code point ranges; the bundled fonts' caches are committed in
``glyphgen/data/fonts/coverage/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import unicodedata
import warnings
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from fontTools.pens.recordingPen import DecomposingRecordingPen
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont, features
from tqdm import tqdm

from glyphgen.hashing import sha256_file

CACHE_FORMAT = 1
CHECK_SIZE = 32  # px; big enough that distinct glyphs rasterize differently
MAX_SHARED = 10  # more code points than this on one bitmap: a placeholder glyph
REJECT_REASONS = ("blank", "notdef", "shared", "control")

# Magic numbers of the sfnt flavours FreeType and fontTools read: TrueType, OpenType/CFF,
# old Apple TrueType, and TrueType/OpenType collections.
_SFNT_MAGIC = (b"\x00\x01\x00\x00", b"OTTO", b"true", b"ttcf")
# Private-use code points of plane 16, tried in turn to find one the cmap lacks: drawing it
# draws .notdef.
_NOTDEF_PROBES = (0x10FFFD, 0x10FFFC, 0x10FFFB, 0x10FFFA, 0xFFFFD, 0xFFFFC)


@dataclass(frozen=True)
class FaceCoverage:
    """What one face of one font file covers, verified by ``check_face``."""

    sha256: str  # of the whole file (a collection's faces share it)
    index: int  # face index within a .ttc/.otc; 0 for a plain font
    family: str  # typographic family name from the name table
    subfamily: str  # e.g. "Regular", "Bold"
    cmap_size: int  # code points the cmap claims
    covered: frozenset[int]
    rejected: dict[str, frozenset[int]]  # reason (see REJECT_REASONS) -> code points


class NotAFontError(ValueError):
    """The file is not a font FreeType and fontTools can read."""


# -- ranges ------------------------------------------------------------------------------------
def to_ranges(codepoints: Iterable[int]) -> list[int | list[int]]:
    """Sorted code points as JSON-friendly runs: a lone point stays an int, a run is [lo, hi]."""
    out: list[int | list[int]] = []
    lo = hi = None
    for cp in sorted(set(codepoints)):
        if hi is not None and cp == hi + 1:
            hi = cp
            continue
        if lo is not None and hi is not None:
            out.append(lo if lo == hi else [lo, hi])
        lo = hi = cp
    if lo is not None and hi is not None:
        out.append(lo if lo == hi else [lo, hi])
    return out


def from_ranges(runs: Iterable[int | list[int]]) -> frozenset[int]:
    cps: set[int] = set()
    for run in runs:
        if isinstance(run, int):
            cps.add(run)
        else:
            lo, hi = run
            cps.update(range(lo, hi + 1))
    return frozenset(cps)


# -- files -------------------------------------------------------------------------------------
def face_count(path: Path) -> int:
    """Faces in the file: the collection header's count for .ttc/.otc, else 1.

    Raises ``NotAFontError`` for anything that does not start like an sfnt font, which catches
    text files and random bytes before fontTools or FreeType parse them.
    """
    with open(path, "rb") as fh:
        head = fh.read(12)
    if head[:4] not in _SFNT_MAGIC:
        raise NotAFontError(
            f"{path}: not a TrueType/OpenType font (starts with {head[:4]!r}, expected one of "
            f"{', '.join(repr(m) for m in _SFNT_MAGIC)})"
        )
    if head[:4] != b"ttcf":
        return 1
    if len(head) < 12:
        raise NotAFontError(f"{path}: truncated font collection header")
    count = int.from_bytes(head[8:12], "big")
    if count < 1:
        raise NotAFontError(f"{path}: font collection with {count} faces")
    return count


def _face_names(font: TTFont) -> tuple[str, str]:
    names = font["name"]
    # Typographic family/subfamily (IDs 16/17) when present: ID 1 of a bold face often
    # says "Family Bold".
    family = names.getDebugName(16) or names.getDebugName(1) or ""
    subfamily = names.getDebugName(17) or names.getDebugName(2) or ""
    return family.strip(), subfamily.strip()


# -- the check ---------------------------------------------------------------------------------
def check_face(
    path: Path,
    index: int = 0,
    *,
    sha256: str | None = None,
    size: int = CHECK_SIZE,
    max_shared: int = MAX_SHARED,
    progress: bool = True,
) -> FaceCoverage:
    """Rasterize every code point face ``index`` of ``path`` maps and keep the drawable ones.

    Raises ``NotAFontError`` when fontTools or FreeType cannot read the face, or when drawing
    its glyphs fails (garbled glyph data: FreeType's "invalid outline" and the like).
    """
    path = Path(path)
    where = f"{path} face {index}"
    try:
        tt = TTFont(path, fontNumber=index, lazy=True)
    except Exception as exc:  # fontTools raises many types (struct.error, KeyError, ...)
        raise NotAFontError(f"{where}: fontTools cannot read it ({exc!r})") from exc
    with tt:
        try:
            cmap = tt.getBestCmap()
            family, subfamily = _face_names(tt)
        except Exception as exc:  # as above: a malformed table fails in its own way
            raise NotAFontError(f"{where}: fontTools cannot read it ({exc!r})") from exc
        if cmap is None:
            raise NotAFontError(f"{where}: no Unicode cmap, so no character maps to it")
        try:
            # BASIC layout: one code point -> one glyph through the cmap, no shaping surprises.
            font = ImageFont.truetype(
                str(path), size, index=index, layout_engine=ImageFont.Layout.BASIC
            )
        except OSError as exc:
            raise NotAFontError(f"{where}: FreeType cannot open it ({exc})") from exc
        label = f"checking {path.name}#{index}"
        try:
            covered, rejected = _classify(
                tt, cmap, _Canvas(font, size), max_shared, progress, label
            )
        except Exception as exc:  # FreeType and fontTools fail in many ways on damaged data
            raise NotAFontError(
                f"{where}: drawing its glyphs failed ({exc!r}); the file is damaged: "
                "download it again or remove it"
            ) from exc
    return FaceCoverage(
        sha256=sha256 or sha256_file(path),
        index=index,
        family=family,
        subfamily=subfamily,
        cmap_size=len(cmap),
        covered=frozenset(covered),
        rejected={k: frozenset(v) for k, v in rejected.items()},
    )


def _classify(
    tt: TTFont,
    cmap: dict[int, str],
    canvas: _Canvas,
    max_shared: int,
    progress: bool,
    label: str,
) -> tuple[set[int], dict[str, set[int]]]:
    """Steps 2-4 of the module docstring: (covered, rejected by reason)."""
    glyphs = tt.getGlyphSet()
    notdef_name = tt.getGlyphOrder()[0]
    notdef_cp = next((cp for cp in _NOTDEF_PROBES if cp not in cmap), None)
    notdef = canvas.draw(chr(notdef_cp)) if notdef_cp is not None else None
    notdef_pixels = canvas.pixels()
    notdef_outline = _outline(glyphs, notdef_name)

    covered: set[int] = set()
    rejected: dict[str, set[int]] = {reason: set() for reason in REJECT_REASONS}
    by_bitmap: dict[bytes, list[int]] = defaultdict(list)
    by_glyph: dict[str, list[int]] = defaultdict(list)
    bar = tqdm(
        sorted(cmap),
        desc=label,
        unit="char",
        delay=1.0,  # only shown when the check is slow enough to wonder about
        leave=False,
        disable=not progress,
    )
    for cp in bar:
        ch = chr(cp)
        if ch.isspace():
            covered.add(cp)
            continue
        if unicodedata.category(ch) in ("Cc", "Cs"):  # controls and lone surrogates: not text
            rejected["control"].add(cp)
            continue
        if cmap[cp] == notdef_name:
            rejected["notdef"].add(cp)
            continue
        ink = canvas.draw(ch)
        if ink is None:
            rejected["blank"].add(cp)
        elif notdef is not None and (
            ink.digest == notdef.digest
            # A copy of the .notdef outline under another glyph name can rasterize a pixel
            # off (FreeType's auto-hinter treats glyphs it reaches through the cmap
            # differently), so look-alikes are settled by comparing outlines.
            or (
                ink.near(notdef)
                and canvas.difference(notdef_pixels) < 0.6
                and _outline(glyphs, cmap[cp]) == notdef_outline
            )
        ):
            rejected["notdef"].add(cp)
        else:
            by_bitmap[ink.digest].append(cp)
            by_glyph[cmap[cp]].append(cp)
    # One bitmap, or one glyph, behind many code points: a catch-all placeholder.
    for group in [*by_bitmap.values(), *by_glyph.values()]:
        if len(group) > max_shared:
            rejected["shared"].update(group)
    for group in by_bitmap.values():
        covered.update(cp for cp in group if cp not in rejected["shared"])
    return covered, rejected


def _outline(glyphs: Any, name: str) -> tuple[Any, ...] | None:
    """The glyph's outline as drawing operations, components resolved; None if unreadable."""
    pen = DecomposingRecordingPen(glyphs)
    try:
        glyphs[name].draw(pen)
    except Exception:  # a broken glyph program cannot equal the .notdef outline anyway
        return None
    return tuple((op, tuple(args)) for op, args in pen.value)


@dataclass(frozen=True)
class _Ink:
    digest: bytes  # of the whole canvas
    bbox: tuple[int, int, int, int]

    def near(self, other: _Ink, px: int = 2) -> bool:
        """Inked box in the same place, within ``px`` pixels on every side."""
        return all(abs(a - b) <= px for a, b in zip(self.bbox, other.bbox, strict=True))


class _Canvas:
    """One reusable greyscale canvas: draw a character, describe the ink it left."""

    def __init__(self, font: ImageFont.FreeTypeFont, size: int):
        self.font = font
        # Room on every side: accents and wide glyphs reach outside the em box.
        self.image = Image.new("L", (4 * size, 4 * size))
        self.pen = ImageDraw.Draw(self.image)
        self.origin = (size, size)

    def draw(self, ch: str) -> _Ink | None:
        """The ink of ``ch``, or None when nothing is drawn."""
        self.image.paste(0, (0, 0, *self.image.size))
        self.pen.text(self.origin, ch, font=self.font, fill=255)
        bbox = self.image.getbbox()
        if bbox is None:
            return None
        return _Ink(hashlib.blake2b(self.image.tobytes(), digest_size=16).digest(), bbox)

    def pixels(self) -> np.ndarray:
        return np.asarray(self.image, dtype=np.int32)  # (H, W), a copy

    def difference(self, reference: np.ndarray) -> float:
        """Sum of absolute differences from ``reference``, relative to its ink."""
        diff = np.abs(self.pixels() - reference).sum()
        return float(diff) / max(float(reference.sum()), 1.0)


# -- cache -------------------------------------------------------------------------------------
def cache_name(sha256: str, index: int) -> str:
    return f"{sha256}-{index}.json"


def user_cache_dir() -> Path:
    """Where user fonts' coverage goes: ``$GLYPHGEN_CACHE_DIR/coverage`` or
    ``~/.cache/glyphgen/coverage``."""
    root = os.environ.get("GLYPHGEN_CACHE_DIR")
    base = Path(root) if root else Path.home() / ".cache" / "glyphgen"
    return base / "coverage"


def coverage_to_json(
    cov: FaceCoverage, size: int = CHECK_SIZE, max_shared: int = MAX_SHARED
) -> dict[str, Any]:
    return {
        "format": CACHE_FORMAT,
        "sha256": cov.sha256,
        "index": cov.index,
        "family": cov.family,
        "subfamily": cov.subfamily,
        "check": {"size": size, "max_shared": max_shared},
        # Recorded, not checked: coverage does not change with these in practice.
        "tools": {"pillow": Image.__version__, "freetype": features.version("freetype2")},
        "cmap_size": cov.cmap_size,
        "covered_count": len(cov.covered),
        "covered": to_ranges(cov.covered),
        "rejected": {k: to_ranges(v) for k, v in cov.rejected.items() if v},
    }


def coverage_from_json(data: dict[str, Any]) -> FaceCoverage:
    return FaceCoverage(
        sha256=data["sha256"],
        index=int(data["index"]),
        family=data["family"],
        subfamily=data.get("subfamily", ""),
        cmap_size=int(data["cmap_size"]),
        covered=from_ranges(data["covered"]),
        rejected={k: from_ranges(v) for k, v in data.get("rejected", {}).items()},
    )


def save_cache(cov: FaceCoverage, cache_dir: Path) -> Path:
    """Write atomically: worker processes may check the same font at the same time."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    out = cache_dir / cache_name(cov.sha256, cov.index)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(coverage_to_json(cov), separators=(",", ":")), encoding="utf-8")
    os.replace(tmp, out)
    return out


def load_cache(cache_dirs: Iterable[Path], sha256: str, index: int) -> FaceCoverage | None:
    """The cached coverage of (sha256, index) from the first folder that holds a current one."""
    for cache_dir in cache_dirs:
        path = Path(cache_dir) / cache_name(sha256, index)
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # unreadable or half-written: recompute rather than trust it
        if (
            data.get("format") == CACHE_FORMAT
            and data.get("sha256") == sha256
            and data.get("index") == index
            and data.get("check") == {"size": CHECK_SIZE, "max_shared": MAX_SHARED}
        ):
            return coverage_from_json(data)
    return None


def cached_check(
    path: Path,
    index: int,
    sha256: str,
    cache_dirs: list[Path],
    write_dir: Path | None,
    progress: bool = True,
) -> FaceCoverage:
    """``check_face`` through the cache: read from ``cache_dirs``, write new results to
    ``write_dir`` (skipped, not fatal, when it is not writable)."""
    cov = load_cache(cache_dirs, sha256, index)
    if cov is not None:
        return cov
    cov = check_face(path, index, sha256=sha256, progress=progress)
    if write_dir is not None:
        try:
            save_cache(cov, write_dir)
        except OSError as exc:  # a read-only home still gets correct, just slower, loads
            warnings.warn(
                f"cannot write the coverage cache for {path} to {write_dir} ({exc}); it will be "
                "checked again next time: set GLYPHGEN_CACHE_DIR to a writable folder",
                stacklevel=2,
            )
    return cov
