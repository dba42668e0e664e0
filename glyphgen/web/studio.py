"""The page's work, without HTTP: parse a render request, draw it with the glyph model,
and judge the drawn region with the evaluator's OCR. The server (``server.py``) only moves
bytes in and out of these functions.

Every request's work is bounded before any is done: the uploaded background by its pixel
count (read from the image header, before decoding), the box by its side ratio (the model's
crop grows with it: a 2048x12 box held the model for 34 s), the wait for the model by
``DeskLimits.lock_wait_s`` (then :class:`Busy`, which the server answers with 503)."""

from __future__ import annotations

import base64
import binascii
import io
import math
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from glyphgen import cmdline
from glyphgen.eval.backends import Recognizer, create_backend
from glyphgen.eval.config import NormalizeConfig
from glyphgen.eval.crops import CropError, read_region
from glyphgen.eval.metrics import score
from glyphgen.eval.normalize import normalize
from glyphgen.eval.testing import describe_diff
from glyphgen.images import ImageRefused, open_image
from glyphgen.paths import DATA_DIR, REPO_ROOT

MAX_SIDE = 2048  # pixels; larger uploads are refused with this number in the message
MAX_PIXELS = MAX_SIDE * MAX_SIDE  # checked from the header, before a pixel is decoded
MAX_TEXT = 24  # characters: the model's text encoder reads at most this many
# The box's long side over its short side. The model's crop is as long as the box's ratio
# times its fixed height, and its time grows with that length (measured on 2 busy cores:
# 8 s at 4:1, 13 s at 8:1, 26 s at 16:1); 24:1 still fits 24 square characters in a row.
MAX_ASPECT = 24.0
MIN_BOX_SIDE = 12  # pixels
MAX_SEED = 2**32 - 1  # torch seeds are 64-bit; the page sends small ones
PRESET_SIZE = (640, 360)
# The page reads every render back anyway, so verifying costs only the redraws (README,
# "Verified rendering"): on unless the request says "verify": false.
VERIFY_ON_PAGE = True


class AskError(ValueError):
    """A render request the page cannot carry out; the message names the field and the fix."""


