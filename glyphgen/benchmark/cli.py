"""``glyphgen bench``: the model benchmarks, run against the installed package.

glyphgen bench glyph   the glyph benchmark: held-out lines erased and redrawn by each model,
                       judged by OCR, beside the OCR ceiling (glyphgen.benchmark.glyph)
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from glyphgen.paths import REPO_ROOT

GLYPH_EXAMPLES = """examples:
  glyphgen bench glyph                                   # the ceiling row only
  glyphgen bench glyph --model shipped=weights/glyph-default --model draft=weights/glyph-default@0
  glyphgen bench glyph --model shipped=weights/glyph-default --limit 20 --no-sheet   # smoke run

A row is NAME=PATH (a trained pipeline folder) or NAME=PATH@S (sampled at strength S; @0 is the
glyph draft with no model, @1 from pure noise). Writes benchmark.json, benchmark.md and
contact_sheet.png to --results; the images go to --work (scratch).
See eval/benchmark/README.md for the set, the judges and the recorded rows."""


def register(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser(
        "bench",
        help="benchmark glyph models (the glyph benchmark)",
        description="Benchmarks of the glyph model, side by side with their baselines.",
    )
    which = bench.add_subparsers(dest="benchmark", metavar="BENCHMARK")
    _register_glyph(which)
    bench.set_defaults(func=lambda _args: bench.print_help() or 2)


def _register_glyph(which: argparse._SubParsersAction) -> None:
    from glyphgen.benchmark import glyph as bm

    p = which.add_parser(
        "glyph",
        help="held-out lines erased and redrawn by each model, judged by OCR",
        description="The glyph benchmark: the OCR ceiling, then one row per --model.",
        epilog=GLYPH_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=PATH[@S]",
        help="a row: a trained pipeline folder (repeatable), e.g. shipped=weights/glyph-default",
    )
    p.add_argument(
        "--work",
        type=Path,
        default=REPO_ROOT / "out" / "benchmark",
        help="scratch folder for the rendered scenes",
    )
    p.add_argument(
        "--results",
        type=Path,
        default=bm.BENCH_DIR / "results",
        help="where benchmark.json, benchmark.md and the contact sheet go",
    )
    p.add_argument(
        "--set", dest="set_file", type=Path, default=bm.SET_FILE, help="the fixed line set (JSONL)"
    )
    p.add_argument(
        "--config", type=Path, default=bm.SCENES_CONFIG, help="factory config drawing the scenes"
    )
    p.add_argument("--limit", type=_at_least_one, help="only the first N items (smoke runs)")
    p.add_argument(
        "--steps", type=_at_least_one, help="denoising steps (default: each model's own)"
    )
    p.add_argument("--seed", type=int, default=0, help="render seed (region k: seed + k)")
    p.add_argument("--threads", type=int, default=0, help="torch and judge threads; 0 = all")
    p.add_argument("--no-combined", action="store_true", help="skip the combined judge")
    p.add_argument("--no-sheet", action="store_true", help="no contact sheet")
    p.set_defaults(func=run_glyph)


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def run_glyph(args: argparse.Namespace) -> int:
    from glyphgen.benchmark import glyph as bm
    from glyphgen.benchmark.machine import machine_info

    try:
        models = [bm.parse_model(spec) for spec in args.model]
        names = [m.name for m in models]
        if len(set(names)) != len(names) or "ground-truth" in names:
            raise bm.BenchmarkError(f"--model names must be unique and not ground-truth: {names}")
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        results = bm.run_benchmark(
            models,
            args.work,
            set_file=args.set_file,
            config=args.config,
            limit=args.limit,
            steps=args.steps,
            threads=args.threads,
            combined=not args.no_combined,
            seed=args.seed,
        )
    except bm.BenchmarkError as exc:
        print(f"glyphgen bench glyph: error: {exc}", file=sys.stderr)
        return 2
    results["machine"] = machine_info()
    results["command"] = shlex.join(["glyphgen", *sys.argv[1:]])
    for path in bm.write_results(results, args.results, sheet=not args.no_sheet):
        print(f"wrote {path}")
    print(bm.markdown(results).split("\n\n")[3])  # the headline table
    return 0
