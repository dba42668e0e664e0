"""Run the glyph benchmark: ground truth (the OCR ceiling), then one row per model.

    python eval/benchmark/run.py                                   # the ceiling row only
    python eval/benchmark/run.py --model shipped=weights/glyph-default \\
        --model no-ocr-loss=out/model-noocr/weights --model no-controlnet=out/model-noctrl/weights \\
        --model stage1=out/model/weights-stage1

Writes benchmark.json, benchmark.md and contact_sheet.png to --results (default
eval/benchmark/results); images go to --work (default out/benchmark, scratch). The logic
is glyphgen/benchmark/glyph.py; see eval/benchmark/README.md.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # bench.machine

from bench.machine import machine_info  # noqa: E402
from glyphgen.benchmark import glyph as bm  # noqa: E402


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="a row: a trained pipeline folder (repeatable), e.g. shipped=weights/glyph-default",
    )
    p.add_argument("--work", type=Path, default=REPO / "out" / "benchmark", help="image folder")
    p.add_argument("--results", type=Path, default=bm.BENCH_DIR / "results")
    p.add_argument("--set", dest="set_file", type=Path, default=bm.SET_FILE)
    p.add_argument("--config", type=Path, default=bm.SCENES_CONFIG, help="factory config")
    p.add_argument("--limit", type=int, help="only the first N items (smoke runs)")
    p.add_argument("--steps", type=int, help="denoising steps (default: each model's own)")
    p.add_argument("--seed", type=int, default=0, help="render seed (region k: seed + k)")
    p.add_argument("--threads", type=int, default=0, help="torch and judge threads; 0 = all")
    p.add_argument("--no-combined", action="store_true", help="skip the combined judge")
    p.add_argument("--no-sheet", action="store_true", help="no contact sheet")
    args = p.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        p.error("--limit must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
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
        print(f"benchmark: error: {exc}", file=sys.stderr)
        return 2
    results["machine"] = machine_info()
    given = sys.argv[1:] if argv is None else argv
    results["command"] = shlex.join(["python", "eval/benchmark/run.py", *given])
    for path in bm.write_results(results, args.results, sheet=not args.no_sheet):
        print(f"wrote {path}")
    print(bm.markdown(results).split("\n\n")[3])  # the headline table
    return 0


if __name__ == "__main__":
    sys.exit(main())
