"""The font library: which faces exist, what each one really draws, and which to use for a text.

Bundled fonts come from the package's ``glyphgen/data/fonts/`` folder through its
``manifest.json`` (built by ``tools/build_fonts.py``); the held-out font ships only in a
checkout (the benchmarks read it), not in the wheel; user folders are scanned for .ttf/.otf/.ttc/.otc and
every face of a collection is used. Coverage is verified by rasterizing
(``glyphgen.typeset.coverage``) and cached, so a load is a few JSON reads: worker processes
call ``FontLibrary.load`` again with the same arguments instead of receiving a pickle.

"No tofu, ever": a face is offered for a text only if every non-whitespace character of the
text is in its verified coverage.
"""

from __future__ import annotations

import functools
import json
import operator
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import ImageFont

from glyphgen.paths import data_path
from glyphgen.typeset import charsets
from glyphgen.typeset.coverage import (
    FaceCoverage,
    NotAFontError,
    cached_check,
    face_count,
    sha256_file,
    user_cache_dir,
)

STYLES = ("hei", "song", "kai", "other")
SPLITS = ("train", "heldout", "all")  # "all": every bundled font, e.g. for listing
USER_SPLIT = "user"  # the split of faces found in user folders
FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc")
MANIFEST_NAME = "manifest.json"
EXT_A = (0x3400, 0x4DBF)


class FontFileWarning(UserWarning):
    """A file in a font folder was skipped (not a font, unreadable, or draws nothing)."""


@dataclass(frozen=True)
class FontFace:
    """One face of one font file, with the code points it verifiably draws."""

    id: str  # short and stable: "noto-sans-sc"; recorded in sample metadata
    path: Path
    index: int  # face index within a .ttc/.otc collection; 0 for a plain font
    family: str
    style: str  # one of STYLES
    split: str  # "train" | "heldout" for bundled fonts, "user" for user folders
    # Not part of equality/hash/repr: the id, file and face already identify the face.
    coverage: frozenset[int] = field(repr=False, compare=False)

    def covers(self, ch: str) -> bool:
        return ch.isspace() or ord(ch) in self.coverage


@dataclass(frozen=True)
class BundledFont:
    """One entry of the bundled fonts' ``manifest.json`` (the fields the loader needs)."""

    id: str
    file: str  # relative to the fonts folder
    index: int
    family: str
    style: str
    split: str
    canonical: bool
    sha256: str
    bytes: int


def bundled_fonts_dir() -> Path:
    """The bundled ``glyphgen/data/fonts/`` folder, or ``$GLYPHGEN_FONTS_DIR`` when set."""
    env = os.environ.get("GLYPHGEN_FONTS_DIR")
    return Path(env) if env else data_path("fonts")


def load_manifest(fonts_dir: Path) -> list[BundledFont]:
    path = fonts_dir / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"bundled font manifest {path} is missing: restore it with "
            "`git checkout glyphgen/data/fonts/`, rebuild it with `python tools/build_fonts.py`, "
            "or point GLYPHGEN_FONTS_DIR at a fonts folder"
        ) from exc
    except ValueError as exc:
        raise ValueError(f"bundled font manifest {path} is not valid JSON: {exc}") from exc
    entries = []
    for i, raw in enumerate(data.get("fonts", [])):
        entries.append(_manifest_entry(raw, f"{path} fonts[{i}]"))
    ids = [e.id for e in entries]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: font ids are not unique: {sorted(ids)}")
    if sum(e.canonical for e in entries) != 1:
        raise ValueError(f'{path}: exactly one font must have "canonical": true')
    return entries


def _manifest_entry(raw: dict[str, Any], where: str) -> BundledFont:
    required = ("id", "file", "index", "family", "style", "split", "sha256", "bytes")
    missing = [k for k in required if k not in raw]
    if missing:
        raise ValueError(f"{where}: missing keys {missing}; rebuild with tools/build_fonts.py")
    if raw["style"] not in STYLES:
        raise ValueError(f"{where}: unknown style {raw['style']!r}; use one of {STYLES}")
    if raw["split"] not in ("train", "heldout"):
        raise ValueError(f"{where}: unknown split {raw['split']!r}; use train or heldout")
    return BundledFont(
        id=raw["id"],
        file=raw["file"],
        index=int(raw["index"]),
        family=raw["family"],
        style=raw["style"],
        split=raw["split"],
        canonical=bool(raw.get("canonical", False)),
        sha256=raw["sha256"],
        bytes=int(raw["bytes"]),
    )


