"""``glyphgen train``: parse arguments, call the trainer (or the exporter), print results."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from glyphgen.cmdline import command_line, fail
from glyphgen.model.config import DRAFTS, RAW

if TYPE_CHECKING:
    from glyphgen.model.config import TrainConfig

TRAIN_EXAMPLES = """\
examples:
  glyphgen train --config cpu                      # bundled config: glyphgen/model/configs/cpu.yaml
  glyphgen train --config my.yaml --set ocr_loss.weight=0.05 --set checkpoint_every=100
  glyphgen train --config race --write-batches 3000 --out data/race-batches   # render ahead
  glyphgen train --config cpu --out out/model-noctrl --set model.controlnet=false  # ablation
  accelerate launch -m glyphgen train --config gpu # several GPUs / machines
  glyphgen train --out out/model --export glyphgen/data/weights/glyph-default   # ship: fp16 + manifest
  glyphgen train --out out/model --export glyphgen/data/weights/glyph-default \
      --metrics bench/results/glyph_benchmark/benchmark.json --row shipped  # ... with its figures

A re-run of the same command resumes from <out>/checkpoint. The trained pipeline is written
to <out>/weights (use it with glyphgen render --weights <out>/weights), and each stage's
as it ended to <out>/weights-<stage> (e.g. weights-stage1); loss curves in <out>/loss.png
and TensorBoard files in <out>/logs; sample grids in <out>/samples.
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
    t.add_argument(
        "--write-batches",
        type=int,
        metavar="N",
        help="render ahead instead of training: the first stage's next N batches, written to "
        "--out as files a stage reads with data.source=batches (a re-run keeps those written)",
    )
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
        if args.write_batches is not None:
            return _write_batches(cfg, args.write_batches, quiet=args.quiet)
        weights = Trainer(cfg, progress=not args.quiet, command=command_line()).run()
    except (ConfigError, ValueError, FileNotFoundError) as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return fail("interrupted; run the same command again to resume from the checkpoint", 130)
    print(f"weights: {weights}  (glyphgen render --weights {weights} --text ...)")
    return 0


def _write_batches(cfg: TrainConfig, count: int, quiet: bool) -> int:
    from tqdm import tqdm

    from glyphgen.model.batch_files import MAX_BATCH_FILES, write_batch_files
    from glyphgen.model.data import batches
    from glyphgen.typeset.fonts import FontLibrary

    if not 1 <= count <= MAX_BATCH_FILES:
        return fail(f"--write-batches must be 1..{MAX_BATCH_FILES}, got {count}")
    stage = cfg.stages[0]
    if stage.data.source == "batches":
        return fail(
            "--write-batches renders a stage's factory, wds or anyword data; this "
            "config's first stage already reads batch files"
        )
    stream = batches(stage.data, cfg.model, stage.batch_size, FontLibrary.load(progress=False))
    bar = tqdm(total=count, desc="batches", unit="batch", disable=quiet)
    paths = write_batch_files(stream, count, Path(cfg.out), lambda done, _: bar.update(1))
    bar.close()
    print(
        f"batches: {len(paths)} in {cfg.out}  (data.source=batches "
        f"data.shards=[{cfg.out}/batch-*.safetensors])"
    )
    return 0
