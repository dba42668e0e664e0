"""Backgrounds: procedural ones (no assets needed) and random crops of user image folders.

User images go through ``glyphgen.images.open_image``: one over ``background.max_pixels``
(read from its header, nothing decoded), truncated, or unreadable is refused, named in one
warning per process, recorded in the sample's meta (``bg.refused``: path -> kind) and another
image is drawn. A refusal is a property of the file, so the outcome, like every draw, does not
depend on which worker renders the sample.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from glyphgen.images import DEFAULT_MAX_PIXELS, ImageRefused, open_image
from glyphgen.paths import resolve_data_path
from glyphgen.synth.choices import Choices

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
PROCEDURAL = ("solid", "gradient", "noise", "texture")


def list_images(dirs: list[str], base_dir: Path | None = None) -> list[Path]:
    """Image files under ``dirs``, sorted so every worker sees the same list. A relative folder
    is looked for where the command runs, then beside the config, then in the repository
    (bundled photos: ``glyphgen/data/photos/heldout``)."""
    files: list[Path] = []
    for name in dirs:
        folder = resolve_data_path(name, base_dir)
        if not folder.is_dir():
            raise ValueError(
                f"background.image_dirs: {name} is not a folder (looked in the current folder, "
                "beside the config and in the repository)"
            )
        files.extend(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if dirs and not files:
        raise ValueError(f"background.image_dirs {dirs} hold no images ({sorted(IMAGE_SUFFIXES)})")
    return sorted(files)


class BackgroundImages:
    """The user's background images, decoded on demand; refusals remembered per process, so a
    bad file costs one header read (or one failed decode), not one per draw."""

    def __init__(self, paths: list[Path], max_pixels: int = DEFAULT_MAX_PIXELS):
        self.paths = list(paths)
        self.max_pixels = max_pixels
        self._refused: dict[Path, ImageRefused] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def load(self, path: Path) -> np.ndarray:
        """RGB uint8 (H, W, 3) pixels of ``path``; raises ``ImageRefused``."""
        known = self._refused.get(path)
        if known is not None:
            raise known
        try:
            return open_image(path, "RGB", max_pixels=self.max_pixels)
        except ImageRefused as exc:
            self._refused[path] = exc
            log.warning("background image skipped: %s", exc)
            raise


def _colour(rng: np.random.Generator) -> list[int]:
    return [int(v) for v in rng.integers(0, 256, size=3)]


def make_background(
    ch: Choices, width: int, height: int, kinds: dict[str, float], images: BackgroundImages
) -> tuple[np.ndarray, str]:
    """An RGB uint8 (height, width, 3) background and the kind used."""
    weights = dict(kinds)
    if not images:
        weights.pop("image", None)
    kind = ch.pick("kind", weights)
    if kind == "solid":
        return np.full((height, width, 3), ch.get("colour", _colour), np.uint8), kind
    if kind == "gradient":
        a = np.array(ch.get("colour_a", _colour), np.float32)
        b = np.array(ch.get("colour_b", _colour), np.float32)
        angle = np.radians(ch.uniform("angle", (0.0, 360.0)))
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        t = xx * np.cos(angle) + yy * np.sin(angle)
        t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
        return (a + (b - a) * t[..., None]).astype(np.uint8), kind
    if kind == "noise":
        # trdg's "gaussian noise" background: light grey with per-pixel gaussian noise.
        mean = ch.uniform("mean", (200.0, 245.0))
        std = ch.uniform("std", (5.0, 20.0))
        rng = np.random.default_rng(ch.seed("noise_seed"))
        grey = rng.normal(mean, std, size=(height, width)).clip(0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2), kind
    if kind == "texture":
        return _texture(ch, width, height), kind
    if kind == "image":
        return _image_crop(ch, width, height, images), kind
    raise ValueError(f"unknown background kind {kind!r}; use {[*PROCEDURAL, 'image']}")


def _texture(ch: Choices, width: int, height: int) -> np.ndarray:
    """Two colours blended by smooth value noise (a few octaves), like paper or plaster."""
    a = np.array(ch.get("colour_a", _colour), np.float32)
    b = np.array(ch.get("colour_b", _colour), np.float32)
    rng = np.random.default_rng(ch.seed("noise_seed"))
    field = np.zeros((height, width), np.float32)
    for octave, cells in enumerate((4, 16, 64)):
        grid = rng.random((cells, cells)).astype(np.float32)
        field += cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC) / (2**octave)
    field = (field - field.min()) / max(float(field.max() - field.min()), 1e-6)
    return (a + (b - a) * field[..., None]).clip(0, 255).astype(np.uint8)


def _image_crop(ch: Choices, width: int, height: int, images: BackgroundImages) -> np.ndarray:
    # A refused file is recorded and another one is drawn; bounded, never an endless loop.
    for attempt in range(8):
        index = int(ch.get(f"image_{attempt}", lambda r: r.integers(len(images))))
        path = images.paths[index]
        try:
            img = images.load(path)
        except ImageRefused as exc:
            ch.meta.setdefault("refused", {})[str(path)] = exc.kind
            continue
        ch.meta["image"] = str(path)
        h, w = img.shape[:2]
        scale = max(width / w, height / h) * ch.uniform("zoom", (1.0, 1.5))
        img = cv2.resize(img, (max(width, round(w * scale)), max(height, round(h * scale))))
        h, w = img.shape[:2]
        x = round(ch.uniform("x_frac", (0.0, 1.0)) * (w - width))
        y = round(ch.uniform("y_frac", (0.0, 1.0)) * (h - height))
        return np.ascontiguousarray(img[y : y + height, x : x + width])
    ch.meta["fallback"] = "noise"
    return np.full((height, width, 3), 235, np.uint8)
