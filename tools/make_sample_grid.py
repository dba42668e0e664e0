"""Draws the README's picture of the factory: line crops, scenes with their annotations,
glyph control images and position masks.

    python tools/make_sample_grid.py            # writes docs/img/synth_samples.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from glyphgen.synth.config import load_config
from glyphgen.synth.render import Renderer
from glyphgen.synth.runner import load_fonts

ROOT = Path(__file__).resolve().parents[1]


def _outline(img: np.ndarray, sample) -> np.ndarray:
    """Line polygons in green, character quads in red."""
    out = img.copy()
    for line in sample.lines:
        for char in line.chars:
            cv2.polylines(out, [np.round(char.quad).astype(np.int32)], True, (255, 60, 60), 1)
        cv2.polylines(out, [np.round(line.polygon).astype(np.int32)], True, (40, 220, 40), 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "synth_samples.png")
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()

    lines_cfg = load_config(
        preset="lines", overrides=["layout.vertical=0"], extra={"seed": args.seed}
    )
    renderer = Renderer(lines_cfg, load_fonts(lines_cfg))
    crops = [s.pixels.copy() for s in (renderer.render(i) for i in range(12)) if s]
    tile_w = 512 * 4 + 3 * 8
    strip_rows, row, x = [], [], 0
    for crop in crops:  # pack the 48-px crops into rows as wide as the scene row
        if x + crop.shape[1] > tile_w and row:
            strip_rows.append(row)
            row, x = [], 0
        row.append(crop)
        x += crop.shape[1] + 8
    strip_rows.append(row)
    canvas_rows = []
    for r in strip_rows:
        band = np.full((48, tile_w, 3), 255, np.uint8)
        x = 0
        for crop in r:
            band[:, x : x + crop.shape[1]] = crop[:, : tile_w - x]
            x += crop.shape[1] + 8
        canvas_rows.append(band)

    scene_cfg = load_config(
        preset="scenes-diffusion",
        overrides=["layout.curve_prob=0.3", "layout.vertical=0.5"],
        extra={"seed": args.seed},
    )
    det_cfg = load_config(preset="scenes-det", extra={"seed": args.seed})
    for cfg, index in ((scene_cfg, 1), (det_cfg, 2)):
        sample = Renderer(cfg, load_fonts(cfg)).render(index)
        assert sample is not None
        img = sample.pixels
        tiles = [img, _outline(img, sample)]
        if sample.glyph_image is not None:
            tiles.append(np.repeat(sample.glyph_image[..., None], 3, axis=2))
        if sample.position_mask is not None:
            tiles.append(np.repeat(sample.position_mask[..., None], 3, axis=2))
        while len(tiles) < 4:
            tiles.append(np.full_like(img, 255))
        gap = np.full((512, 8, 3), 255, np.uint8)
        canvas_rows.append(
            np.hstack([t if i == 0 else np.hstack([gap, t]) for i, t in enumerate(tiles)])
        )
    sep = np.full((8, tile_w, 3), 255, np.uint8)
    grid = np.vstack([r if i == 0 else np.vstack([sep, r]) for i, r in enumerate(canvas_rows)])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(args.out, optimize=True)
    print(f"wrote {args.out} ({grid.shape[1]}x{grid.shape[0]})")


if __name__ == "__main__":
    main()
