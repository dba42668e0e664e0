"""Builds the bundled fonts in glyphgen/data/fonts/ from Debian font packages: subset, verify, describe.

    python tools/build_fonts.py             # says which apt-get command to run if packages miss
    python tools/build_fonts.py --install   # runs apt-get install itself (needs root)

For each font in FONTS: take one face out of the installed file (collections hold several),
subset it with fontTools to the characters we draw (GB2312 + ASCII/Latin-1 + punctuation +
full-width and vertical forms; the whole URO and Ext A where the spec says so), keep the
vertical-layout features, drop hinting and embedded bitmaps (outlines only, so every size is
drawn the same way), then rasterize every code point to get the verified coverage
(glyphgen.typeset.coverage), write its cache to coverage/, copy the licence texts to
LICENSES/ and write manifest.json (all in glyphgen/data/fonts/). The output is byte-for-byte reproducible for the
same package versions and fontTools version (timestamps are kept from the source fonts).

The committed glyphgen/data/fonts/ is what the package uses at run time; nobody needs apt for that.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gzip
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fontTools
from fontTools import subset
from fontTools.ttLib import TTFont

from glyphgen.typeset import charsets
from glyphgen.typeset.coverage import (
    CHECK_SIZE,
    MAX_SHARED,
    cache_name,
    check_face,
    load_cache,
    save_cache,
    sha256_file,
)
from glyphgen.typeset.fonts import MANIFEST_NAME, coverage_counts

ROOT = Path(__file__).resolve().parents[1]
MAX_FILE_BYTES = 15 * 1024 * 1024
MAX_TOTAL_BYTES = 60 * 1024 * 1024
MIN_TRAIN_FONTS_PER_CHAR = 3

# What every bundled font is cut down to, besides GB2312 (all 7,445 codec characters).
BASE_RANGES: dict[str, tuple[int, int]] = {
    "ascii": (0x0020, 0x007E),
    "latin-1": (0x00A0, 0x00FF),
    "general-punctuation": (0x2000, 0x206F),
    "cjk-symbols-punctuation": (0x3000, 0x303F),
    "vertical-forms": (0xFE10, 0xFE19),
    "cjk-compatibility-forms": (0xFE30, 0xFE4F),
    "halfwidth-fullwidth-forms": (0xFF00, 0xFFEF),
}
# Whole blocks added for the fonts that carry them.
EXTRA_RANGES: dict[str, tuple[int, int]] = {
    "uro": (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    "compat": (0xF900, 0xFAFF),  # CJK Compatibility Ideographs: GBK has 21 of them
    "ext-a": (0x3400, 0x4DBF),
}
# 'vert'/'vrt2' swap punctuation for its rotated form in vertical text; nothing else is kept
# (locl would drag in the JP/KR/TC alternates of the Noto collections).
LAYOUT_FEATURES = ["vert", "vrt2"]


@dataclass(frozen=True)
class FontSpec:
    id: str  # stable; also the output file's stem
    package: str  # Debian package the source comes from
    source: str  # installed file
    source_index: int  # face within the source collection
    style: str  # hei | song | kai | other
    split: str  # train | heldout
    licence: str  # SPDX-like identifier
    extra: tuple[str, ...] = ()  # keys of EXTRA_RANGES
    canonical: bool = False
    # The OFL forbids a modified version (a subset is one) to use a Reserved Font Name:
    # (old, new) replacements in the font-name records, and the names that must be gone.
    rename: tuple[tuple[str, str], ...] = ()
    reserved: tuple[str, ...] = ()


NOTO = "/usr/share/fonts/opentype/noto"
FONTS: tuple[FontSpec, ...] = (
    FontSpec(
        "noto-sans-sc", "fonts-noto-cjk", f"{NOTO}/NotoSansCJK-Regular.ttc", 2, "hei", "train",
        "OFL-1.1", extra=("uro", "compat", "ext-a"), canonical=True,
    ),
    FontSpec(
        "noto-sans-sc-bold", "fonts-noto-cjk", f"{NOTO}/NotoSansCJK-Bold.ttc", 2, "hei",
        "train", "OFL-1.1",
    ),
    FontSpec(
        "noto-serif-sc", "fonts-noto-cjk", f"{NOTO}/NotoSerifCJK-Regular.ttc", 2, "song",
        "train", "OFL-1.1", extra=("uro", "compat", "ext-a"),
    ),
    FontSpec(
        "arphic-ukai", "fonts-arphic-ukai", "/usr/share/fonts/truetype/arphic/ukai.ttc", 0,
        "kai", "train", "Arphic-1999",
    ),
    FontSpec(
        "arphic-uming", "fonts-arphic-uming", "/usr/share/fonts/truetype/arphic/uming.ttc", 0,
        "song", "train", "Arphic-1999",
    ),
    FontSpec(
        "wqy-zenhei", "fonts-wqy-zenhei", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0,
        "hei", "train", "GPL-2.0-only WITH Font-exception-2.0 AND mplus", extra=("ext-a",),
    ),
    FontSpec(
        "wenkai", "fonts-lxgw-wenkai",
        "/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf", 0, "kai", "heldout",
        "OFL-1.1", extra=("uro", "compat"),
        rename=(("LXGW WenKai", "WenKai Subset"), ("LXGWWenKai", "WenKaiSubset"),
                ("霞鹜文楷", "文楷子集")),
        reserved=("LXGW", "霞鹜"),
    ),
)  # fmt: skip
# Name IDs that name the font (family, full, PostScript, unique, typographic, WWS); the
# copyright (0) and licence (13, 14) records keep the original wording.
FONT_NAME_IDS = {1, 3, 4, 6, 16, 17, 18, 21, 22}

# Licence texts per package: the Debian copyright file, plus the texts it points to.
EXTRA_LICENCE_FILES = {
    "fonts-wqy-zenhei": ["/usr/share/common-licenses/GPL-2"],
    "fonts-arphic-ukai": ["/usr/share/doc/fonts-arphic-ukai/license/english/ARPHICPL.TXT.gz"],
    "fonts-arphic-uming": ["/usr/share/doc/fonts-arphic-uming/license/english/ARPHICPL.TXT.gz"],
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--out",
        type=Path,
        default=ROOT / "glyphgen" / "data" / "fonts",
        help="fonts folder to write",
    )
    ap.add_argument("--install", action="store_true", help="apt-get install missing packages")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel builds")
    args = ap.parse_args(argv)
    if args.jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {args.jobs}")
    return args


# -- packages ----------------------------------------------------------------------------------
def package_versions(packages: list[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for pkg in packages:
        res = subprocess.run(
            ["dpkg-query", "-W", "-f=${db:Status-Status} ${Version}", pkg],
            capture_output=True,
            text=True,
            check=False,
        )
        status, _, version = res.stdout.partition(" ")
        out[pkg] = version if res.returncode == 0 and status == "installed" else None
    return out


def ensure_packages(install: bool) -> dict[str, str]:
    packages = sorted({f.package for f in FONTS})
    versions = package_versions(packages)
    missing = [p for p, v in versions.items() if v is None]
    if missing:
        cmd = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
        if not install:
            sys.exit(
                f"missing Debian packages: {' '.join(missing)}\ninstall them with:\n  "
                f"{' '.join(cmd)}\nor run this script with --install"
            )
        subprocess.run(cmd, check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        versions = package_versions(packages)
    return {p: v for p, v in versions.items() if v is not None}


# -- one font ----------------------------------------------------------------------------------
def subset_codepoints(spec: FontSpec) -> set[int]:
    cps = {ord(c) for c in charsets.gb2312_all()}
    for key in (*BASE_RANGES, *spec.extra):
        lo, hi = BASE_RANGES.get(key) or EXTRA_RANGES[key]
        cps.update(range(lo, hi + 1))
    return cps


def subset_font(spec: FontSpec, out_dir: Path) -> Path:
    # recalcTimestamp=False keeps head.modified from the source: reproducible bytes.
    font = TTFont(spec.source, fontNumber=spec.source_index, recalcTimestamp=False)
    opts = subset.Options()
    opts.layout_features = LAYOUT_FEATURES
    opts.notdef_outline = True  # a visible tofu box beats an invisible one when debugging
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.hinting = False
    opts.drop_tables += [
        "EBDT",
        "EBLC",
        "EBSC",
        "DSIG",
        "FFTM",
        "BDF",
    ]  # bitmaps, signature, editor data
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=subset_codepoints(spec))
    sub.subset(font)
    if spec.rename or spec.reserved:
        _rename(font, spec)
    ext = ".otf" if "CFF " in font else ".ttf"
    out = out_dir / f"{spec.id}{ext}"
    font.save(out)
    return out


def _rename(font: TTFont, spec: FontSpec) -> None:
    for rec in font["name"].names:
        if rec.nameID not in FONT_NAME_IDS:
            continue
        text = rec.toUnicode()
        for old, new in spec.rename:
            text = text.replace(old, new)
        rec.string = text
    for rec in font["name"].names:
        for reserved in spec.reserved:
            if rec.nameID in FONT_NAME_IDS and reserved in rec.toUnicode():
                raise ValueError(
                    f"{spec.id}: name record {rec.nameID} still holds the reserved font name "
                    f"{reserved!r}: {rec.toUnicode()!r}; extend FontSpec.rename"
                )


def build_one(spec: FontSpec, out_dir: Path) -> dict[str, Any]:
    """Subset, check and describe one font; returns its manifest entry."""
    path = subset_font(spec, out_dir)
    sha = sha256_file(path)
    cov = check_face(path, 0, sha256=sha, progress=False)
    save_cache(cov, out_dir / "coverage")
    rejected = {k: len(v) for k, v in cov.rejected.items() if v}
    size_mb = path.stat().st_size / 1e6
    print(
        f"{spec.id}: {size_mb:.2f} MB, {len(cov.covered)} covered, rejected {rejected}", flush=True
    )
    return {
        "id": spec.id,
        "file": path.name,
        "index": 0,
        "family": cov.family,
        "subfamily": cov.subfamily,
        "style": spec.style,
        "split": spec.split,
        "canonical": spec.canonical,
        "licence": spec.licence,
        "licence_files": licence_names(spec.package),
        "source": {
            "package": spec.package,
            "file": spec.source,
            "index": spec.source_index,
            "sha256": sha256_file(Path(spec.source)),
        },
        "subset": ["gb2312", *BASE_RANGES, *spec.extra],
        "bytes": path.stat().st_size,
        "sha256": sha,
        "coverage_cache": f"coverage/{cache_name(sha, 0)}",
        "coverage": coverage_counts(cov.covered),
        "rejected": rejected,
    }


# -- licences ----------------------------------------------------------------------------------
def licence_names(package: str) -> list[str]:
    names = [f"LICENSES/{package}.copyright.txt"]
    names += [f"LICENSES/{_licence_stem(p)}.txt" for p in EXTRA_LICENCE_FILES.get(package, [])]
    return names


def _licence_stem(src: str) -> str:
    name = Path(src).name.removesuffix(".gz")
    return Path(name).stem if name.endswith(".TXT") else name


def copy_licences(out_dir: Path) -> None:
    lic = out_dir / "LICENSES"
    if lic.exists():
        shutil.rmtree(lic)
    lic.mkdir(parents=True)
    for package in sorted({f.package for f in FONTS}):
        shutil.copyfile(f"/usr/share/doc/{package}/copyright", lic / f"{package}.copyright.txt")
        for src in EXTRA_LICENCE_FILES.get(package, []):
            data = Path(src).read_bytes()
            if src.endswith(".gz"):
                data = gzip.decompress(data)
            (lic / f"{_licence_stem(src)}.txt").write_bytes(data)
    lines = [
        "# Licences of the bundled fonts",
        "",
        "Each font in `glyphgen/data/fonts/` is a subset (a modified version) of a font from a Debian package;",
        "it stays under its original licence. `<package>.copyright.txt` is that package's",
        'Debian copyright file. The subset of LXGW WenKai is renamed "WenKai Subset" because',
        "the OFL forbids modified versions to use its Reserved Font Names. `../manifest.json`",
        "records each font's source package, version and sha256; `python tools/build_fonts.py`",
        "rebuilds them.",
        "",
        "| id | licence | package | files |",
        "| --- | --- | --- | --- |",
    ]
    for f in FONTS:
        files = ", ".join(n.removeprefix("LICENSES/") for n in licence_names(f.package))
        lines.append(f"| {f.id} | {f.licence} | {f.package} | {files} |")
    (lic / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


# -- checks ------------------------------------------------------------------------------------
def check_rules(entries: list[dict[str, Any]], out_dir: Path) -> list[str]:
    """The issue's requirements on the bundled set; returns the violations."""
    problems = []
    total = 0
    for e in entries:
        total += e["bytes"]
        if e["bytes"] > MAX_FILE_BYTES:
            problems.append(f"{e['file']} is {e['bytes'] / 2**20:.1f} MiB (limit 15 MiB)")
    if total >= MAX_TOTAL_BYTES:
        problems.append(f"fonts total {total / 2**20:.1f} MiB (limit 60 MiB)")
    train = [e for e in entries if e["split"] == "train"]
    covs = [load_cache([out_dir / "coverage"], e["sha256"], 0) for e in train]
    sets = [c.covered for c in covs if c is not None]
    for name, chars in (
        ("GB2312 hanzi", charsets.gb2312_hanzi()),
        ("GB2312", charsets.gb2312_all()),
    ):
        thin = [
            c
            for c in chars
            if not c.isspace() and sum(ord(c) in s for s in sets) < MIN_TRAIN_FONTS_PER_CHAR
        ]
        if thin:
            problems.append(
                f"{len(thin)} {name} characters in fewer than {MIN_TRAIN_FONTS_PER_CHAR} train "
                f"fonts: {''.join(thin[:40])}"
            )
    if not any(e["coverage"]["ext_a"] for e in train):
        problems.append("no train font covers CJK Ext A")
    if len({e["style"] for e in train}) < 3:
        problems.append(f"train styles {sorted({e['style'] for e in train})}: need 3")
    return problems


