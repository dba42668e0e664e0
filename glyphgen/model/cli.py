"""``glyphgen train`` and ``glyphgen render``: parse arguments, call the model, print results."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from glyphgen.cli import command_line, fail
from glyphgen.paths import REPO_ROOT

# Where the default weights live once a trained model ships with the repository.
DEFAULT_WEIGHTS = REPO_ROOT / "weights" / "glyph-default"

TRAIN_EXAMPLES = """\
examples:
  glyphgen train --config cpu                      # bundled config: glyphgen/model/configs/cpu.yaml
  glyphgen train --config my.yaml --set ocr_loss.weight=0.05 --set checkpoint_every=100
  glyphgen train --config cpu --out out/model-noctrl --set model.controlnet=false  # ablation
  accelerate launch -m glyphgen train --config gpu # several GPUs / machines
  glyphgen train --out out/model --export weights/glyph-default   # ship: fp16 + manifest
  glyphgen train --out out/model --export weights/glyph-default \
      --metrics eval/benchmark/results/benchmark.json --row shipped  # ... with its figures

A re-run of the same command resumes from <out>/checkpoint. The trained pipeline is written
to <out>/weights (use it with glyphgen render --weights <out>/weights), and each stage's
as it ended to <out>/weights-<stage> (e.g. weights-stage1); loss curves in <out>/loss.png
and TensorBoard files in <out>/logs; sample grids in <out>/samples.
"""

RENDER_EXAMPLES = """\
examples:
  glyphgen render --text 宁静致远 --out out.png
  glyphgen render --text 营业中 --background shop.jpg --region 120,40,360,100 --out sign.png
  glyphgen render --text 书山有路 --vertical --region 10,10,70,250 --background wall.png
  glyphgen render --text 一 --text 二 --region 0,0,100,40 --region 0,50,100,90 --style-ref ref.png

Writes the image and, beside it, <out>.json: one record of our JSONL annotation format, so
  glyphgen eval --annotations out.json
