"""``glyphgen train`` and ``glyphgen render``: parse arguments, call the model, print results."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from glyphgen import cmdline
from glyphgen.cmdline import argparse_type, command_line, fail
from glyphgen.model.config import DRAFTS, RAW
from glyphgen.paths import REPO_ROOT

if TYPE_CHECKING:  # the modules themselves load torch: imported where they are used
    import numpy as np

    from glyphgen.edit.classical import TextColours
    from glyphgen.model.jobs import Prepared, RenderJob
    from glyphgen.model.pipeline import GlyphPipeline
    from glyphgen.typeset.fonts import FontLibrary

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
  glyphgen render --text 开业大吉 --color "#c00000" --background shop.jpg --region 120,40,360,100
  glyphgen render --batch edits.jsonl --steps 4    # many images, the model loaded once
  glyphgen render --classical --text 开业大吉 --background shop.jpg --region 120,40,360,100
                  # no model: the old text found and inpainted, the new one in its colours

Writes the image and, beside it, <out>.json: one record of our JSONL annotation format, so
  glyphgen eval --annotations out.json
checks the text that was drawn.

--batch FILE: one JSON object per line, keys named as the flags, e.g.
  {"text": "营业中", "out": "sign.png", "background": "shop.jpg", "box": [120, 40, 360, 100]}
  {"text": ["一", "二"], "out": "two.png", "box": [[0, 0, 100, 40], [0, 50, 100, 90]]}
  {"text": "书山有路", "out": "col.png", "vertical": true, "seed": 7,
   "points": [[10, 10], [70, 10], [70, 250], [10, 250]]}
keys: text, out (both required), region (the flag's string) or box or points, background,
vertical, style_ref, color, seed, steps, strength, draft; paths relative to FILE's folder. --seed,
--steps, --strength and --draft set the default of lines that leave them out. A bad line is
reported with its number and the others still render; the exit status is 1 if any line
failed.
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
    t.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config key after the files (repeatable): num_threads=2, "
        "ocr_loss.every=1, model.controlnet=false",
    )
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    ship = t.add_argument_group("export (no training): a run's weights, fp16, for the repository")
    ship.add_argument("--export", type=Path, metavar="DIR", help="write --out's weights to DIR")
    ship.add_argument("--stage", help="export weights-<stage> instead of the final weights")
    ship.add_argument(
        "--raw",
        action="store_true",
        help="a run trained with ema_decay: export its last step's weights (weights-raw) "
        "instead of their moving average",
    )
    ship.add_argument("--metrics", type=Path, help="benchmark.json whose row goes in the manifest")
    ship.add_argument("--row", default="shipped", help="that row's name (default: shipped)")
    ship.add_argument(
        "--strength",
        type=float,
        help="default sampling strength of the export (1: from noise; <1: from a draft)",
    )
    ship.add_argument(
        "--steps",
        type=int,
        help="default denoising steps of the export (render --steps; a strength below 1 "
        "takes that share of them)",
    )
    ship.add_argument(
        "--draft",
        choices=DRAFTS,
        help="default draft of the export (render --draft): glyph (B inked over the region) "
        "or classical (the classical edit, the model's output kept only where that edit "
        "changed pixels)",
    )
    t.set_defaults(func=run_train)

    r = sub.add_parser(
        "render",
        help="draw Chinese text into an image with the glyph model",
        description="Generate text in regions of an image (or of a plain background).",
        epilog=RENDER_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("--text", action="append", help="text to draw (repeatable)")
    r.add_argument("--background", type=Path, help="image to draw on (default: plain paper)")
    r.add_argument(
        "--region",
        action="append",
        default=[],
        help="x0,y0,x1,y1 or 4 points x,y clockwise from where reading starts (repeatable)",
    )
    r.add_argument("--vertical", action="store_true", help="top-to-bottom columns")
    r.add_argument("--style-ref", type=Path, help="an image of text whose style to follow")
    r.add_argument(
        "--color",
        type=argparse_type(cmdline.colour),
        metavar="RGB",
        help='the text\'s colour, "#RRGGBB" or "R,G,B" (default: the style reference\'s, '
        "else the old text's in the region)",
    )
    r.add_argument(
        "--seed",
        type=argparse_type(cmdline.seed),
        default=0,
        help="noise seed, 0 to 2**63-1; region k uses seed+k (default: 0)",
    )
    r.add_argument(
        "--steps",
        type=argparse_type(cmdline.positive_int),
        help=f"denoising steps, >= 1 (default: the model's default_steps{_shipped('default_steps')})",
    )
    r.add_argument(
        "--strength",
        type=argparse_type(cmdline.unit_interval),
        help="in [0, 1]. 1: draw from noise; below 1: refine a draft (see --draft); 0: that "
        "draft as it is, no model (default: the model's "
        f"default_strength{_shipped('default_strength')})",
    )
    r.add_argument(
        "--draft",
        choices=DRAFTS,
        help="what sampling below strength 1 starts from. glyph: B's glyph inked over the "
        "region in black or white, the model's output over the whole region; classical: the "
        "classical edit (A found and inpainted, B in A's colours), the model's output kept "
        "only where that edit changed pixels (default: the model's "
        f"default_draft{_shipped('default_draft')})",
    )
    r.add_argument(
        "--weights", type=Path, help=f"trained pipeline folder (default: {DEFAULT_WEIGHTS})"
    )
    r.add_argument("--font-dir", action="append", default=[], type=Path, help="extra font folder")
    r.add_argument("--out", type=Path, help="image path; JSON beside it (default: out.png)")
    r.add_argument(
        "--classical",
        action="store_true",
        help="no model: find the region's old text, inpaint it, draw the new text in the "
        "bundled font in the old text's colours (or --style-ref's); fast, and the bar the "
        "model is measured against (glyphgen bench edit)",
    )
    r.add_argument(
        "--batch",
        type=Path,
        metavar="FILE",
        help="render every job of a JSON Lines file, loading the model once (see below)",
    )
    r.set_defaults(func=run_render)


def run_export(args: argparse.Namespace) -> int:
    from glyphgen.model.export import ExportError, benchmark_row, export_weights

    if not args.out:
        return fail("--export needs --out, the run folder whose weights to ship")
    run = Path(args.out)
    src = run / ((f"weights-{args.stage}" if args.stage else "weights") + (RAW if args.raw else ""))
    if args.raw and not src.is_dir():
        return fail(
            f"{src} does not exist: --raw exports the last step's weights of a run trained "
            "with ema_decay > 0; this run kept no average, so export it without --raw"
        )
    try:
        metrics = benchmark_row(args.metrics, args.row) if args.metrics else None
        dst = export_weights(
            src,
            args.export,
            metrics=metrics,
            extra={"run": str(run), "export_command": command_line()},
            strength=args.strength,
            draft=args.draft,
            steps=args.steps,
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


def _shipped(key: str) -> str:
    """ ", 8 for the shipped weights" for a sampling default of the shipped model (shown in
    --help); "" where the weights are absent or unreadable."""
    try:
        index = json.loads((DEFAULT_WEIGHTS / "model_index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return f", {index[key]} for the shipped weights" if key in index else ""


# flags that describe one image: per line in a batch file
_PER_JOB_FLAGS = {
    "--text": "text",
    "--region": "region",
    "--out": "out",
    "--background": "background",
    "--vertical": "vertical",
    "--style-ref": "style_ref",
    "--color": "color",
}


def run_render(args: argparse.Namespace) -> int:
    from glyphgen.model.jobs import (
        BatchError,
        RenderJob,
        Sampling,
        prepare_job,
        read_batch,
    )
    from glyphgen.model.render import RenderError, parse_region
    from glyphgen.typeset.fonts import FontLibrary

    if args.batch is not None:
        clash = [flag for flag, key in _PER_JOB_FLAGS.items() if getattr(args, key)]
        if clash:
            return fail(
                f"{', '.join(clash)} cannot go with --batch: set them per line in {args.batch}"
            )
    elif not args.text:
        return fail("give --text (the text to draw), or --batch FILE (one JSON job per line)")
    weights = args.weights or DEFAULT_WEIGHTS
    if not args.classical and not (weights / "model_index.json").is_file():
        if args.weights is None:
            return fail(
                f"no trained weights at {DEFAULT_WEIGHTS} (they ship with the repository: is "
                "this a partial checkout?). Train your own with `glyphgen train --config cpu` "
                "and pass --weights out/model/weights"
            )
        return fail(f"{weights} is not a trained pipeline folder (no model_index.json in it)")
    sampling = Sampling(seed=args.seed, steps=args.steps, strength=args.strength, draft=args.draft)
    # 1) the jobs: one from the flags, or one per batch line (a bad line: its error)
    jobs: list[tuple[str, RenderJob | ValueError]]
    if args.batch is not None:
        try:
            jobs = [
                (f"{args.batch} line {n}: ", job) for n, job in read_batch(args.batch, sampling)
            ]
        except BatchError as exc:
            return fail(str(exc))
    else:
        try:
            regions = [parse_region(s) for s in args.region]
        except RenderError as exc:
            return fail(str(exc))
        job = RenderJob(
            texts=list(args.text),
            out=args.out or Path("out.png"),
            regions=regions,
            background=args.background,
            vertical=args.vertical,
            style_ref=args.style_ref,
            color=args.color,
            sampling=sampling,
        )
        jobs = [("", job)]
    # 2) every check short of the model's, before paying for loading it
    fonts = FontLibrary.load(args.font_dir, progress=False)
    ready, failed = [], 0
    for name, entry in jobs:
        if isinstance(entry, ValueError):
            fail(f"{name}{entry}")
            failed += 1
            continue
        try:
            ready.append((name, entry, prepare_job(entry, fonts)))
        except ValueError as exc:
            fail(f"{name}{exc}")
            failed += 1
    # 3) draw
    if ready:
        try:
            pipe = None if args.classical else _load_pipeline(weights)
        except (ValueError, OSError) as exc:  # pickle refused, a component missing
            return fail(f"cannot load the glyph model from {weights}: {exc}")
        for name, job, prepared in ready:
            if not _draw(pipe, name, job, prepared, fonts):
                failed += 1
    if args.batch is None:
        return 2 if failed else 0
    print(f"{args.batch}: {len(jobs) - failed} of {len(jobs)} job(s) rendered, {failed} failed")
    return 1 if failed else 0


def _classical(
    prepared: Prepared, colours: TextColours | None, fonts: FontLibrary
) -> tuple[np.ndarray, list[dict]]:
    """Every region edited in turn by ``glyphgen.edit.classical``; one JSONL text per region."""
    from glyphgen.edit.classical import classical_edit

    image, records = prepared.image, []
    for req in prepared.requests:
        image = classical_edit(
            image,
            req.polygon,
            req.text,
            fonts,
            vertical=req.vertical,
            style_ref=prepared.style,
            colours=colours,
        ).image
        records.append(
            {
                "text": req.text,
                "polygon": [[round(float(x), 2), round(float(y), 2)] for x, y in req.polygon],
                "direction": "vertical" if req.vertical else "horizontal",
            }
        )
    return image, records


def _load_pipeline(weights: Path) -> GlyphPipeline:
    from diffusers.utils.logging import disable_progress_bar

    from glyphgen.model.pipeline import GlyphPipeline

    disable_progress_bar()
    pipe = GlyphPipeline.from_pretrained(weights)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _draw(
    pipe: GlyphPipeline | None,
    name: str,
    job: RenderJob,
    prepared: Prepared,
    fonts: FontLibrary,
) -> bool:
    """Draw one job with the model (or, ``pipe`` None, the classical edit) and write its image
    and annotation; False (said on stderr) if it failed."""
    from glyphgen.edit.classical import TextColours
    from glyphgen.model.render import render_regions, write_outputs

    colours = None if job.color is None else TextColours(job.color)
    try:
        if pipe is None:
            out, records = _classical(prepared, colours, fonts)
        else:
            out, records = render_regions(
                pipe,
                prepared.image,
                prepared.requests,
                fonts,
                style_ref=prepared.style,
                colours=colours,
                seed=job.sampling.seed,
                steps=job.sampling.steps,
                strength=job.sampling.strength,
                draft=job.sampling.draft,
            )
        ann = write_outputs(job.out, out, records)
    except ValueError as exc:
        fail(f"{name}{exc}")
        return False
    except OSError as exc:
        fail(f"{name}cannot write {job.out} ({exc}); check the folder and its permissions")
        return False
    print(f"wrote {job.out} and {ann} ({len(records)} region(s))")
    return True
