"""Background images: over-limit, truncated and unreadable files are refused, named, counted."""

import io
import json
import logging
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile
from test_runner import FAST, _digest_tree

from glyphgen.images import ImageRefused, open_image
from glyphgen.synth import background
from glyphgen.synth import shards as sh
from glyphgen.synth.background import BackgroundImages
from glyphgen.synth.config import fingerprint_dict, load_config
from glyphgen.synth.runner import run


def _bomb_png(side: int) -> bytes:
    """A valid PNG header claiming side x side grey pixels, with a tiny body (173 KB would do
    the same for real): decoding it would take side * side bytes."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (side + 1) * 16)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def _photo(seed: int, size: tuple[int, int]) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8))


def _image_folder(root: Path) -> dict[str, str]:
    """One good photo and one of each kind of bad file; returns bad file -> refusal kind."""
    folder = root / "bg"
    folder.mkdir()
    _photo(0, (96, 128)).save(folder / "good.png")
    _photo(1, (300, 400)).save(folder / "big.png")  # over the run's 20,000-pixel limit
    buf = io.BytesIO()
    _photo(2, (96, 128)).save(buf, format="JPEG", quality=90)
    (folder / "cut.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (folder / "junk.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    return {
        str(folder / "big.png"): "too-large",
        str(folder / "cut.jpg"): "truncated",
        str(folder / "junk.png"): "unreadable",
    }


def test_a_huge_background_is_refused_from_its_header_without_decoding(tmp_path, monkeypatch):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_bomb_png(30000))  # 900 Mpx of grey

    def no_decoding(self):
        raise AssertionError("the image's pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    opened = []
    monkeypatch.setattr(
        background, "open_image", lambda *a, **k: opened.append(a) or open_image(*a, **k)
    )
    images = BackgroundImages([bomb])  # the default limit: glyphgen.images.DEFAULT_MAX_PIXELS
    for _ in range(3):  # and once refused, not opened again
        with pytest.raises(ImageRefused, match=r"bomb\.png is over the limit") as refused:
            images.load(bomb)
        assert refused.value.kind == "too-large"
    assert len(opened) == 1


def test_refused_backgrounds_are_skipped_named_once_and_counted_by_kind(tmp_path, caplog):
    bad = _image_folder(tmp_path)
    cfg = load_config(
        preset="lines",
        overrides=[*FAST, "background.max_pixels=20000"],
        extra={
            "num": 12,
            "background": {"kinds": {"image": 1.0}, "image_dirs": [str(tmp_path / "bg")]},
        },
    )
    with caplog.at_level(logging.WARNING, logger="glyphgen.synth.background"):
        one = run(cfg, tmp_path / "one", workers=1, progress=False)
    assert one.samples_written == 12
    saved = json.loads((tmp_path / "one" / "report.json").read_text(encoding="utf-8"))
    assert saved["backgrounds_refused"] == bad
    drawn = sum(v for k, v in saved["events"].items() if k.startswith("background_refused_"))
    assert drawn >= len(bad)  # every draw of a bad file counted, by kind
    assert set(saved["events"]) >= {f"background_refused_{kind}" for kind in bad.values()}
    for path in bad:  # named in one warning, however often it was drawn
        assert sum(Path(path).name in r.getMessage() for r in caplog.records) == 1
    labels = (tmp_path / "one" / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    used = {json.loads(x)["meta"]["bg"].get("image") for x in labels}
    assert used <= {str(tmp_path / "bg" / "good.png"), None}  # None: all 8 draws were bad
    two = run(cfg, tmp_path / "two", workers=2, progress=False)
    assert two.backgrounds_refused == bad
    assert _digest_tree(tmp_path / "one") == _digest_tree(tmp_path / "two")


def test_the_pixel_limit_is_part_of_the_fingerprint_only_when_images_are_read(tmp_path):
    def fp(*overrides: str) -> str:
        return sh.fingerprint(fingerprint_dict(load_config(preset="lines", overrides=[*overrides])))

    assert fp() == fp("background.max_pixels=1000")  # earlier runs' folders stay resumable
    dirs = f"background.image_dirs=[{tmp_path}]"
    assert fp(dirs) != fp(dirs, "background.max_pixels=1000")