def main(args: argparse.Namespace) -> int:
    versions = ensure_packages(args.install)
    out_dir: Path = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    # Start clean: old fonts and caches would otherwise linger next to the new ones.
    for old in [*out_dir.glob("*.otf"), *out_dir.glob("*.ttf"), *out_dir.glob("coverage/*.json")]:
        old.unlink()

    # 1) subset + verify, in parallel (each font takes 5-30 s, mostly fontTools)
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(build_one, spec, out_dir) for spec in FONTS]
        entries = [f.result() for f in futures]
    for e in entries:
        e["source"]["version"] = versions[e["source"]["package"]]

    # 2) licences and the manifest
    copy_licences(out_dir)
    manifest = {
        "format": 1,
        "generated_by": "python tools/build_fonts.py",
        "fonttools": fontTools.version,
        "coverage_check": {"size": CHECK_SIZE, "max_shared": MAX_SHARED},
        "fonts": entries,
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
    (out_dir / MANIFEST_NAME).write_text(text, encoding="utf-8")

    # 3) the rules the rest of the project relies on
    total = sum(e["bytes"] for e in entries)
    print(f"wrote {len(entries)} fonts, {total / 2**20:.1f} MiB, to {out_dir}")
    problems = check_rules(entries, out_dir)
    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(parse_args()))
