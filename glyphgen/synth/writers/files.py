"""Loose image files, written once per shard for every format whose labels point at them."""

from __future__ import annotations

from pathlib import Path

from glyphgen.synth.record import Sample
from glyphgen.synth.writers.base import GLYPH_DIR, IMAGES_DIR, MASK_DIR


class LooseFiles:
    """``images/<key>.<ext>``, and ``glyph/<key>.png`` / ``mask/<key>.png`` when present; for
    edit pairs ``source/``, ``mask_a/``, ``mask_b/``, ``style_ref/`` too."""

    def __init__(self, shard_dir: Path) -> None:
        self.shard_dir = Path(shard_dir)
        self._made: set[str] = set()

    def _write(self, folder: str, name: str, data: bytes) -> None:
        target = self.shard_dir / folder
        if folder not in self._made:
            target.mkdir(parents=True, exist_ok=True)
            self._made.add(folder)
        (target / name).write_bytes(data)

    def add(self, sample: Sample) -> None:
        self._write(IMAGES_DIR, f"{sample.key}.{sample.image_ext}", sample.image_bytes)
        if sample.glyph_png is not None:
            self._write(GLYPH_DIR, f"{sample.key}.png", sample.glyph_png)
        if sample.mask_png is not None:
            self._write(MASK_DIR, f"{sample.key}.png", sample.mask_png)
        for folder, data in sample.edit_pngs.items():
            self._write(folder, f"{sample.key}.png", data)