def guess_style(family: str) -> str:
    """Style of a user font from its family name; "other" when the name does not say."""
    name = family.lower()
    if "kai" in name or "楷" in name:
        return "kai"
    if any(k in name for k in ("song", "ming", "serif", "mincho", "宋", "明")):
        return "song"
    if any(k in name for k in ("hei", "sans", "gothic", "黑")):
        return "hei"
    return "other"


SIMPLIFIED_MARKS = (" SC", " CN", " GB", "简")  # family names of Simplified Chinese faces


def system_font_files(lang: str = "zh") -> list[tuple[Path, int]]:
    """(font file, face index) of the faces fontconfig knows for ``lang`` (``fc-list
    :lang=zh``): e.g. Debian's fonts-noto-cjk-extra weights, arphic, wqy. Of a collection
    holding regional variants (Noto CJK: JP, KR, SC, TC, HK) only the Simplified Chinese faces
    are kept. Empty where fontconfig is not installed."""
    import shutil
    import subprocess

    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        out = subprocess.run(
            [fc_list, f":lang={lang}", "--format", "%{file}|%{index}|%{family}\\n"],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    by_file: dict[Path, dict[int, str]] = {}
    for line in out.splitlines():
        parts = line.split("|", 2)
        if len(parts) == 3 and parts[1].isdigit():
            by_file.setdefault(Path(parts[0]), {})[int(parts[1])] = parts[2]
    faces = []
    for file, families in sorted(by_file.items()):
        if file.suffix.lower() not in FONT_SUFFIXES or not file.is_file():
            continue
        simplified = [i for i, f in families.items() if any(m in f for m in SIMPLIFIED_MARKS)]
        faces += [(file, i) for i in sorted(simplified or families)]
    return faces


# FreeType maps the font file once per open face, and a worker's resident memory counts every
# mapping: 32 faces keep a scene worker near 200 MB where 256 took 750 MB, at the same speed.
@functools.lru_cache(maxsize=32)
def _pil_font(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index)


class FontLibrary:
    """Faces to draw with, indexed by character.

    ``faces`` are the faces to sample from: the bundled fonts of one split plus user fonts.
    The canonical face (draws glyph-control images) is the bundled one marked canonical,
    available even when its split is not loaded.
    """

    def __init__(
        self,
        faces: Sequence[FontFace],
        canonical: FontFace | None = None,
        skipped: dict[str, str] | None = None,
    ):
        ids = [f.id for f in faces]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"font ids must be unique; repeated: {dupes}")
        self._faces = list(faces)
        self._canonical = canonical
        # Font files (or "file face N") left out while loading, and why: for run reports.
        self.skipped: dict[str, str] = dict(skipped or {})
        self._position = {f.id: i for i, f in enumerate(self._faces)}
        # char -> bitmask of the faces covering it (bit i = faces[i]); covering() is called per
        # sample, and ANDing a few ints beats intersecting sets of 30k code points.
        masks: dict[int, int] = {}
        for i, face in enumerate(self._faces):
            bit = 1 << i
            for cp in face.coverage:
                masks[cp] = masks.get(cp, 0) | bit
        self._masks = masks
        self._union = frozenset(masks)
        self._all = (1 << len(self._faces)) - 1

    # -- loading ----------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        font_dirs: Iterable[Path | str] | None = None,
        include_bundled: bool = True,
        split: str = "train",
        *,
        progress: bool = True,
        system: bool = False,
    ) -> FontLibrary:
        """Bundled fonts of ``split`` (if ``include_bundled``) plus every face found in
        ``font_dirs`` (searched recursively), plus, with ``system``, every font file
        fontconfig lists for Chinese (``system_font_files``). Unreadable files, and faces whose coverage
        check fails, are skipped with a ``FontFileWarning`` and listed in ``skipped``; no
        usable face at all raises ``ValueError``."""
        if split not in SPLITS:
            raise ValueError(f"unknown font split {split!r}; use one of {SPLITS}")
        dirs = [Path(d) for d in font_dirs or []]
        for d in dirs:
            if not d.is_dir():
                raise ValueError(f"font folder {d} does not exist or is not a folder")

        fonts_dir = bundled_fonts_dir()
        faces: list[FontFace] = []
        seen: set[tuple[str, int]] = set()  # (sha256, index): the same face found twice
        canonical = None
        manifest_here = (fonts_dir / MANIFEST_NAME).is_file()
        if include_bundled or manifest_here:
            for entry in load_manifest(fonts_dir):
                wanted = include_bundled and split in (entry.split, "all")
                absent = not (fonts_dir / entry.file).is_file()
                if split == "all" and entry.split == "heldout" and absent:
                    wanted = False  # not in a wheel (only the benchmarks use it): list the rest
                if not (wanted or entry.canonical):
                    continue
                if not wanted:  # only the canonical face: a broken one must not block user fonts
                    try:
                        canonical = _bundled_face(fonts_dir, entry, progress)
                    except (OSError, ValueError) as exc:
                        warnings.warn(
                            f"canonical font unavailable: {exc}", FontFileWarning, stacklevel=2
                        )
                    continue
                face = _bundled_face(fonts_dir, entry, progress)
                if entry.canonical:
                    canonical = face
                if wanted:
                    faces.append(face)
                    seen.add((entry.sha256, entry.index))

        taken = {f.id for f in faces}
        skipped: dict[str, str] = {}
        for d in dirs:
            for face in _scan_folder(d, seen, taken, skipped, progress):
                faces.append(face)
                taken.add(face.id)
        if system:
            chosen = system_font_files()
            files = sorted({file for file, _ in chosen})
            for face in _scan_files(files, seen, taken, skipped, progress, set(chosen)):
                faces.append(face)
                taken.add(face.id)

        if not faces:
            searched = [f"bundled {fonts_dir} (split={split})"] if include_bundled else []
            searched += [str(d) for d in dirs]
            why = "".join(f"; skipped {k}: {v}" for k, v in sorted(skipped.items()))
            raise ValueError(
                f"no usable font found; searched: {', '.join(searched) or 'nothing'}{why}. Put "
                f".ttf/.otf/.ttc/.otc files in a font folder (fonts.dirs / --dir) or keep the "
                "bundled fonts (fonts.bundled: true)"
            )
        return cls(faces, canonical, skipped)

    def with_files(self, files: Iterable[Path | str], *, progress: bool = False) -> FontLibrary:
        """This library plus every face of each font file in ``files``, through the same
        coverage check as a font folder's (a face already here is not added twice). A file
        that is missing or yields no usable face raises ``ValueError`` naming it."""
        faces = self.faces
        seen = {(sha256_file(f.path), f.index) for f in faces if f.split == USER_SPLIT}
        taken = {f.id for f in faces}
        added: list[FontFace] = []
        for file in (Path(f) for f in files):
            if not file.is_file():
                raise ValueError(f"font file {file} does not exist: give a .ttf/.otf/.ttc/.otc")
            if any(f.path.resolve() == file.resolve() for f in faces):
                continue  # already here (a bundled font given by its path)
            skipped: dict[str, str] = {}
            found = _scan_files([file], seen, taken, skipped, progress)
            if not found:
                why = "; ".join(skipped.values()) or "no face in it"
                raise ValueError(f"font file {file} gives no usable face: {why}")
            added += found
            taken |= {f.id for f in found}
        return FontLibrary(faces + added, self._canonical, self.skipped)

    def file_face(self, file: Path | str) -> FontFace:
        """The first face of the library drawn from ``file`` (``with_files`` adds them)."""
        path = Path(file).resolve()
        for face in self._faces:
            if face.path.resolve() == path:
                return face
        raise KeyError(f"no face from {file} in this library: add it with with_files")

    # -- lookups ----------------------------------------------------------------------------
    @property
    def faces(self) -> list[FontFace]:
        return list(self._faces)

    def face(self, id: str) -> FontFace:
        pos = self._position.get(id)
        if pos is not None:
            return self._faces[pos]
        if self._canonical is not None and self._canonical.id == id:
            return self._canonical
        raise KeyError(f"no font {id!r} in this library; known: {sorted(self._position)}")

    def canonical(self) -> FontFace:
        """The face that draws glyph-control images (Noto Sans CJK SC regular)."""
        if self._canonical is None:
            raise ValueError(
                f"the canonical font is not available: no bundled font manifest at "
                f"{bundled_fonts_dir() / MANIFEST_NAME}; restore glyphgen/data/fonts/ or set "
                "GLYPHGEN_FONTS_DIR"
            )
        return self._canonical

    def charset_union(self) -> frozenset[int]:
        """Code points at least one face covers."""
        return self._union

    def covering(self, text: str) -> list[FontFace]:
        """Faces that cover every non-whitespace character of ``text``, in library order."""
        mask = self._all
        for ch in text:
            if not ch.isspace():
                mask &= self._masks.get(ord(ch), 0)
                if not mask:
                    return []
        return [f for i, f in enumerate(self._faces) if mask >> i & 1]

    def fallback_chain(self, text: str, preferred: FontFace) -> list[FontFace] | None:
        """One face per character of ``text``: ``preferred`` where it covers the character
        (and for whitespace), else the first face that does; None if some character is in no
        face."""
        pos = self._position.get(preferred.id)
        if pos is None or self._faces[pos] != preferred:
            raise ValueError(
                f"preferred font {preferred.id!r} is not in this library; "
                f"pick one of {sorted(self._position)}"
            )
        bit = 1 << pos
        chain = []
        for ch in text:
            mask = bit if ch.isspace() else self._masks.get(ord(ch), 0)
            if mask & bit:
                chain.append(preferred)
            elif mask:
                chain.append(self._faces[(mask & -mask).bit_length() - 1])  # lowest set bit
            else:
                return None
        return chain

    def uncovered(self, text: str) -> set[str]:
        """Non-whitespace characters of ``text`` that no face covers."""
        return {ch for ch in text if not ch.isspace() and ord(ch) not in self._masks}

    def pil_font(self, face: FontFace, size: int) -> ImageFont.FreeTypeFont:
        """A Pillow font for ``face`` at ``size`` px, cached per process."""
        try:
            px = operator.index(size)  # ints and numpy ints; a float size is a caller's bug
        except TypeError:
            px = 0
        if px <= 0:
            raise ValueError(f"font size must be a positive whole number of pixels, got {size!r}")
        return _pil_font(str(face.path), face.index, px)

    def __repr__(self) -> str:
        return f"FontLibrary({[f.id for f in self._faces]})"


