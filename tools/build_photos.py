"""Builds folders of real-photo background crops, split into train and held-out by source photo.

    apt-get update
    apt-get install -y --no-install-recommends mate-backgrounds lomiri-wallpapers-16.04 \\
        lomiri-wallpapers-20.04 plasma-workspace-wallpapers
    pip install -e '.[photos]'                  # scikit-image and scikit-learn
    python tools/build_photos.py                # train -> out/photos/train, held-out -> glyphgen/data/photos/heldout
    python tools/build_photos.py --split train --out /data/photos/train
    python tools/build_photos.py --check-text   # also run PP-OCRv4 detection on every crop

The sources are the photos listed in PHOTOS: real photographs (no drawings, renders or
paintings, nothing with legible text in it), picked by eye from Debian wallpaper packages and
from the sample images inside scikit-image and scikit-learn. Each entry pins the sha256 of its
file, so a package update that changes a photo stops the build instead of silently changing the
split.

1) Split, by source photo: a photo is held out when its file's sha256 says so (split_of); every
   crop of a photo goes to that photo's split, so no photo is seen in both.
2) Crops: the photo is cut into a grid of square cells (centred, non-overlapping) sized so that
   a cell is CROP_PX output pixels once the photo's shorter side is scaled to at most
   MAX_SHORT_PX; every cell is one crop, downscaled to CROP_PX (smaller photos give one crop of
   their shorter side). Grey photos stay single-channel. JPEG, quality JPEG_QUALITY.
3) Each split folder gets manifest.json (per crop: source package and version, source file and
   its sha256, licence, author, crop box in source pixels, crop sha256, split) and the licence
   texts of its sources (held-out: glyphgen/data/photos/LICENSES; train: <out>/LICENSES).

The committed held-out folder is what the evaluation uses; nobody needs apt for that. The train
folder is not committed (build it with the commands above); point a factory config's
background.image_dirs at it.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import inspect
import io
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: glyphgen from this checkout

from glyphgen.hashing import sha256_file  # noqa: E402
from glyphgen.images import open_image  # noqa: E402

HELDOUT_DIR = ROOT / "glyphgen" / "data" / "photos" / "heldout"
LICENSES_DIR = ROOT / "glyphgen" / "data" / "photos" / "LICENSES"
DEFAULT_TRAIN_OUT = Path("out/photos/train")
MANIFEST = "manifest.json"
SPLITS = ("train", "heldout")

CROP_PX = 640  # output side of a crop (scenes are 512 px: the factory still has room to zoom)
MAX_SHORT_PX = 1280  # a photo's shorter side is treated as at most this: 2 cells across it
JPEG_QUALITY = 90
HELDOUT_MODULUS = 3  # about one photo in three is held out
MAX_HELDOUT_BYTES = 20 * 1024 * 1024
GREY_TOLERANCE = 2  # max channel spread of any pixel for an RGB file to count as grey


@dataclass(frozen=True)
class Photo:
    id: str  # stable; the crops are <id>-<cell>.jpg
    package: str  # Debian package, or Python distribution (scikit-image, scikit-learn)
    file: str  # absolute for Debian; relative to the Python package's folder otherwise
    sha256: str  # of the source file, pinned: a changed photo stops the build
    licence: str  # SPDX identifier, from the package's copyright file or docs
    author: str


MATE = "/usr/share/backgrounds/mate/nature"
LOMIRI = "/usr/share/backgrounds"
PLASMA = "/usr/share/wallpapers"
GPL2 = "GPL-2.0-or-later"
PHOTOS: tuple[Photo, ...] = (
    # mate-backgrounds: nature/ (abstract/ and desktop/ are drawings and renders)
    Photo("mate-aqua", "mate-backgrounds", f"{MATE}/Aqua.jpg", "5c30118205982da441bf7e6a1ada636a8a0be879408140b3148280c665ed6bce", GPL2, "Charles Barbin"),
    Photo("mate-blinds", "mate-backgrounds", f"{MATE}/Blinds.jpg", "f7aac0dcc2e06d0491643e84df3da1d9db7c4610f58806a880d56e074799f600", GPL2, "Lennart Poettering, Andrea Cimitan"),
    Photo("mate-dune", "mate-backgrounds", f"{MATE}/Dune.jpg", "8a67c2cb0be8c46b70c237311a4fa4d2b4ac7d39568135384787801fa5cc9a91", GPL2, "Marco Cogoni, Hylke Bons"),
    Photo("mate-freshflower", "mate-backgrounds", f"{MATE}/FreshFlower.jpg", "972b0a0c4e5e3fa93f4f244fc84bc64b121a5eac3aaa5856f1308c1f38a02f8e", GPL2, "Jens Ansorg"),
    Photo("mate-garden", "mate-backgrounds", f"{MATE}/Garden.jpg", "d3095ee09d425ef23d27155412136cf14fc3c9af76ca58b452f55e23da324e78", GPL2, "Charles Barbin"),
    Photo("mate-greenmeadow", "mate-backgrounds", f"{MATE}/GreenMeadow.jpg", "8fa0de0aa4089f7319c9fb7a6d006d4cab6023e8c8853731557cff53567b4832", GPL2, "Timothy Schellhase, Lapo Calamandrei"),
    Photo("mate-ladybird", "mate-backgrounds", f"{MATE}/LadyBird.jpg", "e35a9a4126ef969c90b29c038058c5a575a20eadd84106a37bf1fa9931e7b61d", GPL2, "Charles Barbin"),
    Photo("mate-raindrops", "mate-backgrounds", f"{MATE}/RainDrops.jpg", "3e4ea9671c28c90a86cf67b3db9daf18c4741587c596333a7529ca589aaa0c16", GPL2, "blackcombwhistler07"),
    Photo("mate-storm", "mate-backgrounds", f"{MATE}/Storm.jpg", "77ca53077831d3237f73393a91fc879158abc046d852941c26e90de336356957", GPL2, "Sergey Nazarov"),
    Photo("mate-twowings", "mate-backgrounds", f"{MATE}/TwoWings.jpg", "665e5abf8a5399070a91a9a8e455fe071e5b61697ff78fdeda4e9843ef545aeb", GPL2, "Charles Barbin, Hylke Bons"),
    Photo("mate-wood", "mate-backgrounds", f"{MATE}/Wood.jpg", "19c78500ac00a622e19907ab9cc7d06d46fe08c4a6142759a84195696150ec07", GPL2, "Jean-François Fortin Tam"),
    Photo("mate-yellowflower", "mate-backgrounds", f"{MATE}/YellowFlower.jpg", "254da96256acb7add685679775a04d1e4a5bc8cd13e5a5a3d61351ce198a5306", GPL2, "Charles Barbin"),
    # lomiri-wallpapers-16.04 / -20.04: the photographs (not the renders, the clock face, the
    # wine bottle's label or the textured-paint 'analogpattern')
    Photo("lomiri-bridge", "lomiri-wallpapers-16.04", f"{LOMIRI}/Bridge_by_Sander_Klootwijk.jpg", "bd86b081f9975e2b83527f71e49b9271a8ab40885428395969d9f7d834d7f050", "CC-BY-SA-4.0", "Sander Klootwijk"),
    Photo("lomiri-dragonfly", "lomiri-wallpapers-16.04", f"{LOMIRI}/Dragonfly_by_Bolly.jpg", "af5af17841009732def24b09bb1e669a1b09d2b4bdeee7812c371101c30d2bb3", "CC-BY-SA-4.0", "Bolly"),
    Photo("lomiri-picture-0b", "lomiri-wallpapers-16.04", f"{LOMIRI}/Picture_0B_by_freespace.jpg", "c8c0ab18e48d9e0419fe42881112137f3afafc27dfddc29ec3a6d54c56d225ad", "CC-BY-4.0", "Trevor \"Freespace\""),
    Photo("lomiri-picture-1a", "lomiri-wallpapers-16.04", f"{LOMIRI}/Picture_1A_by_freespace.jpg", "89e86af38d04daaef975665dc2127e9fa76f0fd68f4eea105a2d0ae3390b010b", "CC-BY-4.0", "Trevor \"Freespace\""),
    Photo("lomiri-aitzgorri", "lomiri-wallpapers-16.04", f"{LOMIRI}/aitzgorri_by_Aitzol_Berasategi.jpg", "66268e7b48f8854d36a28765fac6e23ec1aee251daa6da1f64715f201020ad36", "CC-BY-4.0", "Aitzol Berasategi"),
    Photo("lomiri-free", "lomiri-wallpapers-16.04", f"{LOMIRI}/free_by_Peter_Nerlich.jpg", "85a5453c2fed514c75973016f3d862aca62eb7ca087618822469274ac1092373", "CC-BY-SA-4.0", "Peter Nerlich"),
    Photo("lomiri-friends", "lomiri-wallpapers-16.04", f"{LOMIRI}/friends_by_Aitzol_Berasategi.jpg", "cc40e313c74e421edffe3403def413c16878ce14661cce7ec5915baeab35538d", "CC-BY-4.0", "Aitzol Berasategi"),
    Photo("lomiri-life", "lomiri-wallpapers-16.04", f"{LOMIRI}/life_by_Aitzol_Berasategi.jpg", "4c119350ead80201fe256850c3d316309ddfb4bdf10b235ce982dcde0c667c05", "CC-BY-4.0", "Aitzol Berasategi"),
    Photo("lomiri-picosdeeuropa", "lomiri-wallpapers-16.04", f"{LOMIRI}/picosdeeuropa_by_Aitzol_Berasategi.jpg", "414d0072b2f6f2c555deafeaef6e45c4fed6fa9ad26eba6560ca8803959cf97a", "CC-BY-4.0", "Aitzol Berasategi"),
    Photo("lomiri-seeding", "lomiri-wallpapers-16.04", f"{LOMIRI}/seeding_by_Clements_Engelhardt.jpg", "a5634d1ab5e41a3568e92d4a894a500c92b891f9ff734e50bd224d6e185a605f", "CC0-1.0", "Clemens Engelhardt"),
    Photo("lomiri-sunset", "lomiri-wallpapers-16.04", f"{LOMIRI}/sunset_by_Aitzol_Berasategi.jpg", "474dab6a4b9f94dc76c29dfe30e9f5db4af0fd2e33fe5d695f8152b371efca18", "CC-BY-4.0", "Aitzol Berasategi"),
    Photo("lomiri-kleiber", "lomiri-wallpapers-20.04", f"{LOMIRI}/Kleiber_by_Lukas_Baubkus.jpg", "6572410c09f4492c74ccadde133565a14c0161617d5917d4c820c66d65a44ba7", "CC-BY-SA-3.0", "Lukas Baubkus"),
    # plasma-workspace-wallpapers: the photographs, largest size only (each size is the same photo);
    # not EveningGlow, whose rowing boats carry number plates ("27 to Carry 4")
    Photo("plasma-bythewater", "plasma-workspace-wallpapers", f"{PLASMA}/BytheWater/contents/images/2560x1600.jpg", "c272434ef39f2abf1ed48a15a8910088020f3165329a5092f3940ec9464bc05f", GPL2, "Maciej Wiklo"),
    Photo("plasma-coldripple", "plasma-workspace-wallpapers", f"{PLASMA}/ColdRipple/contents/images/2560x1600.jpg", "05bef6722fc0ed81292cceb3ed026c38d17e510f3c84be7d68610c2b1a723c3f", GPL2, "Risto Saukonpää"),
    Photo("plasma-colorfulcups", "plasma-workspace-wallpapers", f"{PLASMA}/ColorfulCups/contents/images/2560x1600.jpg", "6e0f3a72feb5a4a9fec191b77e34874c3c69e2d93040deb3f07773e73385023d", GPL2, "Dmitri Popov"),
    Photo("plasma-darkesthour", "plasma-workspace-wallpapers", f"{PLASMA}/DarkestHour/contents/images/2560x1600.jpg", "8e3703fae3a3c217b1fc2b399b706cd3720584268d071ba153e4809daa55f1ce", GPL2, "Risto Saukonpää"),
    Photo("plasma-fallenleaf", "plasma-workspace-wallpapers", f"{PLASMA}/FallenLeaf/contents/images/2560x1600.jpg", "95603a6560c7e8d50e0e03b3f4adbe39c5258c72528e74e4ecaea1daf4e499de", GPL2, "Martin Klapetek"),
    Photo("plasma-grey", "plasma-workspace-wallpapers", f"{PLASMA}/Grey/contents/images/2560x1600.jpg", "88c31d8944b7e6935d1b9a296654c692f0772cb512491713eb30a972a604c0ed", GPL2, "Sigi Sagi"),
    Photo("plasma-kite", "plasma-workspace-wallpapers", f"{PLASMA}/Kite/contents/images/2560x1600.jpg", "bdca288ce296a981e80659c021cf707caddc702c0c8d4247e60bd618476d47f8", GPL2, "Risto Saukonpää"),
    Photo("plasma-onestandsout", "plasma-workspace-wallpapers", f"{PLASMA}/OneStandsOut/contents/images/2560x1600.jpg", "cb507baf1dafdcae362264f3aba9483ed4be5f6c9fdd770f0ec0920c6d9e80fd", GPL2, "Risto Saukonpää"),
    Photo("plasma-path", "plasma-workspace-wallpapers", f"{PLASMA}/Path/contents/images/2560x1600.jpg", "7477457d7f17b736259f1b021864778ad4ba802cf3214e6728181ff29126bba8", GPL2, "Risto Saukonpää"),
    Photo("plasma-summer-1am", "plasma-workspace-wallpapers", f"{PLASMA}/summer_1am/contents/images/2560x1600.jpg", "c868b50789591dd42910153c768053f1ba0a98cb36bbfc2b7a96a1045d0477f8", GPL2, "Risto Saukonpää"),
    # scikit-image's sample photos (astronaut and rocket carry lettering; coins, clock, moon and
    # the microscopy images are not scenes or have no stated licence)
    Photo("skimage-camera", "scikit-image", "data/camera.png", "b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a", "CC0-1.0", "Lav Varshney"),
    Photo("skimage-chelsea", "scikit-image", "data/chelsea.png", "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb", "CC0-1.0", "Stefan van der Walt"),
    Photo("skimage-coffee", "scikit-image", "data/coffee.png", "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7", "CC0-1.0", "Rachel Michetti"),
    Photo("skimage-brick", "scikit-image", "data/brick.png", "7966caf324f6ba843118d98f7a07746d22f6a343430add0233eca5f6eaaa8fcf", "CC0-1.0", "CC0Textures"),
    Photo("skimage-grass", "scikit-image", "data/grass.png", "b6b6022426b38936c43a4ac09635cd78af074e90f42ffa8227ac8b7452d39f89", "CC0-1.0", "linolafett (DeviantArt)"),
    Photo("skimage-gravel", "scikit-image", "data/gravel.png", "c48615b451bf1e606fbd72c0aa9f8cc0f068ab7111ef7d93bb9b0f2586440c12", "CC0-1.0", "CC0Textures"),
    # scikit-learn's two sample photos
    Photo("sklearn-china", "scikit-learn", "datasets/images/china.jpg", "8378025ad2519d649d02e32bd98990db4ab572357d9f09841c2fbfbb4fefad29", "CC-BY-2.0", "danielbuechele (Flickr)"),
    Photo("sklearn-flower", "scikit-learn", "datasets/images/flower.jpg", "a77f6ec41e353afdf8bdff2ea981b2955535d8d83294f8cfa49cf4e423dd5638", "CC-BY-2.0", "vultilion (Flickr)"),
)  # fmt: skip

# Licence texts each package's photos point to, besides its Debian copyright file.
EXTRA_LICENCE_FILES: dict[str, list[str]] = {
    "mate-backgrounds": ["/usr/share/common-licenses/GPL-2"],
    "plasma-workspace-wallpapers": [
        "/usr/share/common-licenses/GPL-2",
        "/usr/share/common-licenses/LGPL-3",  # what each wallpaper's metadata.json says
    ],
    "scikit-image": ["/usr/share/common-licenses/CC0-1.0"],
}
PYTHON_PACKAGES = {"scikit-image": "skimage", "scikit-learn": "sklearn"}  # distribution: module


# -- the rules (pure) --------------------------------------------------------------------------
def split_of(source_sha256: str) -> str:
    """``heldout`` or ``train`` for the photo whose file has this sha256 (hex). Stable across
    machines and package mirrors: it depends on the photo's bytes alone."""
    if len(source_sha256) != 64:
        raise ValueError(f"split_of needs a 64-digit hex sha256, got {source_sha256!r}")
    return "heldout" if int(source_sha256[:16], 16) % HELDOUT_MODULUS == 0 else "train"


