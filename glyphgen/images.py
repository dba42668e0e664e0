"""Opening images safely: the one function every path that reads an image goes through.

A compressed file can be tiny and decode to gigabytes (a 173 KB PNG of 30000x30000 decodes to
2.7 GB of RGB). So the size is read from the header, before any pixel is decoded, and checked
against a pixel limit; truncated files are refused rather than silently padded with grey (PIL's
``LOAD_TRUNCATED_IMAGES`` stays off). Every refusal is an :class:`ImageRefused` that names the
input, the reason (a short ``kind`` callers count by) and what to do about it.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

# Generous enough for any camera photo (a 40 Mpx phone picture is 7300x5500), small enough that
# one decode stays under ~120 MB of RGB.
DEFAULT_MAX_PIXELS = 40_000_000


class ImageRefused(ValueError):
    """An image that was not decoded. ``kind`` is one of ``missing``, ``unreadable``,
    ``too-large``, ``truncated``: short names for counting skips in run reports."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _describe(source: str | Path | bytes, name: str | None) -> str:
    if name:
        return name
    if isinstance(source, bytes):
        return f"<{len(source)} bytes>"
    return str(source)


def open_image(
    source: str | Path | bytes,
    mode: str = "RGB",
    max_pixels: int = DEFAULT_MAX_PIXELS,
    name: str | None = None,
) -> np.ndarray:
    """Decode ``source`` (a path or the file's bytes) to a uint8 array in ``mode`` (``RGB`` or
    ``L``). Transparent pixels are composited onto white. ``name`` is how errors call the input
    (for uploads and archive members); by default its path.

    Raises :class:`ImageRefused` for a missing, unreadable, truncated or over-limit image.
    """
    if mode not in ("RGB", "L"):
        raise ValueError(f"unknown mode {mode!r}: use 'RGB' or 'L'")
    what = _describe(source, name)
    if not isinstance(source, bytes):
        path = Path(source)
        if path.is_dir():
            raise ImageRefused("missing", f"image {what} is a folder, not an image file")
        if not path.is_file():
            raise ImageRefused("missing", f"image {what} does not exist")
    stream = io.BytesIO(source) if isinstance(source, bytes) else Path(source)
    try:
        with warnings.catch_warnings():
            # PIL's own bomb warning is replaced by our check just below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(stream) as im:
                width, height = im.size  # from the header: nothing decoded yet
                if width * height > max_pixels:
                    raise ImageRefused(
                        "too-large",
                        f"image {what} is {width}x{height} = {width * height:,} pixels, over the "
                        f"limit of {max_pixels:,}; downscale it (or raise the pixel limit)",
                    )
                im.load()
                return np.asarray(_to_mode(im, mode))
    except ImageRefused:
        raise
    except Image.DecompressionBombError as exc:  # PIL refuses these at open, past 2x its own limit
        raise ImageRefused(
            "too-large", f"image {what} is over the limit of {max_pixels:,} pixels ({exc})"
        ) from exc
    except UnidentifiedImageError as exc:
        raise ImageRefused("unreadable", f"image {what} cannot be decoded: {exc}") from exc
    except OSError as exc:
        kind = "truncated" if "truncated" in str(exc) else "unreadable"
        raise ImageRefused(
            kind, f"image {what} cannot be decoded ({exc}); re-export or remove it"
        ) from exc
    except (ValueError, SyntaxError) as exc:  # PIL raises these for some malformed headers
        raise ImageRefused("unreadable", f"image {what} cannot be decoded: {exc}") from exc


def _to_mode(im: Image.Image, mode: str) -> Image.Image:
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)
    return im.convert(mode)
