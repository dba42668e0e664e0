"""The README's pictures, from the shipped weights:

    python docs/make_pictures.py                       # docs/img/showcase.png + docs/img/web.png
    python docs/make_pictures.py --weights out/model/weights --no-web

showcase.png: signboards and posters drawn by the model on the try-it page's backgrounds,
each captioned with what PP-OCRv4 (or our reader) read back. web.png: the try-it page
(``glyphgen serve``) after a render, driven in headless Chromium.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from glyphgen.model.config import DEFAULT_WEIGHTS
from glyphgen.paths import data_path
from glyphgen.web.studio import decode_image

REPO = Path(__file__).resolve().parents[1]

# (background preset, text, box x0 y0 x1 y1 on the 640x360 preset, vertical)
SCENES = [
    ("red signboard", "开业大吉", (110, 110, 530, 230), False),
    ("blue poster", "春季新品", (60, 60, 420, 160), False),
    ("paper", "宁静致远", (250, 30, 350, 330), True),
    ("concrete", "营业时间", (120, 140, 520, 230), False),
    ("paper", "欢迎光临", (80, 130, 560, 230), False),
    ("red signboard", "限时特惠", (90, 100, 550, 240), False),
]
LABEL_FONT = data_path("fonts", "noto-sans-sc.otf")


def showcase(studio, out: Path, thumb: int = 400) -> list[dict]:
    font = ImageFont.truetype(str(LABEL_FONT), 22)
    tiles, results = [], []
    for k, (preset, text, box, vertical) in enumerate(SCENES):
        res = studio.render(
            {
                "background": f"preset:{preset}",
                "box": list(box),
                "text": text,
                "vertical": vertical,
                "seed": k,
            }
        )
        v = res["verdict"]
        results.append({"text": text, **v, "seconds": res["seconds"]})
        img = Image.fromarray(decode_image(res["image"]))
        img = img.resize((thumb, thumb * img.height // img.width), Image.LANCZOS)
        tile = Image.new("RGB", (thumb, img.height + 34), "white")
        tile.paste(img, (0, 0))
        mark = {"exact": "OK", "close": "~", "wrong": "X"}[v["verdict"]]
        caption = f"{mark} asked {text}, OCR read {v['read'] or '(nothing)'}"
        ImageDraw.Draw(tile).text((6, img.height + 4), caption, fill="black", font=font)
        tiles.append(tile)
    cols = 3
    rows = (len(tiles) + cols - 1) // cols
    w, h = tiles[0].size
    grid = Image.new("RGB", (cols * w + (cols + 1) * 6, rows * h + (rows + 1) * 6), "#ddd")
    for i, tile in enumerate(tiles):
        grid.paste(tile, (6 + (i % cols) * (w + 6), 6 + (i // cols) * (h + 6)))
    out.parent.mkdir(parents=True, exist_ok=True)
    grid.save(out)
    return results


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    p.add_argument("--out", type=Path, default=REPO / "docs" / "img")
    p.add_argument("--no-web", action="store_true", help="skip the page screenshot")
    args = p.parse_args()

    from glyphgen.web.server import serve
    from glyphgen.web.studio import Studio

    studio = Studio(args.weights)
    for r in showcase(studio, args.out / "showcase.png"):
        print(f"{r['verdict']:6s} {r['text']} -> {r['read']} ({r['judge']}, {r['seconds']} s)")
    print(f"wrote {args.out / 'showcase.png'}")
    if not args.no_web:
        from glyphgen.web.browser import try_page

        server = serve(studio, port=0)
        url = f"http://127.0.0.1:{server.server_address[1]}"
        run = try_page(
            url, args.out / "web.png", text="开业大吉", preset="red signboard", colour="#ffd700"
        )
        server.shutdown()
        print(f"wrote {run.screenshot} (page verdict: {run.verdict['v-read']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
