"""``glyphgen bench``: the model benchmarks, run against the installed package.

glyphgen bench glyph   the glyph benchmark: held-out lines erased and redrawn by each model,
                       judged by OCR, beside the OCR ceiling (glyphgen.benchmark.glyph)
glyphgen bench edit    the style-edit benchmark: text A replaced by B on held-out photos,
                       judged for legibility, residue of A, colour and fidelity, beside the
                       classical no-model edit (glyphgen.benchmark.edit)
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from glyphgen import cmdline
from glyphgen.cmdline import argparse_type
from glyphgen.paths import REPO_ROOT

GLYPH_EXAMPLES = """examples:
  glyphgen bench glyph                                   # the ceiling row only
  glyphgen bench glyph --model shipped=weights/glyph-default --model draft=weights/glyph-default@0
  glyphgen bench glyph --model shipped=weights/glyph-default --limit 20 --no-sheet   # smoke run

A row is NAME=PATH (a trained pipeline folder, at its own strength and draft), NAME=PATH@S
(sampled at strength S; @0 is the draft with no model, @1 from pure noise), NAME=PATH@S@DRAFT
(DRAFT: glyph or classical; an empty S is the model's own) or NAME=PATH@S@DRAFT@G (G: OCR-guided
sampling's step, e.g. guided=weights/glyph-campaign@1@glyph@0.05). Writes benchmark.json,
benchmark.md and contact_sheet.png to --results; the images go to --work (scratch).
See bench/sets/README.md for the set, the judges and the recorded rows."""


BENCH_EXAMPLES = """examples:
  glyphgen bench glyph --model shipped=weights/glyph-default --limit 20 --no-sheet   # smoke run
  glyphgen bench glyph --model shipped=weights/glyph-default --model draft=weights/glyph-default@0
  glyphgen bench edit --model shipped=weights/glyph-default     # beside the classical edit

glyphgen bench glyph --help and glyphgen bench edit --help say what each row means and writes."""


def register(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser(
        "bench",
        help="benchmark glyph models (the glyph benchmark)",
        description="Benchmarks of the glyph model, side by side with their baselines.",
        epilog=BENCH_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    which = bench.add_subparsers(dest="benchmark", metavar="BENCHMARK")
    _register_glyph(which)
    _register_edit(which)
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
    _row_arguments(
        p,
        work=REPO_ROOT / "out" / "benchmark",
        results=bm.RESULTS_DIR,
        config=bm.SCENES_CONFIG,
    )
    p.add_argument(
        "--set", dest="set_file", type=Path, default=bm.SET_FILE, help="the fixed line set (JSONL)"
    )
    p.add_argument("--no-combined", action="store_true", help="skip the combined judge")
    p.set_defaults(func=run_glyph)


EDIT_EXAMPLES = """examples:
  glyphgen bench edit                                     # ground truth and the classical edit
  glyphgen bench edit --model draft=weights/glyph-default@0 --model shipped=weights/glyph-default
  glyphgen bench edit --model noise=weights/glyph-campaign@1@glyph   # from pure noise
  glyphgen bench edit --limit 20 --no-sheet               # smoke run

A row is written as for glyphgen bench glyph: NAME=PATH[@STRENGTH[@DRAFT[@GUIDANCE]]]. Each pair is a
held-out photo with text A (the source) and the same photo with B (the ground truth). A model
row gets what a user of glyphgen render has: the source, B's region and text, and A's region
as the style reference. Writes edits.json, edits.md and contact_sheet.png to --results; the
pairs and every row's images go to --work (the pairs are reused)."""


def _register_edit(which: argparse._SubParsersAction) -> None:
    from glyphgen.benchmark import edit as eb

    p = which.add_parser(
        "edit",
        help="text replaced on held-out photos, judged against the classical edit",
        description="The style-edit benchmark: ground truth, classical, then one row per --model.",
        epilog=EDIT_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _row_arguments(
        p, work=REPO_ROOT / "out" / "bench-edits", results=eb.RESULTS_DIR, config=eb.EDITS_CONFIG
    )
    p.add_argument(
        "--system-fonts",
        action="store_true",
        help="the classical edit also matches the old text against fontconfig's Chinese fonts",
    )
    p.set_defaults(func=run_edit)


def _row_arguments(p: argparse.ArgumentParser, *, work: Path, results: Path, config: Path) -> None:
    """The options both benchmarks take: model rows, folders, sampling, threads, the sheet."""
    count = argparse_type(cmdline.positive_int)
    p.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=PATH[@S[@DRAFT[@G]]]",
        help="a row: a trained pipeline folder (repeatable), e.g. shipped=weights/glyph-default",
    )
    p.add_argument("--work", type=Path, default=work, help="scratch folder for the images")
    p.add_argument("--results", type=Path, default=results, help="where the results go")
    p.add_argument("--config", type=Path, default=config, help="factory config of the scenes")
    p.add_argument("--limit", type=count, help="only the first N items (smoke runs)")
    p.add_argument("--steps", type=count, help="denoising steps (default: each model's own)")
    p.add_argument("--seed", type=int, default=0, help="render seed (item k: seed + k)")
    p.add_argument("--threads", type=int, default=0, help="torch and judge threads; 0 = all")
    p.add_argument("--no-sheet", action="store_true", help="no contact sheet")


def _models(specs: list[str], reserved: set[str], threads: int) -> list[Any]:
    """The ``--model`` rows, parsed and checked (unique, no reserved row name); torch's
    threads set as asked."""
    from glyphgen.benchmark import glyph as bm

    models = [bm.parse_model(spec) for spec in specs]
    names = [m.name for m in models]
    if len(set(names)) != len(names) or reserved & set(names):
        raise bm.BenchmarkError(
            f"--model names must be unique and none of {sorted(reserved)}: {names}"
        )
    if threads:
        import torch

        torch.set_num_threads(threads)
    return models


def _record(results: dict[str, Any], written: Callable[[dict[str, Any]], list[Path]]) -> None:
    """Machine and command into the results, then the files, each said."""
    from glyphgen.benchmark.machine import machine_info

    results["machine"] = machine_info()
    results["command"] = shlex.join(["glyphgen", *sys.argv[1:]])
    for path in written(results):
        print(f"wrote {path}")


def _sets_missing(command: str, *files: Path) -> int | None:
    """Exit 2 naming the fix when a set or config file is not there: the benchmarks' sets
    ship in a checkout (bench/sets/), not in the wheel."""
    missing = [str(f) for f in files if not Path(f).is_file()]
    if not missing:
        return None
    hint = ""
    if not (REPO_ROOT / "bench" / "sets").is_dir():  # an installed wheel
        hint = (
            ": the benchmarks' fixed sets ship in a checkout of the repository (bench/sets/), "
            "not in the installed wheel; run glyphgen bench from a checkout (git clone, then "
            "pip install -e .)"
        )
    print(f"{command}: error: {', '.join(missing)} not found{hint}", file=sys.stderr)
    return 2


def run_glyph(args: argparse.Namespace) -> int:
    from glyphgen.benchmark import glyph as bm

    if (code := _sets_missing("glyphgen bench glyph", args.set_file, args.config)) is not None:
        return code
    try:
        models = _models(args.model, {"ground-truth"}, args.threads)
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
    _record(results, lambda r: bm.write_results(r, args.results, sheet=not args.no_sheet))
    print(bm.markdown(results).split("\n\n")[3])  # the headline table
    return 0


def run_edit(args: argparse.Namespace) -> int:
    from glyphgen.benchmark import edit as eb
    from glyphgen.benchmark import glyph as bm

    if (code := _sets_missing("glyphgen bench edit", args.config)) is not None:
        return code
    try:
        models = _models(args.model, {"ground truth", "classical", "gt"}, args.threads)
        results = eb.run_edit_benchmark(
            models,
            args.work,
            config=args.config,
            limit=args.limit,
            steps=args.steps,
            threads=args.threads,
            seed=args.seed,
            system_fonts=args.system_fonts,
        )
    except bm.BenchmarkError as exc:
        print(f"glyphgen bench edit: error: {exc}", file=sys.stderr)
        return 2
    _record(results, lambda r: eb.write_results(r, args.results, sheet=not args.no_sheet))
    print(eb.markdown(results).split("\n\n")[3])  # the headline table
    return 0
