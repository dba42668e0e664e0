"""The HTML report screenshot in docs/img/eval_report.png, from a real run (dev only: Chromium).

    python tools/screenshot_report.py                      # writes docs/img/eval_report.png
    python tools/screenshot_report.py --keep out/demo      # also keeps the images and reports

1) The factory renders 40 clean lines of common phrases (bench/sets/ceiling_lines.yaml, seed 7):
   the ground truth.
2) A copy of them plays a model that gets some wrong: in six lines one character is painted
   over with a look-alike (same font, size, colour and cell), one line loses a character,
   one is blurred.
3) ``glyphgen eval`` reads the copy against the factory's labels, with the ground truth as
   the OCR ceiling and a sentence-accuracy gate of 0.95, and writes report.html.
4) Headless Chromium (``apt-get install chromium``) takes the screenshot; the PNG is reduced
   to a 256-colour palette to stay small.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

ROOT = Path(__file__).resolve().parents[1]
# Characters and a look-alike a model might draw instead.
LOOK_ALIKES = dict(
    zip(
        "湖西吉家质茶场行店馆银大人口学北天王土未己日休折",
        "胡酉古冢贡荼扬衍庄官锒太入日字比夭玉士末已曰体拆",
        strict=True,
    )
)
SWAPPED = (3, 8, 12, 19, 27, 33)  # line indices where one character is replaced
MISSING = 15  # one character erased
BLURRED = 24


def render_ground_truth(out: Path) -> list[dict]:
    from glyphgen.synth.config import load_config
    from glyphgen.synth.runner import run

    cfg = load_config(
        ROOT / "bench" / "sets" / "ceiling_lines.yaml", overrides=["num=40", "seed=7"]
    )
    run(cfg, out, workers=1, progress=False)
    return [json.loads(x) for x in (out / "labels.jsonl").read_text(encoding="utf-8").splitlines()]


def font_file(font_id: str) -> tuple[Path, int]:
    fonts = ROOT / "glyphgen" / "data" / "fonts"
    manifest = json.loads((fonts / "manifest.json").read_text(encoding="utf-8"))
    entry = next(f for f in manifest["fonts"] if f["id"] == font_id)
    return fonts / entry["file"], entry.get("index", 0)


def paint_over(image: Image.Image, region: dict, k: int, new: str | None) -> Image.Image:
    """Cover character ``k`` with the background seen above it; draw ``new`` in its cell."""
    pixels = np.asarray(image.convert("RGB")).copy()
    quad = np.array(region["chars"][k]["quad"])
    x0, y0 = np.floor(quad.min(axis=0)).astype(int)
    x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
    x0, x1 = max(x0, 0), min(x1, pixels.shape[1])
    pixels[:, x0:x1] = pixels[0:1, x0:x1]  # the top row is background (a margin)
    out = Image.fromarray(pixels)
    if new:
        path, index = font_file(region["chars"][k]["font"])
        face = ImageFont.truetype(str(path), region["size"], index=index)
        draw = ImageDraw.Draw(out)
        bx0, by0, bx1, by1 = draw.textbbox((0, 0), new, font=face)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        at = (cx - (bx0 + bx1) / 2, cy - (by0 + by1) / 2)
        draw.text(at, new, font=face, fill=tuple(region["color"]))
    return out


def make_model_output(gt: Path, model: Path, records: list[dict]) -> None:
    shutil.copytree(gt / "shards", model / "shards")
    for i, rec in enumerate(records):
        path = model / rec["image"]
        region = rec["texts"][0]
        text = region["text"]
        if i in SWAPPED:
            k = max(j for j, c in enumerate(text) if c in LOOK_ALIKES or j == 0)
            new = LOOK_ALIKES.get(text[k], "木")  # a plain wrong character where none looks alike
            paint_over(Image.open(path), region, k, new).save(path)
        elif i == MISSING and len(text) > 2:
            paint_over(Image.open(path), region, len(text) // 2, None).save(path)
        elif i == BLURRED:
            Image.open(path).filter(ImageFilter.GaussianBlur(5)).save(path)


def screenshot(html: Path, png: Path, size: tuple[int, int]) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("needs Chromium: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}",
                f"--screenshot={png}", html.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
    # 256 colours are plenty for a page of flat colours, text and small thumbnails.
    Image.open(png).convert("RGB").quantize(256, dither=Image.Dither.NONE).save(png, optimize=True)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--png", type=Path, default=ROOT / "docs" / "img" / "eval_report.png")
    ap.add_argument("--keep", type=Path, help="keep images and reports in this folder")
    ap.add_argument("--size", default="1280x1500", help="browser window, WIDTHxHEIGHT")
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    with tempfile.TemporaryDirectory() as tmp_name:
        work = args.keep or Path(tmp_name)
        if args.keep and args.keep.exists():
            shutil.rmtree(args.keep)
        gt, model = work / "ground_truth", work / "model"
        records = render_ground_truth(gt)
        make_model_output(gt, model, records)
        cmd = [
            sys.executable, "-m", "glyphgen", "eval", "--annotations", "ground_truth/labels.jsonl",
            "--images", "model", "--ceiling-images", "ground_truth", "--min-sentence-acc", "0.95",
            "--out", "report", "--quiet",
        ]  # fmt: skip
        code = subprocess.run(cmd, cwd=work).returncode  # relative paths read well in the header
        print(f"glyphgen eval exited with {code} (1: the gate fails, as intended)")
        args.png.parent.mkdir(parents=True, exist_ok=True)
        screenshot(work / "report" / "report.html", args.png, (width, height))
    print(f"{args.png}: {args.png.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