def _bundled_face(fonts_dir: Path, entry: BundledFont, progress: bool) -> FontFace:
    path = fonts_dir / entry.file
    if not path.is_file() and entry.split == "heldout":  # a setting this install cannot serve
        raise ValueError(
            f"the held-out font {entry.id!r} ({path}) is not here: it ships in a checkout of the "
            "repository, not in the installed wheel (only the benchmarks use it); run them from "
            "a checkout, or point GLYPHGEN_FONTS_DIR at a checkout's glyphgen/data/fonts"
        )
    if not path.is_file():
        raise FileNotFoundError(
            f"bundled font {path} (id {entry.id!r}) is missing: restore it with "
            "`git checkout glyphgen/data/fonts/` or rebuild with `python tools/build_fonts.py`"
        )
    size = path.stat().st_size
    # A size check is free and catches Git LFS pointers and stale rebuilds; the test suite
    # checks the sha256 values themselves.
    if size != entry.bytes:
        raise ValueError(
            f"bundled font {path} has {size} bytes but {fonts_dir / MANIFEST_NAME} says "
            f"{entry.bytes}: restore it with `git checkout glyphgen/data/fonts/` or rebuild the "
            "fonts and the manifest together with `python tools/build_fonts.py`"
        )
    cov = cached_check(
        path,
        entry.index,
        entry.sha256,
        cache_dirs=[fonts_dir / "coverage", user_cache_dir()],
        write_dir=user_cache_dir(),
        progress=progress,
    )
    return FontFace(
        id=entry.id,
        path=path,
        index=entry.index,
        family=entry.family,
        style=entry.style,
        split=entry.split,
        coverage=cov.covered,
    )