def grid_boxes(
    width: int, height: int, crop_px: int = CROP_PX, max_short: int = MAX_SHORT_PX
) -> list[tuple[int, int, int, int]]:
    """Square cells (x0, y0, x1, y1) in source pixels, centred and non-overlapping, each
    ``crop_px`` output pixels once the shorter side is scaled to at most ``max_short``."""
    short = min(width, height)
    scale = min(1.0, max_short / short)
    cell = min(short, round(crop_px / scale))
    cols, rows = width // cell, height // cell
    x0, y0 = (width - cols * cell) // 2, (height - rows * cell) // 2
    return [
        (x0 + c * cell, y0 + r * cell, x0 + (c + 1) * cell, y0 + (r + 1) * cell)
        for r in range(rows)
        for c in range(cols)
    ]


def is_grey(rgb: np.ndarray, tolerance: int = GREY_TOLERANCE) -> bool:
    """True when no pixel's channels differ by more than ``tolerance`` levels."""
    return int((rgb.max(axis=2) - rgb.min(axis=2)).max()) <= tolerance


def crop_name(photo_id: str, cell: int) -> str:
    return f"{photo_id}-{cell}.jpg"


def encode_jpeg(pixels: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """JPEG bytes of an RGB (H, W, 3) or grey (H, W) uint8 array; same input, same bytes."""
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def cut(pixels: np.ndarray, box: tuple[int, int, int, int], side: int) -> np.ndarray:
    """The box of ``pixels``, downscaled (area averaging) to side x side."""
    x0, y0, x1, y1 = box
    crop = pixels[y0:y1, x0:x1]
    if crop.shape[0] == side:
        return np.ascontiguousarray(crop)
    return cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)


