"""``glyphgen eval``: parse arguments, call ``evaluate``, write the reports, apply the gates."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

EXIT_PASS = 0  # evaluated; every gate passed (or none was set)
EXIT_GATE_FAILED = 1  # evaluated; at least one gate failed
EXIT_COULD_NOT_EVALUATE = 2  # nothing could be measured, or a usage error (argparse uses 2 too)

EXAMPLES = """\
examples:
  glyphgen eval --annotations out/synth/labels.jsonl                # factory output, images beside it
  glyphgen eval --annotations test1k.json --images generated/ --out eval-report
  glyphgen eval --annotations labels.jsonl --images generated/ --ceiling-images ground_truth/ \\
                --min-sentence-acc 0.80 --min-ned 0.90 --junit junit.xml --html report.html
  glyphgen eval --annotations det_gt.txt --format paddle-det --images data/ --strict

exit codes:
  0  evaluated, all gates passed (or no gate set)
  1  evaluated, a gate failed (--min-sentence-acc, --min-ned, --min-ratio, --max-problems);
     by default any data problem fails the run (--max-problems is 0 unless given)
  2  could not evaluate: bad annotation file, backend unavailable, no readable region, a data
     problem under --strict, a gate with nothing to measure; also command-line usage errors

Data problems (missing, unreadable or too-large images, polygons outside the image, empty
targets, malformed annotation lines) are recorded per sample in the report, with the image
file looked for, and counted; the run goes on unless --strict is given. Their regions are
not scored, so the metrics leave them out: that is why a data problem fails the run by
default (exit 1). --max-problems N accepts up to N; --allow-problems accepts any number
(the metric gates then judge only the regions that could be scored).
"""


def register(sub: argparse._SubParsersAction) -> None:
    from glyphgen.eval.annotations import FORMATS
    from glyphgen.eval.backends import backend_names

    p = sub.add_parser(
        "eval",
        help="OCR-check images against their expected text (sentence accuracy, NED, ...)",
        description=(
            "Read the annotated text regions of images with an OCR judge and measure whether "
            "they carry exactly the text they should."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_argument_group("input")
    src.add_argument("--annotations", type=Path, help="JSONL, AnyWord JSON or PaddleOCR label file")
    src.add_argument(
        "--images",
        type=Path,
        help="folder the image paths are relative to (default: beside the annotations)",
    )
    src.add_argument(
        "--format", default="auto", choices=["auto", *FORMATS], help="annotation format"
    )
    src.add_argument("--limit", type=int, help="evaluate only the first N samples")
    src.add_argument(
        "--strict", action="store_true", help="stop at the first data problem (exit 2)"
    )

    judge = p.add_argument_group("judge")
    judge.add_argument(
        "--backend", help=f"OCR backend: {', '.join(backend_names())} (default: rapidocr)"
    )
    judge.add_argument(
        "--backend-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="backend option, repeatable (e.g. batch_size=8, model_dir=PATH)",
    )
    judge.add_argument(
        "--list-backends", action="store_true", help="list backends and whether they load"
    )
    judge.add_argument(
        "--config",
        type=Path,
        help="YAML eval config (sections: normalize, crop, backend, gates, report)",
    )
    judge.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set normalize.whitespace=keep",
    )
    judge.add_argument(
        "--print-config", action="store_true", help="print the resolved config as YAML, exit"
    )
    judge.add_argument(
        "--uncovered",
        choices=["separate", "include"],
        help="targets with characters the judge cannot output: own group (default) or counted",
    )

    ceil = p.add_argument_group("OCR ceiling").add_mutually_exclusive_group()
    ceil.add_argument(
        "--ceiling-images", type=Path, help="ground-truth images for the same annotations"
    )
    ceil.add_argument(
        "--ceiling-report", type=Path, help="a JSON report of an earlier run on ground truth"
    )

    p.add_argument_group("fidelity (text edits with a known ground truth)").add_argument(
        "--reference-images",
        type=Path,
        metavar="DIR",
        help="ground-truth images at the same relative paths: each region's PSNR, SSIM, seam "
        "and colour cast against them (definitions: docs/eval.md, style-edit figures); gate "
        "with --min-psnr / --min-ssim",
    )

    out = p.add_argument_group("output")
    out.add_argument(
        "--out", type=Path, help="folder for report.json, report.md, report.html, junit.xml"
    )
    out.add_argument("--json", type=Path, help="JSON report (machine-readable, every region)")
    out.add_argument("--markdown", type=Path, help="Markdown summary tables")
    out.add_argument("--html", type=Path, help="HTML report with a thumbnail of every region")
    out.add_argument("--junit", type=Path, help="JUnit XML for CI (one test case per gate)")
    out.add_argument(
        "--junit-regions", action="store_true", help="also one JUnit test case per region"
    )
    out.add_argument(
        "--html-rows", type=int, help="regions shown in the HTML report, worst first (default 2000)"
    )
    out.add_argument("--quiet", action="store_true", help="no tables, no progress bar")

    gates = p.add_argument_group("gates (exit 1 when one fails)")
    gates.add_argument(
        "--min-sentence-acc", type=float, metavar="X", help="minimum sentence accuracy, 0..1"
    )
    gates.add_argument("--min-ned", type=float, metavar="X", help="minimum mean NED, 0..1")
    gates.add_argument(
        "--min-ratio", type=float, metavar="X", help="minimum mean Levenshtein ratio, 0..1"
    )
    gates.add_argument(
        "--min-psnr", type=float, metavar="DB", help="minimum mean PSNR vs --reference-images"
    )
    gates.add_argument(
        "--min-ssim", type=float, metavar="X", help="minimum mean SSIM vs --reference-images"
    )
    problems = gates.add_mutually_exclusive_group()
    problems.add_argument(
        "--max-problems",
        type=int,
        metavar="N",
        help="maximum data problems (missing/unreadable images, bad polygons, ...); default 0",
    )
    problems.add_argument(
        "--allow-problems",
        action="store_true",
        help="do not fail on data problems: gate only the regions that could be scored",
    )
    p.add_argument(
        "--allow-outside-images",
        action="store_true",
        help="read image paths that leave --images ('../', absolute); by default each is a "
        "problem (image-outside) and never opened",
    )
    p.set_defaults(func=run_eval)


def _fail(message: str) -> int:
    print(f"glyphgen eval: error: {message}", file=sys.stderr)
    return EXIT_COULD_NOT_EVALUATE


def _extra(args: argparse.Namespace) -> dict[str, Any]:
    """CLI flags as a config dict, applied over the YAML file and --set."""
    from glyphgen.configio import parse_override

    extra: dict[str, Any] = {}
    gates = {
        "min_sentence_acc": args.min_sentence_acc,
        "min_ned": args.min_ned,
        "min_ratio": args.min_ratio,
        "min_psnr": args.min_psnr,
        "min_ssim": args.min_ssim,
        "max_problems": args.max_problems,
    }
    if any(v is not None for v in gates.values()):
        extra["gates"] = {k: v for k, v in gates.items() if v is not None}
    if args.allow_problems:
        extra.setdefault("gates", {})["max_problems"] = None
    if args.allow_outside_images:
        extra["allow_outside_images"] = True
    backend: dict[str, Any] = {}
    if args.backend:
        backend["name"] = args.backend
    for text in args.backend_option:
        backend.setdefault("options", {}).update(parse_override(text))
    if backend:
        extra["backend"] = backend
    report: dict[str, Any] = {}
    if args.uncovered:
        report["uncovered"] = args.uncovered
    if args.html_rows is not None:
        report["html_rows"] = args.html_rows
    if report:
        extra["report"] = report
    return extra


def run_eval(args: argparse.Namespace) -> int:
    from glyphgen.configio import ConfigError
    from glyphgen.eval.config import load_eval_config
    from glyphgen.eval.evaluate import CouldNotEvaluate, evaluate
    from glyphgen.eval.html import write_html
    from glyphgen.eval.junit import write_junit
    from glyphgen.eval.report import Report
    from glyphgen.eval.table import markdown

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    if args.list_backends:
        return _list_backends()
    try:
        cfg = load_eval_config(args.config, args.overrides, _extra(args))
    except (ConfigError, ValueError) as exc:
        return _fail(str(exc))
    fidelity_gates = [g for g in ("min_psnr", "min_ssim") if getattr(cfg.gates, g) is not None]
    if fidelity_gates and args.reference_images is None:
        return _fail(
            f"gates.{', gates.'.join(fidelity_gates)} compare with reference images: "
            "give --reference-images DIR (the ground truth at the same relative paths)"
        )
    if args.print_config:
        import yaml

        from glyphgen.configio import to_dict

        print(yaml.safe_dump(to_dict(cfg), allow_unicode=True, sort_keys=False), end="")
        return EXIT_PASS
    if args.annotations is None:
        return _fail("--annotations FILE is required (see glyphgen eval --help)")

    if args.limit is not None and args.limit < 1:
        return _fail(f"--limit {args.limit}: pass a number of samples >= 1")
    paths = _output_paths(args)
    for path in paths.values():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return _fail(f"cannot create the folder for {path}: {exc}")
    try:
        ceiling_report = Report.read_json(args.ceiling_report) if args.ceiling_report else None
        report = evaluate(
            args.annotations,
            args.images,
            config=cfg,
            fmt=args.format,
            ceiling_images=args.ceiling_images,
            reference_images=args.reference_images,
            strict=args.strict,
            limit=args.limit,
            thumbnails="html" in paths,
            progress=not args.quiet and sys.stderr.isatty(),
        )
    except (CouldNotEvaluate, ValueError, OSError) as exc:
        if "junit" in paths:
            try:
                write_junit(None, paths["junit"], error=str(exc))
            except OSError as write_error:
                print(
                    f"glyphgen eval: cannot write {paths['junit']}: {write_error}", file=sys.stderr
                )
        return _fail(str(exc))
    if ceiling_report is not None:
        report.attach_ceiling(ceiling_report, str(args.ceiling_report))
    report.check_gates(cfg.gates)

    try:
        if "json" in paths:
            report.write_json(paths["json"])
        if "markdown" in paths:
            paths["markdown"].write_text(markdown(report), encoding="utf-8")
        if "html" in paths:
            write_html(report, paths["html"], max_rows=cfg.report.html_rows)
        if "junit" in paths:
            write_junit(report, paths["junit"], regions=args.junit_regions)
    except OSError as exc:
        return _fail(f"cannot write the report: {exc}")

    if not args.quiet:
        print(markdown(report))
        for name, path in paths.items():
            print(f"{name}: {path}")
    if not report.measurable:
        return _fail("a gate had nothing to measure: no region counts in the summary")
    if not report.passed:
        failed = ", ".join(g.message for g in report.gates if not g.passed)
        print(f"glyphgen eval: FAIL: {failed}", file=sys.stderr)
        return EXIT_GATE_FAILED
    return EXIT_PASS


def _output_paths(args: argparse.Namespace) -> dict[str, Path]:
    paths: dict[str, Path] = {}
    if args.out:
        paths = {
            "json": args.out / "report.json",
            "markdown": args.out / "report.md",
            "html": args.out / "report.html",
            "junit": args.out / "junit.xml",
        }
    for key in ("json", "markdown", "html", "junit"):
        if getattr(args, key) is not None:
            paths[key] = getattr(args, key)
    return paths


def _list_backends() -> int:
    from glyphgen.eval.backends import BackendUnavailable, backend_names, create_backend
    from glyphgen.eval.coverage import gb2312_coverage

    for name in backend_names():
        try:
            backend = create_backend(name)
        except (BackendUnavailable, ValueError) as exc:
            print(f"{name}: unavailable: {exc}")
            continue
        print(f"{name}: available {backend.info()}")
        charset = backend.charset()
        if charset is None:
            print("  dictionary: not known (uncovered targets cannot be flagged)")
            continue
        print(f"  dictionary: {len(charset - {' '})} characters")
        for level, c in gb2312_coverage(charset).items():
            missing = str(c["missing"])
            shown = missing if len(missing) <= 12 else missing[:12] + "..."
            print(
                f"  {level}: {c['covered']} of {c['total']} covered"
                + (f", missing {shown}" if missing else "")
            )
    return EXIT_PASS
