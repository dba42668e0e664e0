"""``glyphgen synth`` and ``glyphgen fonts``: parse arguments, call the factory, print results."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path

from glyphgen import limits as lim
from glyphgen.cmdline import fail
from glyphgen.configio import ConfigError, to_dict

EXAMPLES = """\
examples:
  glyphgen synth                                   # 100 recognition lines into out/synth
  glyphgen synth --preset scenes-diffusion --num 1000 --out data/scenes --workers 2
  glyphgen synth --preset lines --format lmdb --format paddle-rec --num 50000
  glyphgen synth --preset lines --set text.source=coverage --set text.min_count=5 --num 0
  glyphgen synth --config my.yaml --set line.height=32 --set effects.blur_prob=0.3
  glyphgen synth --preset lines --num 500 --model-draw 1 --set model_draw.tries=4
  glyphgen synth --preset lines --backend ray --ray-address auto --num 10000000

A re-run with the same config and --out resumes: complete shards are kept, the rest redone.
Presets live in glyphgen/data/presets/; --print-config shows the full resolved config.
"""

FONTS_EXAMPLES = """\
examples:
  glyphgen fonts                          # the bundled training fonts and what each covers
  glyphgen fonts --split heldout          # the fonts kept out of training (for benchmarks)
  glyphgen fonts --dir ~/fonts            # your own folder too (scanned recursively)

A font's coverage is checked by drawing each character, not read from its cmap; a folder of
your own is used by the factory with --set fonts.dirs=[DIR]."""


def register(sub: argparse._SubParsersAction) -> None:
    from glyphgen.synth.config import preset_names
    from glyphgen.synth.writers import FORMATS

    p = sub.add_parser(
        "synth",
        help="make a synthetic text dataset (lines or scenes) with exact annotations",
        description="Render Chinese text onto backgrounds with exact annotations, in shards.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", type=Path, help="YAML config (sections: see --print-config)")
    p.add_argument(
        "--preset",
        choices=preset_names(),
        help="a bundled starting config (default: lines, unless --config is given)",
    )
    p.add_argument("--num", type=int, help="number of samples (0 with coverage: as needed)")
    p.add_argument("--out", type=Path, default=Path("out/synth"), help="output folder")
    p.add_argument(
        "--format",
        action="append",
        choices=sorted(FORMATS),
        help="output format, repeatable (default: jsonl)",
    )
    p.add_argument("--workers", type=int, help="processes, 1 or more (default: all cores)")
    p.add_argument("--seed", type=int, help="master seed; sample i depends on (config, seed, i)")
    p.add_argument(
        "--model-draw",
        type=float,
        metavar="FRACTION",
        help="share of text regions the glyph model redraws, each kept only where the judge "
        "reads it exactly (model_draw.* in the config: weights, tries, judge, on_fail)",
    )
    p.add_argument("--backend", choices=["local", "ray"], default="local")
    p.add_argument("--ray-address", help="Ray cluster address ('auto' = the running cluster)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set line.height=32 (repeatable)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace another config's shards")
    p.add_argument(
        "--verify",
        choices=["size", "hash"],
        default="size",
        help="how complete shards are checked on resume (hash re-reads every file)",
    )
    p.add_argument("--print-config", action="store_true", help="print the resolved config, exit")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_synth)

    f = sub.add_parser(
        "fonts",
        help="list fonts and their verified coverage",
        description="Bundled fonts (and --dir folders) with coverage checked by rasterizing.",
        epilog=FONTS_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    f.add_argument("--dir", action="append", default=[], type=Path, help="extra font folder")
    f.add_argument("--split", default="train", help="bundled split: train or heldout")
    f.set_defaults(func=run_fonts)


def run_synth(args: argparse.Namespace) -> int:
    import yaml

    from glyphgen.synth.config import load_config
    from glyphgen.synth.lifetime import FolderBusyError
    from glyphgen.synth.render import MissingGlyphError
    from glyphgen.synth.runner import NothingWrittenError, SynthWriteError, default_workers, run
    from glyphgen.synth.shards import OutputMismatchError

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    cores = default_workers()
    if args.workers is not None and args.workers < 1:
        return fail(
            f"--workers must be at least 1, got {args.workers}; leave it out to use all "
            f"{cores} cores"
        )
    most = lim.MAX_WORKERS if args.backend == "ray" else lim.WORKERS_PER_CORE * cores
    if args.workers is not None and args.workers > most:
        where = "on a Ray cluster" if args.backend == "ray" else f"with {cores} core(s) here"
        return fail(
            f"--workers must be at most {most} {where}, got {args.workers}; each worker holds "
            "its own fonts and glyph cache, so processes beyond the cores cost memory, not time"
        )
    extra: dict = {}
    if args.num is not None:
        extra["num"] = args.num
    if args.seed is not None:
        extra["seed"] = args.seed
    if args.format:
        extra["output"] = {"formats": args.format}
    if args.model_draw is not None:
        extra["model_draw"] = {"fraction": args.model_draw}
    preset = args.preset or (None if args.config else "lines")
    base_dir = args.config.parent if args.config else None
    try:
        cfg = load_config(args.config, preset, args.overrides, extra)
    except (ConfigError, ValueError) as exc:
        return fail(str(exc))
    if args.print_config:
        print(yaml.safe_dump(to_dict(cfg), allow_unicode=True, sort_keys=False))
        return 0
    try:
        report = run(
            cfg,
            args.out,
            workers=args.workers or cores,
            backend=args.backend,
            base_dir=base_dir,
            overwrite=args.overwrite,
            verify=args.verify,
            ray_address=args.ray_address,
            progress=not args.quiet,
            drawer=args.region_drawer() if cfg.model_draw.fraction > 0 else None,
        )
    except (
        OutputMismatchError,
        MissingGlyphError,
        ConfigError,
        ValueError,
        FolderBusyError,
        NothingWrittenError,
    ) as exc:
        return fail(str(exc))
    except SynthWriteError as exc:  # disk full, an I/O error: not the input's fault
        return fail(str(exc), 1)
    except KeyboardInterrupt:
        return fail(
            "interrupted; finished shards are kept, run the same command again to resume", 130
        )
    try:
        print(report.summary())
        _print_example(args.out)
        sys.stdout.flush()
    except BrokenPipeError:
        return _reader_gone()
    return 0


def _reader_gone() -> int:
    """The reader of our stdout left (``| head``): stop quietly, as Unix tools do."""
    # Python would report the failed flush of the buffered rest at exit; send it nowhere.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 128 + signal.SIGPIPE


def _print_example(out: Path) -> None:
    labels = out / "labels.jsonl"
    if not labels.exists():
        return
    with open(labels, encoding="utf-8") as fh:
        first = fh.readline()
    if first:
        rec = json.loads(first)
        texts = " | ".join(t["text"] for t in rec.get("texts", []))
        print(f"first sample: {out / rec['image']}  text: {texts}")


def run_fonts(args: argparse.Namespace) -> int:
    from glyphgen.typeset.fonts import FontLibrary, describe

    try:
        lib = FontLibrary.load(args.dir, split=args.split)
    except (ValueError, OSError) as exc:
        return fail(str(exc))
    print(describe(lib))
    return 0
