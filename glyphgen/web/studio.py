"""The page's work, without HTTP: parse a render request, draw it with the glyph model,
and judge the drawn region with the evaluator's OCR. The server (``server.py``) only moves
bytes in and out of these functions."""

from __future__ import annotations

import base64
import binascii
import io
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from glyphgen.eval.annotations import Region
from glyphgen.eval.backends import Recognizer, create_backend
from glyphgen.eval.config import CropConfig, NormalizeConfig
from glyphgen.eval.crops import CropError, crop_region
from glyphgen.eval.metrics import score
from glyphgen.eval.normalize import normalize
from glyphgen.eval.testing import describe_diff

MAX_SIDE = 2048  # pixels; larger uploads are refused with this number in the message
MAX_TEXT = 24  # characters: the model's text encoder reads at most this many
PRESET_SIZE = (640, 360)


class AskError(ValueError):
    """A render request the page cannot carry out; the message names the field and the fix."""


@dataclass(frozen=True)
class RenderAsk:
    text: str
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in image pixels
    vertical: bool = False
    seed: int = 0


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


def parse_ask(payload: dict[str, Any], size: tuple[int, int]) -> RenderAsk:
    """The request's fields checked against the background of ``size`` (width, height)."""
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        raise AskError("text: type the text to draw (1 to 24 characters)")
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise AskError(f"text: {len(text)} characters; the model draws at most {MAX_TEXT}")
    box = payload.get("box")
    if (
        not isinstance(box, list)
        or len(box) != 4
        or not all(isinstance(v, int | float) for v in box)
    ):
        raise AskError("box: drag a box on the background (x0, y0, x1, y1 in pixels)")
    x0, x1 = sorted(float(v) for v in box[0::2])
    y0, y1 = sorted(float(v) for v in box[1::2])
    w, h = size
    if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
        raise AskError(f"box: {box} reaches outside the {w}x{h} background; drag inside it")
    if min(x1 - x0, y1 - y0) < 12:
        raise AskError("box: at least 12 pixels on each side; drag a larger box")
    seed = payload.get("seed", 0)
    if not isinstance(seed, int) or seed < 0:
        raise AskError(f"seed: {seed!r} is not a whole number >= 0")
    return RenderAsk(text, (x0, y0, x1, y1), bool(payload.get("vertical", False)), seed)


def decode_image(data: str) -> np.ndarray:
    """An uploaded image as a ``data:image/...;base64,`` URL -> RGB uint8."""
    head, _, body = data.partition(",")
    if not head.startswith("data:image/") or ";base64" not in head:
        raise AskError("background: send an image as a data:image/...;base64 URL")
    try:
        image = Image.open(io.BytesIO(base64.b64decode(body, validate=True)))
        image.load()
    except (binascii.Error, UnidentifiedImageError, OSError) as exc:
        raise AskError(f"background: not a readable image ({exc}); upload a PNG or JPEG") from exc
    if max(image.size) > MAX_SIDE:
        raise AskError(
            f"background: {image.size[0]}x{image.size[1]} pixels; at most {MAX_SIDE} on a "
            "side, please resize it"
        )
    return np.asarray(image.convert("RGB"))


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
    character, else our reader; each gets columns cut its own way)."""
    norm = NormalizeConfig()
    target = normalize(record["text"], norm)
    region = Region(
        text=record["text"],
        polygon=[tuple(p) for p in record["polygon"]],
        direction=record["direction"],
        char_quads=[[tuple(p) for p in c["quad"]] for c in record["chars"]],
    )
    try:
        line = crop_region(image, region, CropConfig().for_judge(judge, target))
    except CropError as exc:
        raise AskError(f"box: the drawn region cannot be cropped for OCR ({exc})") from exc
    reading = judge.recognize_for([line], [target])[0]
    s = score(target, normalize(reading.text, norm))
    verdict = "exact" if s.exact else ("close" if s.ratio >= 0.8 else "wrong")
    return {
        "judge": JUDGE_NAMES.get(reading.judge, reading.judge or judge.name),
        "target": s.target,
        "read": s.read,
        "confidence": round(float(reading.score), 3),
        "exact": s.exact,
        "ratio": round(s.ratio, 4),
        "ned": round(s.ned, 4),
        "verdict": verdict,
        "diff": "" if s.exact else describe_diff(s.target, s.read),
    }


class Studio:
    """The loaded model, fonts and judge; ``render`` is safe to call from many threads (one
    render at a time: the model is not reentrant and the machine has few cores)."""

    def __init__(self, weights: Path, *, judge: Recognizer | None = None, font_dirs=()):
        from diffusers.utils.logging import disable_progress_bar

        from glyphgen.model.pipeline import GlyphPipeline
        from glyphgen.typeset.fonts import FontLibrary

        disable_progress_bar()
        self.weights = Path(weights)
        self.pipe = GlyphPipeline.from_pretrained(self.weights)
        self.pipe.set_progress_bar_config(disable=True)
        self.fonts = FontLibrary.load(list(font_dirs), progress=False)
        self.judge = judge or create_backend("combined")
        self.presets = preset_backgrounds()
        self._lock = threading.Lock()

    def background(self, payload: dict[str, Any]) -> np.ndarray:
        spec = payload.get("background")
        if isinstance(spec, str) and spec.startswith("preset:"):
            name = spec[len("preset:") :]
            if name not in self.presets:
                raise AskError(f"background: no preset {name!r}; presets: {sorted(self.presets)}")
            return self.presets[name]
        if isinstance(spec, str):
            return decode_image(spec)
        raise AskError("background: pick a preset or upload an image")

    def render(self, payload: dict[str, Any]) -> dict[str, Any]:
        from glyphgen.model.render import RegionRequest, RenderError, render_regions

        image = self.background(payload)
        ask = parse_ask(payload, (image.shape[1], image.shape[0]))
        request = RegionRequest(ask.text, box_polygon(ask.box), ask.vertical)
        with self._lock:
            start = time.perf_counter()
            try:
                out, records = render_regions(
                    self.pipe, image, [request], self.fonts, seed=ask.seed
                )
            except RenderError as exc:
                raise AskError(str(exc)) from exc
            seconds = time.perf_counter() - start
            verdict = judge_region(out, records[0], self.judge)
        return {
            "image": encode_png(out),
            "verdict": verdict,
            "seconds": round(seconds, 3),
            "annotation": records[0],
        }
