"""One image loader for every path: pixel limit from the header, truncated files refused."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from glyphgen.images import ImageRefused, open_image


def _png_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def _bomb_png(side: int) -> bytes:
    """A valid PNG header claiming side x side grey pixels, with a tiny compressed body."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (side + 1) * 16)  # only 16 rows: never decoded anyway
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def test_reads_rgb_and_grey_and_composites_alpha_on_white(tmp_path):
    rgba = np.zeros((4, 5, 4), np.uint8)  # fully transparent black
    path = tmp_path / "a.png"
    Image.fromarray(rgba).save(path)
    rgb = open_image(path)
    assert rgb.shape == (4, 5, 3) and rgb.dtype == np.uint8
    assert (rgb == 255).all()
    assert open_image(path.read_bytes(), mode="L").shape == (4, 5)


@pytest.mark.parametrize("side", [12000, 30000])
def test_refuses_over_the_pixel_limit_before_decoding(side):
    bomb = _bomb_png(side)
    assert len(bomb) < 2000
    with pytest.raises(ImageRefused, match=r"upload\.png") as info:
        open_image(bomb, name="upload.png")
    assert info.value.kind == "too-large"


def test_the_limit_is_configurable():
    small = _png_bytes(np.zeros((10, 10, 3), np.uint8))
    assert open_image(small, max_pixels=100).shape == (10, 10, 3)
    with pytest.raises(ImageRefused) as info:
        open_image(small, max_pixels=99)
    assert info.value.kind == "too-large"


def test_truncated_jpeg_is_refused_not_padded_grey(tmp_path):
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, format="JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageRefused) as info:
        open_image(path)
    assert info.value.kind == "truncated"
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("content", "kind"),
    [(None, "missing"), (b"not an image", "unreadable")],
    ids=["missing", "junk"],
)
def test_missing_and_junk_files_are_named(tmp_path, content, kind):
    path = tmp_path / "x.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImageRefused) as info:
        open_image(path)
    assert info.value.kind == kind
    assert str(path) in str(info.value)