class Busy(RuntimeError):
    """The model was busy for longer than the desk waits; ``retry_after_s`` is a hint."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class RenderAsk:
    text: str
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in image pixels
    vertical: bool = False
    seed: int = 0
    colour: tuple[int, int, int] | None = None  # the text's fill; None: the old text's own
    verify: bool = VERIFY_ON_PAGE  # read back and redrawn until exact (glyphgen.render.verify)


def preset_backgrounds() -> dict[str, np.ndarray]:
    """Backgrounds to pick, made here (the repository ships no photographs)."""
    w, h = PRESET_SIZE
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rng = np.random.default_rng(7)

    def blend(a: tuple[int, int, int], b: tuple[int, int, int], t: np.ndarray) -> np.ndarray:
        t = t[..., None]
        return (np.array(a, np.float32) * (1 - t) + np.array(b, np.float32) * t).astype(np.uint8)

    paper = blend((244, 238, 222), (226, 214, 190), _smooth_noise(rng, h, w))
    board = np.empty((h, w, 3), np.uint8)
    board[:] = (150, 22, 28)
    board[12:-12, 12:-12] = (178, 34, 38)
    board[18:-18, 18:-18] = blend((186, 38, 40), (160, 26, 30), yy[18:-18, 18:-18] / h)
    poster = blend((24, 40, 88), (92, 160, 200), (xx + yy) / (w + h))
    wall = blend((120, 120, 116), (168, 166, 160), _smooth_noise(rng, h, w))
    return {"paper": paper, "red signboard": board, "blue poster": poster, "concrete": wall}


def _smooth_noise(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    out = np.zeros((h, w), np.float32)
    for cells, amp in ((4, 0.6), (16, 0.3), (64, 0.1)):
        coarse = Image.fromarray((rng.random((cells, cells * w // h)) * 255).astype(np.uint8))
        out += amp * np.asarray(coarse.resize((w, h), Image.Resampling.BICUBIC), np.float32) / 255
    return (out - out.min()) / max(float(out.max() - out.min()), 1e-6)


def _short(value: Any, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters: errors quote the input, not megabytes of it."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_number(value: Any) -> bool:
    # bool is an int to Python, not a coordinate to anyone
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_ask(payload: dict[str, Any], size: tuple[int, int]) -> RenderAsk:
    """The request's fields checked against the background of ``size`` (width, height)."""
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        raise AskError("text: type the text to draw (1 to 24 characters)")
    text = text.strip()
    control = next((c for c in text if unicodedata.category(c) == "Cc"), None)
    if control is not None:  # the page draws and judges one line
        raise AskError(f"text: one line only (U+{ord(control):04X} is a control character)")
    if len(text) > MAX_TEXT:
        raise AskError(f"text: {len(text)} characters; the model draws at most {MAX_TEXT}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate such as "\ud800" in the JSON
        raise AskError(f"text: {_short(text)} is not valid Unicode text") from exc
    box = payload.get("box")
    if not isinstance(box, list) or len(box) != 4 or not all(_is_number(v) for v in box):
        raise AskError("box: drag a box on the background (x0, y0, x1, y1 in pixels)")
    if not all(math.isfinite(v) for v in box):
        raise AskError(f"box: {_short(box)} has a number that is not finite; send 4 numbers")
    x0, x1 = sorted(float(v) for v in box[0::2])
    y0, y1 = sorted(float(v) for v in box[1::2])
    w, h = size
    if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
        raise AskError(f"box: {box} reaches outside the {w}x{h} background; drag inside it")
    short, long = sorted((x1 - x0, y1 - y0))
    if short < MIN_BOX_SIDE:
        raise AskError(f"box: at least {MIN_BOX_SIDE} pixels on each side; drag a larger box")
    if long / short > MAX_ASPECT:
        raise AskError(
            f"box: {x1 - x0:g}x{y1 - y0:g} pixels is {long / short:.0f}:1; at most "
            f"{MAX_ASPECT:g}:1 (long side to short side), drag a less elongated box"
        )
    seed = payload.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        raise AskError(f"seed: {_short(seed)} is not a whole number from 0 to {MAX_SEED}")
    vertical = payload.get("vertical", False)
    if not isinstance(vertical, bool):
        raise AskError(f"vertical: {_short(vertical)} is not true or false")
    verify = payload.get("verify", VERIFY_ON_PAGE)
    if not isinstance(verify, bool):
        raise AskError(f"verify: {_short(verify)} is not true or false")
    colour = _ask_colour(payload.get("color"))
    return RenderAsk(text, (x0, y0, x1, y1), vertical, seed, colour, verify)


def _ask_colour(value: Any) -> tuple[int, int, int] | None:
    """The request's "color": absent, null or "" leaves the colour to the old text."""
    if value is None or value == "":
        return None
    # cmdline.colour's own message repeats the value whole; this one shortens it
    refused = AskError(
        f'color: {_short(value)} is not "#RRGGBB" or "R,G,B" (each 0-255); '
        "send one, or leave it out for the old text's colour"
    )
    if not isinstance(value, str | list):
        raise refused
    try:
        return cmdline.colour(value)
    except ValueError:
        raise refused from None


def decode_image(data: str) -> np.ndarray:
    """An uploaded image as a ``data:image/...;base64,`` URL -> RGB uint8. The pixel count is
    read from the header and checked before decoding (a 0.9 MB PNG can hold 13000x13000)."""
    head, _, body = data.partition(",")
    if not head.startswith("data:image/") or ";base64" not in head:
        raise AskError("background: send an image as a data:image/...;base64 URL")
    try:
        raw = base64.b64decode(body, validate=True)
    except binascii.Error as exc:
        raise AskError(f"background: the base64 data is broken ({exc})") from exc
    try:
        image = open_image(raw, "RGB", max_pixels=MAX_PIXELS, name="upload")
    except ImageRefused as exc:
        if exc.kind == "too-large":  # its own advice ("raise the limit") is not the user's
            what = str(exc).split(";")[0]
            raise AskError(
                f"background: {what}; at most {MAX_SIDE}x{MAX_SIDE} pixels, please resize it"
            ) from exc
        # PIL's own words name a BytesIO at a memory address: the kind says enough
        message = f"background: not a readable image ({exc.kind}); upload a PNG or JPEG"
        raise AskError(message) from exc
    if max(image.shape[:2]) > MAX_SIDE:
        raise AskError(
            f"background: {image.shape[1]}x{image.shape[0]} pixels; at most {MAX_SIDE} on a "
            "side, please resize it"
        )
    return image


def png_bytes(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def encode_png(image: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


def box_polygon(box: tuple[float, float, float, float]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


JUDGE_NAMES = {"rapidocr": "PP-OCRv4", "glyphgen": "glyphgen reader"}


def judge_region(image: np.ndarray, record: dict[str, Any], judge: Recognizer) -> dict[str, Any]:
    """The evaluator's reading of one drawn region (a record ``render_regions`` wrote), by
    ``judge``: the evaluator's ``combined`` backend (PP-OCRv4 where it can output every
    character, else our reader; each gets columns cut its own way). A verified region's
    record adds how many tries it took and whether the classical edit stood in."""
    from glyphgen.render.verify import read_record

    try:
        reading = read_record(judge, image, record)
    except CropError as exc:
        raise AskError(f"box: the drawn region cannot be cropped for OCR ({exc})") from exc
    norm = NormalizeConfig()
    s = score(normalize(record["text"], norm), normalize(reading.text, norm))
    verdict = "exact" if s.exact else ("close" if s.ratio >= 0.8 else "wrong")
    return {
        "judge": JUDGE_NAMES.get(reading.judge, reading.judge),
        "target": s.target,
        "read": s.read,
        "confidence": round(float(reading.score), 3),
        "exact": s.exact,
        "ratio": round(s.ratio, 4),
        "ned": round(s.ned, 4),
        "verdict": verdict,
        "diff": "" if s.exact else describe_diff(s.target, s.read),
        "tries": record.get("tries"),  # None: not verified
        "fallback": record.get("fallback"),
    }


def weights_label(weights: Path) -> str:
    """How the page names the weights: relative to the bundled data (``weights/glyph-default``)
    or the checkout, else the folder and its parent (``RUN/weights``): never the absolute path,
    which tells a visitor about the disk."""
    path = Path(weights).resolve()
    for root in (DATA_DIR, REPO_ROOT):
        if path.is_relative_to(root):
            return path.relative_to(root).as_posix()
    return "/".join(path.parts[-2:])


def page_error(exc: Exception) -> AskError:
    """A render's refusal in the page's words: the field to change (text, box), no
    command-line flag."""
    from glyphgen.render.regions import TooSmallToRead
    from glyphgen.typeset.line import UncoveredCharacters

    if isinstance(exc.__cause__, UncoveredCharacters):
        chars = " ".join(f"{c} (U+{ord(c):04X})" for c in exc.__cause__.chars)
        return AskError(f"text: no font here can draw {chars}; change the text")
    if isinstance(exc, TooSmallToRead):
        w, h = exc.need
        return AskError(
            f"box: the text would be {exc.em:.1f} px a character in this box, too small to "
            f"read; drag a box of at least {w}x{h} pixels or shorten the text"
        )
    return AskError(str(exc))


@dataclass(frozen=True)
class Drawn:
    image: np.ndarray  # the background with the text drawn, RGB uint8
    annotation: dict[str, Any]  # the region's JSONL record (text, polygon, chars)
    verdict: dict[str, Any]  # judge_region's reading


# (background, checked request) -> the drawing; the model in Studio, a stub in tests
Draw = Callable[[np.ndarray, RenderAsk], Drawn]


@dataclass(frozen=True)
class DeskLimits:
    lock_wait_s: float = 20.0  # how long a request waits for the model before Busy (503)


class Desk:
    """Checks render requests and hands them to ``draw`` one at a time (the model is not
    reentrant and the machine has few cores). ``render`` is safe to call from many threads;
    everything before the model (parsing, decoding a background) is bounded and unlocked."""

    def __init__(
        self,
        draw: Draw,
        *,
        label: str,
        presets: dict[str, np.ndarray] | None = None,
        limits: DeskLimits = DeskLimits(),
    ) -> None:
        self.draw = draw
        self.label = label  # what /api/info shows as the weights
        self.presets = preset_backgrounds() if presets is None else presets
        self.limits = limits
        self._lock = threading.Lock()
        self._last_seconds = 5.0  # a first guess for Retry-After, then the last render's time

    def background(self, payload: dict[str, Any]) -> np.ndarray:
        spec = payload.get("background")
        if isinstance(spec, str) and spec.startswith("preset:"):
            name = spec[len("preset:") :]
            if name not in self.presets:
                raise AskError(
                    f"background: no preset {_short(name)}; presets: {sorted(self.presets)}"
                )
            return self.presets[name]
        if isinstance(spec, str):
            return decode_image(spec)
        raise AskError("background: pick a preset or upload an image")

    def render(self, payload: dict[str, Any]) -> dict[str, Any]:
        image = self.background(payload)
        ask = parse_ask(payload, (image.shape[1], image.shape[0]))
        if not self._lock.acquire(timeout=self.limits.lock_wait_s):
            retry = max(1, math.ceil(self._last_seconds))
            raise Busy(
                f"the model is busy with other requests (waited {self.limits.lock_wait_s:g} s); "
                f"try again in {retry} s",
                retry,
            )
        try:
            start = time.perf_counter()
            drawn = self.draw(image, ask)
            seconds = time.perf_counter() - start
            self._last_seconds = seconds
        finally:
            self._lock.release()
        return {
            "image": encode_png(drawn.image),
            "verdict": drawn.verdict,
            "seconds": round(seconds, 3),
            "annotation": drawn.annotation,
        }


class Studio(Desk):
    """The desk with the loaded model, fonts and judge: each request is drawn by
    ``glyphgen.render.Renderer``, as ``glyphgen render`` draws it."""

    def __init__(
        self,
        weights: Path,
        *,
        judge: Recognizer | None = None,
        font_dirs=(),
        limits: DeskLimits = DeskLimits(),
    ):
        from glyphgen.render import Renderer

        self.weights = Path(weights)
        self.judge = judge or create_backend("combined")
        self.renderer = Renderer(self.weights, font_dirs=list(font_dirs), judge=self.judge)
        self.renderer.pipeline()  # loaded now, not by the first visitor
        super().__init__(self._draw_with_model, label=weights_label(self.weights), limits=limits)

    def _draw_with_model(self, image: np.ndarray, ask: RenderAsk) -> Drawn:
        from glyphgen.render import RenderError, RenderRequest, Sampling
        from glyphgen.render.request import Verify

        polygon = box_polygon(ask.box)
        # the old text in the box, read by the judge: the new text is drawn in its face
        try:
            old = read_region(image, polygon, ask.vertical, self.judge)
        except CropError:  # a box the crop refuses: no old text to match
            old = ""
        try:
            result = self.renderer.render(
                RenderRequest(
                    [ask.text],
                    [polygon],
                    background=image,
                    vertical=ask.vertical,
                    color=ask.colour,
                    sampling=Sampling(seed=ask.seed),
                    verify=Verify() if ask.verify else None,
                    old_text=[old],
                )
            )
        except RenderError as exc:
            raise page_error(exc) from exc
        (record, *_) = result.regions[0].entries()
        return Drawn(result.image, record, judge_region(result.image, record, self.judge))