# -- sources -----------------------------------------------------------------------------------
def source_path(photo: Photo) -> Path:
    module = PYTHON_PACKAGES.get(photo.package)
    if module is None:
        return Path(photo.file)
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"{photo.id}: Python package {photo.package} is not installed")
    return Path(spec.origin).parent / photo.file


def package_versions(packages: list[str]) -> dict[str, str | None]:
    """Installed version of each Debian package or Python distribution; None when missing."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from build_fonts import package_versions as debian_versions  # the same dpkg-query

    out = debian_versions([p for p in packages if p not in PYTHON_PACKAGES])
    for package in packages:
        if package in PYTHON_PACKAGES:
            try:
                out[package] = importlib.metadata.version(package)
            except importlib.metadata.PackageNotFoundError:
                out[package] = None
    return out


def ensure_packages(photos: list[Photo], install: bool) -> dict[str, str]:
    packages = sorted({p.package for p in photos})
    versions = package_versions(packages)
    debs = [p for p, v in versions.items() if v is None and p not in PYTHON_PACKAGES]
    if debs and install:
        cmd = ["apt-get", "install", "-y", "--no-install-recommends", *debs]
        subprocess.run(cmd, check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        versions = package_versions(packages)
    missing = [p for p, v in versions.items() if v is None]
    if missing:
        lines = [f"missing packages: {' '.join(missing)}; install them with:"]
        if debs := [p for p in missing if p not in PYTHON_PACKAGES]:
            lines.append(f"  apt-get install -y --no-install-recommends {' '.join(debs)}")
            lines.append("  (or run this script with --install; apt-get update first if not found)")
        if pips := [p for p in missing if p in PYTHON_PACKAGES]:
            lines.append(f"  pip install {' '.join(pips)}    # or: pip install -e '.[photos]'")
        sys.exit("\n".join(lines))
    return {p: v for p, v in versions.items() if v is not None}


def check_source(photo: Photo, path: Path) -> None:
    """The file is the photo that was reviewed: same bytes as pinned in PHOTOS."""
    if not path.is_file():
        raise FileNotFoundError(f"{photo.id}: {path} is missing from package {photo.package}")
    sha = sha256_file(path)
    if sha != photo.sha256:
        raise ValueError(
            f"{photo.id}: {path} has sha256 {sha}, PHOTOS pins {photo.sha256}: the package "
            f"{photo.package} changed the photo. Look at the new file (a photo? any text?), "
            "then update the pin; its split may change with it"
        )


# -- licences ----------------------------------------------------------------------------------
def licence_files(package: str) -> list[str]:
    """Names, inside a LICENSES folder, of the licence texts of ``package``'s photos."""
    if package == "scikit-image":
        names = ["scikit-image.data.txt"]
    elif package == "scikit-learn":
        names = ["scikit-learn.images-README.txt"]
    else:
        names = [f"{package}.copyright.txt"]
    return names + [f"{Path(src).name}.txt" for src in EXTRA_LICENCE_FILES.get(package, [])]


