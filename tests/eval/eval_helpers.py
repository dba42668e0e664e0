"""Helpers for the evaluator's tests: bundled fonts, a line renderer, a fake judge, JSONL."""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from glyphgen.eval.backends import Reading, Recognizer
from glyphgen.paths import REPO_ROOT, data_path

FONTS_DIR = data_path("fonts")
PHRASES = REPO_ROOT / "bench" / "sets" / "common_phrases.txt"


def bundled_fonts() -> list[dict]:
    """Entries of glyphgen/data/fonts/manifest.json whose file is present (never fonts from the system)."""
    manifest = FONTS_DIR / "manifest.json"
    if not manifest.is_file():
        return []
    data = json.loads(manifest.read_text(encoding="utf-8"))
    entries = data["fonts"] if isinstance(data, dict) else data
    return [
        {**e, "path": FONTS_DIR / e["file"]} for e in entries if (FONTS_DIR / e["file"]).is_file()
    ]


def font_for(style: str | None = None, font_id: str | None = None) -> dict:
    for entry in bundled_fonts():
        if (font_id is None or entry["id"] == font_id) and (
            style is None or entry["style"] == style
        ):
            return entry
    pytest.skip(
        f"no bundled font with style={style} id={font_id} in glyphgen/data/fonts/manifest.json"
    )


def common_phrases() -> list[str]:
    lines = PHRASES.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def render_line(
    text: str, font: dict, size: int = 40, canvas: tuple[int, int] | None = None, at=(24, 30)
) -> tuple[Image.Image, list[list[float]]]:
    """Dark text on a light background; returns the image and the text's polygon (TL, TR, BR, BL)."""
    face = ImageFont.truetype(str(font["path"]), size, index=font.get("index", 0))
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    x0, y0, x1, y1 = probe.textbbox(at, text, font=face)
    width, height = canvas or (x1 + 24, y1 + 30)
    image = Image.new("RGB", (width, height), (246, 244, 236))
    ImageDraw.Draw(image).text(at, text, font=face, fill=(25, 25, 60))
    m = 3
    polygon = [[x0 - m, y0 - m], [x1 + m, y0 - m], [x1 + m, y1 + m], [x0 - m, y1 + m]]
    return image, polygon


class ColourJudge(Recognizer):
    """A stand-in judge for fast tests: a crop "reads" as the text mapped to the colour at
    its centre. Draw each region as a solid colour and pass {colour: text}."""

    name = "colour"

    def __init__(self, texts: dict[tuple[int, int, int], str], charset: str | None = None):
        self.texts = texts
        self._charset = None if charset is None else frozenset(charset)
        self.calls: list[int] = []  # batch sizes seen

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Reading]:
        self.calls.append(len(crops))
        out = []
        for crop in crops:
            h, w = crop.shape[:2]
            colour = tuple(int(v) for v in crop[h // 2, w // 2, :3])
            out.append(Reading(self.texts.get(colour, ""), 0.9))  # type: ignore[arg-type]
        return out

    def charset(self) -> frozenset[str] | None:
        return self._charset


def bomb_png(path: Path, side: int = 30000) -> Path:
    """A decompression bomb's shape: a PNG whose header claims side x side pixels (2.7 GB of
    RGB at 30000) over a 1-pixel body. Nothing past the header should ever be decoded."""
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    # IHDR: length (8..11), tag (12..15), width and height (16..23), ..., its CRC (29..32)
    data[16:24] = struct.pack(">II", side, side)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))
    return path


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    return path


def colour_dataset(
    root: Path, items: list[tuple[str, str]], fonts: list[str] | None = None
) -> tuple[Path, ColourJudge]:
    """One 200x80 PNG per (target, what the judge will read) pair, with the region painted in a
    colour of its own; returns labels.jsonl and the judge that reads those colours."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    texts, records = {}, []
    for i, (target, read) in enumerate(items):
        colour = (10 + i, 200 - i, 100)
        texts[colour] = read
        image = np.full((80, 200, 3), 255, np.uint8)
        image[20:60, 20:180] = colour
        Image.fromarray(image).save(root / "images" / f"{i:03d}.png")
        region = {"text": target, "polygon": [[20, 20], [180, 20], [180, 60], [20, 60]]}
        if fonts:
            region["font"] = fonts[i]
        records.append(
            {"image": f"images/{i:03d}.png", "width": 200, "height": 80, "texts": [region]}
        )
    return write_jsonl(root / "labels.jsonl", records), ColourJudge(texts)


def factory(
    out: Path,
    *,
    config: Path | None = None,
    preset: str | None = None,
    overrides: Sequence[str] = (),
) -> Path:
    """Run the factory (``glyphgen synth``) into ``out``; returns ``out``. One worker: the
    bytes do not depend on it, and tests stay light on a 2-core machine."""
    from glyphgen.synth.config import load_config
    from glyphgen.synth.runner import run

    cfg = load_config(config, preset=preset, overrides=list(overrides))
    run(cfg, out, workers=1, progress=False)
    return out


def paint_over(image: Image.Image, region: dict, k: int, new: str) -> Image.Image:
    """A deliberately wrong render of a factory line: character ``k`` of ``region`` (a JSONL
    region with ``chars``) covered with the background above it, ``new`` drawn in its cell in
    the same font, size and colour."""
    pixels = np.asarray(image.convert("RGB")).copy()
    quad = np.array(region["chars"][k]["quad"])
    x0, x1 = int(np.floor(quad[:, 0].min())), int(np.ceil(quad[:, 0].max()))
    y0, y1 = quad[:, 1].min(), quad[:, 1].max()
    pixels[:, max(x0, 0) : x1] = pixels[0:1, max(x0, 0) : x1]  # row 0 is margin: background
    out = Image.fromarray(pixels)
    entry = next(f for f in bundled_fonts() if f["id"] == region["chars"][k]["font"])
    face = ImageFont.truetype(str(entry["path"]), region["size"], index=entry.get("index", 0))
    draw = ImageDraw.Draw(out)
    bx0, by0, bx1, by1 = draw.textbbox((0, 0), new, font=face)
    at = ((x0 + x1 - bx0 - bx1) / 2, (y0 + y1 - by0 - by1) / 2)
    draw.text(at, new, font=face, fill=tuple(region["color"]))
    return out