def _scan_folder(
    folder: Path,
    seen: set[tuple[str, int]],
    taken: set[str],
    skipped: dict[str, str],
    progress: bool,
) -> list[FontFace]:
    files = sorted(
        p for p in folder.rglob("*") if p.suffix.lower() in FONT_SUFFIXES and p.is_file()
    )
    return _scan_files(files, seen, taken, skipped, progress)


def _scan_files(
    files: Sequence[Path],
    seen: set[tuple[str, int]],
    taken: set[str],
    skipped: dict[str, str],
    progress: bool,
    wanted: set[tuple[Path, int]] | None = None,
) -> list[FontFace]:
    """Every face of ``files`` (only the (file, index) pairs of ``wanted`` when given)."""
    faces = []
    for path in files:
        try:
            n_faces = face_count(path)
            sha = sha256_file(path)
        except (NotAFontError, OSError) as exc:
            _skip(skipped, path, str(exc))
            continue
        for index in range(n_faces):
            if wanted is not None and (path, index) not in wanted:
                continue
            if (sha, index) in seen:
                continue  # the same face under another name or folder
            where = f"{path} face {index}" if n_faces > 1 else str(path)
            try:
                cov = cached_check(
                    path,
                    index,
                    sha,
                    cache_dirs=[user_cache_dir()],
                    write_dir=user_cache_dir(),
                    progress=progress,
                )
            except NotAFontError as exc:  # check_face turns any failure into one
                _skip(skipped, where, str(exc))
                continue
            if not cov.covered:
                _skip(skipped, where, "it draws no character (every glyph is blank or .notdef)")
                continue
            seen.add((sha, index))
            face = _user_face(path, index, n_faces, cov, taken)
            taken.add(face.id)
            faces.append(face)
    return faces