def write_licences(lic_dir: Path, photos: list[Photo]) -> None:
    """The licence texts of ``photos``' packages, and a README saying what the crops are."""
    if lic_dir.exists():
        shutil.rmtree(lic_dir)
    lic_dir.mkdir(parents=True)
    packages = sorted({p.package for p in photos})
    for package in packages:
        out = lic_dir / licence_files(package)[0]
        if package == "scikit-image":
            import skimage.data

            # The images' licences are stated in the docstrings of their loaders.
            parts = [
                f"== skimage/{p.file} (skimage.data.{Path(p.file).stem})\n\n"
                f"{inspect.getdoc(getattr(skimage.data, Path(p.file).stem))}\n"
                for p in photos
                if p.package == package
            ]
            out.write_text("\n".join(parts), encoding="utf-8")
        elif package == "scikit-learn":
            first = next(p for p in photos if p.package == package)
            shutil.copyfile(source_path(first).parent / "README.txt", out)
        else:
            shutil.copyfile(f"/usr/share/doc/{package}/copyright", out)
        for src in EXTRA_LICENCE_FILES.get(package, []):
            shutil.copyfile(src, lic_dir / f"{Path(src).name}.txt")
    lines = [
        "# Licences of the photo crops",
        "",
        "Every crop next to a manifest.json is a square cut of a photograph from the package it",
        "names, downscaled and re-encoded as JPEG (these are the changes made to the original).",
        "Each crop stays under its photo's licence; the manifest names the photo's file, sha256,",
        "author and licence. `<package>.copyright.txt` is the Debian copyright file of that",
        "package; `scikit-image.data.txt` quotes scikit-image's own notes on each sample image;",
        "`scikit-learn.images-README.txt` is scikit-learn's note on its two sample images.",
        "`python tools/build_photos.py` rebuilds everything from the packages.",
        "",
        "| photo | licence | author | package | texts |",
        "| --- | --- | --- | --- | --- |",
    ]
    for p in photos:
        texts = ", ".join(licence_files(p.package))
        lines.append(f"| {p.id} | {p.licence} | {p.author} | {p.package} | {texts} |")
    (lic_dir / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


# -- building ----------------------------------------------------------------------------------
def build_photo(
    photo: Photo, version: str, out_dir: Path, licence_prefix: str
) -> list[dict[str, Any]]:
    """Writes every crop of one photo into ``out_dir``; returns their manifest entries."""
    path = source_path(photo)
    check_source(photo, path)
    rgb = open_image(path, mode="RGB", name=f"{photo.id} ({path})")  # (H, W, 3)
    grey = is_grey(rgb)
    pixels = rgb[..., 0] if grey else rgb  # grey photos stay single-channel
    height, width = rgb.shape[:2]
    source = {
        "id": photo.id,
        "package": photo.package,
        "version": version,
        "file": f"{module}/{photo.file}"
        if (module := PYTHON_PACKAGES.get(photo.package))
        else str(path),
        "sha256": photo.sha256,
        "width": width,
        "height": height,
        "licence": photo.licence,
        "author": photo.author,
        "licence_files": [licence_prefix + n for n in licence_files(photo.package)],
    }
    entries = []
    for cell, box in enumerate(grid_boxes(width, height)):
        side = min(CROP_PX, box[2] - box[0])
        data = encode_jpeg(cut(pixels, box, side))
        name = crop_name(photo.id, cell)
        (out_dir / name).write_bytes(data)
        entries.append(
            {
                "file": name,
                "sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
                "width": side,
                "height": side,
                "colour": "grey" if grey else "rgb",
                "split": split_of(photo.sha256),
                "box": list(box),  # x0, y0, x1, y1 in source pixels, before the downscale
                "source": source,
            }
        )
    return entries


def clear_previous(out_dir: Path) -> None:
    """Removes the crops an earlier build listed, and nothing else the folder may hold."""
    manifest = out_dir / MANIFEST
    if not manifest.is_file():
        return
    for entry in json.loads(manifest.read_text(encoding="utf-8"))["crops"]:
        (out_dir / entry["file"]).unlink(missing_ok=True)
    manifest.unlink()


def build_split(
    split: str, out_dir: Path, lic_dir: Path, versions: dict[str, str]
) -> list[dict[str, Any]]:
    photos = [p for p in PHOTOS if split_of(p.sha256) == split]
    out_dir.mkdir(parents=True, exist_ok=True)
    clear_previous(out_dir)
    write_licences(lic_dir, photos)
    prefix = os.path.relpath(lic_dir, out_dir).replace(os.sep, "/") + "/"
    crops: list[dict[str, Any]] = []
    for photo in photos:
        crops += build_photo(photo, versions[photo.package], out_dir, prefix)
    manifest = {
        "format": 1,
        "split": split,
        "generated_by": "python tools/build_photos.py",
        "split_rule": f"heldout when int(source sha256[:16], 16) % {HELDOUT_MODULUS} == 0",
        "crop_rule": {
            "crop_px": CROP_PX,
            "max_short_px": MAX_SHORT_PX,
            "jpeg_quality": JPEG_QUALITY,
        },
        "libraries": {
            "pillow": importlib.metadata.version("pillow"),
            "opencv": cv2.__version__,
        },
        "photos": len(photos),
        "crops": crops,
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=1) + "\n"
    (out_dir / MANIFEST).write_text(text, encoding="utf-8")
    size = sum(c["bytes"] for c in crops)
    grey = sorted({c["source"]["id"] for c in crops if c["colour"] == "grey"})
    print(
        f"{split}: {len(crops)} crops of {len(photos)} photos, {size / 2**20:.1f} MiB, "
        f"grey photos {grey}, in {out_dir}"
    )
    return crops


# -- text screen -------------------------------------------------------------------------------
def find_text(out_dir: Path, crops: list[dict[str, Any]], min_score: float) -> list[str]:
    """Crops in which PP-OCRv4 (detection + recognition, from rapidocr-onnxruntime) reads
    something with at least ``min_score`` confidence: candidates to drop from PHOTOS."""
    from rapidocr_onnxruntime import RapidOCR

    engine = RapidOCR()
    found = []
    for c in crops:
        rgb = open_image(out_dir / c["file"], mode="RGB")
        result, _ = engine(np.ascontiguousarray(rgb[..., ::-1]))  # rapidocr takes BGR
        # Single characters are left out: on leaves and grass PP-OCRv4 reads a stray "9" or "O"
        # at 0.6-0.8 confidence; real lettering comes as strings.
        texts = [
            (t, round(float(s), 3))
            for _, t, s in result or []
            if float(s) >= min_score and len(t.replace(" ", "")) >= 2
        ]
        if texts:
            found.append(f"{c['file']}: {texts}")
    return found


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--split", default="both", help="train, heldout or both (default)")
    ap.add_argument(
        "--out", type=Path, default=DEFAULT_TRAIN_OUT, help=f"train folder ({DEFAULT_TRAIN_OUT})"
    )
    ap.add_argument("--heldout-out", type=Path, default=HELDOUT_DIR, help="held-out folder")
    ap.add_argument("--install", action="store_true", help="apt-get install missing packages")
    ap.add_argument(
        "--check-text", action="store_true", help="run OCR on every crop; fail if it reads text"
    )
    ap.add_argument("--min-score", type=float, default=0.6, help="--check-text confidence")
    args = ap.parse_args(argv)
    if args.split not in ("train", "heldout", "both"):
        raise ValueError(f"unknown --split {args.split!r}: use train, heldout or both")
    return args


def main(args: argparse.Namespace) -> int:
    splits = SPLITS if args.split == "both" else (args.split,)
    photos = [p for p in PHOTOS if split_of(p.sha256) in splits]
    versions = ensure_packages(photos, args.install)
    built = {}
    for split in splits:
        out_dir = args.heldout_out if split == "heldout" else args.out
        lic_dir = LICENSES_DIR if out_dir == HELDOUT_DIR else out_dir / "LICENSES"
        built[split] = (out_dir, build_split(split, out_dir, lic_dir, versions))

    problems = []
    if "heldout" in built:
        size = sum(c["bytes"] for c in built["heldout"][1])
        if size > MAX_HELDOUT_BYTES:
            problems.append(f"held-out crops take {size / 2**20:.1f} MiB, over the 20 MiB limit")
    if args.check_text:
        for out_dir, crops in built.values():
            problems += [f"text found in {t}" for t in find_text(out_dir, crops, args.min_score)]
    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(parse_args()))