checks the text that was drawn.
"""


def register(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser(
        "train",
        help="train the glyph model (two stages, resumable)",
        description="Train the glyph diffusion model on factory scenes, shards or AnyWord JSON.",
        epilog=TRAIN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    t.add_argument("--config", help="YAML config file or a bundled config's name")
    t.add_argument("--out", help="output folder (overrides the config's out)")
    t.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    ship = t.add_argument_group("export (no training): a run's weights, fp16, for the repository")
    ship.add_argument("--export", type=Path, metavar="DIR", help="write --out's weights to DIR")
    ship.add_argument("--stage", help="export weights-<stage> instead of the final weights")
    ship.add_argument("--metrics", type=Path, help="benchmark.json whose row goes in the manifest")
    ship.add_argument("--row", default="shipped", help="that row's name (default: shipped)")
    ship.add_argument(
        "--strength",
        type=float,
        help="default sampling strength of the export (1: from noise; <1: from a glyph draft)",
    )
    t.set_defaults(func=run_train)

    r = sub.add_parser(
        "render",
        help="draw Chinese text into an image with the glyph model",
        description="Generate text in regions of an image (or of a plain background).",
        epilog=RENDER_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("--text", action="append", required=True, help="text to draw (repeatable)")
    r.add_argument("--background", type=Path, help="image to draw on (default: plain paper)")
    r.add_argument(
        "--region",
        action="append",
        default=[],
        help="x0,y0,x1,y1 or 4 points x,y clockwise from where reading starts (repeatable)",
    )
    r.add_argument("--vertical", action="store_true", help="top-to-bottom columns")
    r.add_argument("--style-ref", type=Path, help="an image of text whose style to follow")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--steps", type=int, help="denoising steps (default: the model's)")
    r.add_argument(
        "--strength",
        type=float,
        help="1: draw from noise; below 1: refine a draft of the glyph inked into the region; "
        "0: that draft as it is, no model (default: the model's default_strength, in its "
        "manifest)",
    )
    r.add_argument(
        "--weights", type=Path, help=f"trained pipeline folder (default: {DEFAULT_WEIGHTS})"
    )
    r.add_argument("--font-dir", action="append", default=[], type=Path, help="extra font folder")
    r.add_argument("--out", type=Path, default=Path("out.png"), help="image path; JSON beside it")
    r.set_defaults(func=run_render)


def run_export(args: argparse.Namespace) -> int:
    from glyphgen.model.export import ExportError, benchmark_row, export_weights

    if not args.out:
        return fail("--export needs --out, the run folder whose weights to ship")
    run = Path(args.out)
    src = run / (f"weights-{args.stage}" if args.stage else "weights")
    try:
        metrics = benchmark_row(args.metrics, args.row) if args.metrics else None
        dst = export_weights(
            src,
            args.export,
            metrics=metrics,
            extra={"run": str(run), "export_command": command_line()},
            strength=args.strength,
        )
    except (ExportError, FileNotFoundError) as exc:
        return fail(str(exc))
    print(f"exported {src} -> {dst}  (glyphgen render --weights {dst} --text ...)")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from glyphgen.configio import ConfigError
    from glyphgen.model.config import load_train_config
    from glyphgen.model.train import Trainer

    if args.export:
        return run_export(args)
    if not args.config:
        return fail("--config is required to train (e.g. --config cpu); --export needs none")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    flags = {"out": args.out} if args.out else {}
    try:
        cfg = load_train_config(args.config, args.overrides, flags)
        weights = Trainer(cfg, progress=not args.quiet, command=command_line()).run()
    except (ConfigError, ValueError, FileNotFoundError) as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return fail("interrupted; run the same command again to resume from the checkpoint", 130)
    print(f"weights: {weights}  (glyphgen render --weights {weights} --text ...)")
    return 0


def run_render(args: argparse.Namespace) -> int:
    weights = args.weights or DEFAULT_WEIGHTS
    if not (weights / "model_index.json").is_file():
        if args.weights is None:
            return fail(
                f"no trained weights at {DEFAULT_WEIGHTS} (they ship with the repository: is "
                "this a partial checkout?). Train your own with `glyphgen train --config cpu` "
                "and pass --weights out/model/weights"
            )
        return fail(f"{weights} is not a trained pipeline folder (no model_index.json in it)")
    import numpy as np
    from diffusers.utils.logging import disable_progress_bar

    from glyphgen.images import open_image
    from glyphgen.model.pipeline import GlyphPipeline
    from glyphgen.model.render import (
        RegionRequest,
        RenderError,
        centred_region,
        check_requests,
        default_canvas,
        parse_region,
        render_regions,
        write_outputs,
    )
    from glyphgen.typeset.fonts import FontLibrary

    try:
        texts = list(args.text)
        polygons = [parse_region(s) for s in args.region]
        if args.background is not None:
            if not args.background.is_file():
                raise RenderError(f"background {args.background} does not exist")
            image = open_image(args.background, "RGB")
        elif polygons:
            w = int(max(p[:, 0].max() for p in polygons)) + 24
            h = int(max(p[:, 1].max() for p in polygons)) + 24
            image = np.full((h, w, 3), 248, np.uint8)
        else:
            image, polygons = None, []
        if not polygons:
            if len(texts) != 1:
                raise RenderError("several --text need as many --region")
            if image is None:
                image, poly = default_canvas(texts[0], args.vertical)
            else:
                poly = centred_region(image, texts[0], args.vertical)
            polygons = [poly]
        if len(texts) == 1 and len(polygons) > 1:
            texts = texts * len(polygons)
        if len(texts) != len(polygons):
            raise RenderError(f"{len(texts)} --text for {len(polygons)} --region")
        assert image is not None
        style = None
        if args.style_ref is not None:
            if not args.style_ref.is_file():
                raise RenderError(f"style reference {args.style_ref} does not exist")
            style = open_image(args.style_ref, "RGB")
        fonts = FontLibrary.load(args.font_dir, progress=False)
        requests = [
            RegionRequest(t, p, args.vertical) for t, p in zip(texts, polygons, strict=True)
        ]
        check_requests(requests, image, fonts)  # loud errors before loading the model
        disable_progress_bar()
        pipe = GlyphPipeline.from_pretrained(weights)
        pipe.set_progress_bar_config(disable=True)
        out, records = render_regions(
            pipe,
            image,
            requests,
            fonts,
            style_ref=style,
            seed=args.seed,
            steps=args.steps,
            strength=args.strength,
        )
    except (RenderError, ValueError) as exc:
        return fail(str(exc))
    ann = write_outputs(args.out, out, records)
    print(f"wrote {args.out} and {ann} ({len(records)} region(s))")
    return 0