def _skip(skipped: dict[str, str], what: Path | str, why: str) -> None:
    skipped[str(what)] = why
    warnings.warn(f"skipped font file {what}: {why}", FontFileWarning, stacklevel=4)


def _user_face(
    path: Path, index: int, n_faces: int, cov: FaceCoverage, taken: set[str]
) -> FontFace:
    base = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-") or "font"
    face_id = f"{base}-{index}" if n_faces > 1 else base
    if face_id in taken:  # same file name in two folders: the content hash tells them apart
        face_id = f"{face_id}-{cov.sha256[:8]}"
    family = cov.family or path.stem
    return FontFace(
        id=face_id,
        path=path,
        index=index,
        family=family,
        style=guess_style(family),
        split=USER_SPLIT,
        coverage=cov.covered,
    )


# -- reporting -------------------------------------------------------------------------------
def coverage_counts(coverage: frozenset[int]) -> dict[str, int]:
    """Coverage of the charsets the manifest and ``describe`` report."""
    lo, hi = EXT_A
    return {
        "gb2312": sum(ord(c) in coverage for c in charsets.gb2312_all()),
        "gb2312_level1": sum(ord(c) in coverage for c in charsets.gb2312_level1()),
        "gb2312_level2": sum(ord(c) in coverage for c in charsets.gb2312_level2()),
        "ext_a": sum(lo <= cp <= hi for cp in coverage),
        "uro": sum(0x4E00 <= cp <= 0x9FFF for cp in coverage),
        "total": len(coverage),
    }


def describe(lib: FontLibrary) -> str:
    """A table of the library's faces and their verified coverage, for ``glyphgen fonts``."""
    n1, n2 = len(charsets.gb2312_level1()), len(charsets.gb2312_level2())
    header = ("id", "style", "split", "file", f"GB L1/{n1}", f"GB L2/{n2}", "Ext A", "total")
    fonts_dir = bundled_fonts_dir()
    try:
        canonical: FontFace | None = lib.canonical()
    except ValueError:
        canonical = None
    rows = []
    for face in lib.faces:
        counts = coverage_counts(face.coverage)
        try:
            file = str(face.path.relative_to(fonts_dir))
        except ValueError:
            file = str(face.path)
        if face.index:
            file += f"#{face.index}"
        mark = "*" if face == canonical else ""
        rows.append(
            (
                face.id + mark,
                face.style,
                face.split,
                file,
                str(counts["gb2312_level1"]),
                str(counts["gb2312_level2"]),
                str(counts["ext_a"]),
                str(counts["total"]),
            )
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    numeric = set(range(4, len(header)))

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    hanzi = charsets.gb2312_hanzi()
    thin = sum(len(lib.covering(ch)) < 3 for ch in hanzi)
    out = [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]
    out.append("")
    out.append(
        f"{len(rows)} faces; {len(lib.charset_union())} characters covered in all; "
        f"GB2312 hanzi in fewer than 3 faces: {thin}/{len(hanzi)}"
    )
    if any(r[0].endswith("*") for r in rows):
        out.append("* canonical: draws the glyph-control images")
    return "\n".join(out)
