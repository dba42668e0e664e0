"""Verified rendering on both benchmarks, read by the selecting judge and an independent one.

    python bench/verified_render.py --limit 100 --threads 1          # what the results record

Per benchmark (the style-edit benchmark's held-out photo pairs, ``glyphgen bench edit``; the
glyph benchmark's held-out-font scenes with the line erased, ``glyphgen bench glyph``; the
first ``--limit`` items of each) and per model row, every item is rendered the way
``glyphgen render --verify`` renders it (``glyphgen.render.verify.verify_regions``: the
``combined`` judge selects, up to ``--tries`` seeds, the classical edit as the fallback).
The first try of each item is what an unverified render draws (same seed), so one pass
gives both rows:

- ``single``: the first try, as ``glyphgen render`` without ``--verify`` draws it;
- ``verified``: what verification keeps.

Each row (and the ground truth and the classical edit, for scale) is then read on the
benchmark's own annotations by PP-OCRv4 (the benchmark's judge, also the selecting one's
main reader) and by PP-OCRv5 (``ppocrv5``, which the selection never consults). Figures per
judge are over the regions whose target that judge can output (the evaluator's rule).
Also: the fraction of regions that fell back to the classical edit, the mean tries, the
seconds per region of each row, and how often a region verification called exact is read
otherwise by each judge. Writes ``bench/results/verified_render.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's glyphgen, when run as a script

from glyphgen.benchmark.machine import machine_info  # noqa: E402
from glyphgen.eval.backends import Recognizer, create_backend  # noqa: E402
from glyphgen.eval.evaluate import evaluate  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "verified_render"
DEFAULT_MODELS = ["default=weights/glyph-default", "noise=weights/glyph-campaign@1@glyph"]
JUDGES = {"PP-OCRv4": "rapidocr", "PP-OCRv5": "ppocrv5"}


@dataclass
class Item:
    image: str  # output path, relative to the labels' folder (as the annotations name it)
    start: np.ndarray  # what the region is drawn into: the source (edit) or the erased scene
    text: str
    polygon: np.ndarray
    vertical: bool
    style_ref: np.ndarray | None
    seed: int  # the benchmark's seed for this item (an unverified run's)


def edit_items(work: Path, limit: int, seed: int) -> tuple[Path, Path, list[Item]]:
    from glyphgen.benchmark.edit import EDITS_CONFIG, build_set, edits_config, load_edits

    cfg = edits_config(EDITS_CONFIG, limit)
    labels = build_set(cfg, work / "set", EDITS_CONFIG.parent)
    items = [
        Item(e.image, e.source, e.text_b, e.polygon, e.vertical, e.style_ref, seed + k)
        for k, e in enumerate(load_edits(labels))
    ]
    return labels, labels.parent, items


def glyph_items(work: Path, limit: int, seed: int) -> tuple[Path, Path, list[Item]]:
    from glyphgen.benchmark.glyph import SET_FILE, erase_region, read_labels, render_ground_truth
    from glyphgen.benchmark.glyph_set import load_items
    from glyphgen.images import open_image

    labels = render_ground_truth(load_items(SET_FILE)[:limit], work / "ground-truth")
    items = []
    for rec in read_labels(labels):
        line = rec["texts"][0]
        vertical = line["direction"] == "vertical"
        polygon = np.array(line["polygon"], np.float64)
        blank = erase_region(open_image(labels.parent / rec["image"]), polygon, vertical)
        items.append(
            Item(rec["image"], blank, line["text"], polygon, vertical, None, seed + rec["index"])
        )
    return labels, labels.parent, items


def save(folder: Path, item: Item, image: np.ndarray) -> None:
    from PIL import Image

    path = folder / item.image
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)


def request(it: Item, sampling: Any, style: bool = True, classical: bool = False) -> Any:
    from glyphgen.render import RenderRequest

    return RenderRequest(
        [it.text],
        [it.polygon],
        background=it.start,
        vertical=it.vertical,
        style_ref=it.style_ref if style else None,
        sampling=sampling,
        classical=classical,
    )


def classical_row(items: list[Item], fonts: Any, folder: Path) -> list[float]:
    """The classical edit as ``glyphgen bench edit`` draws it: A's colours from the region."""
    from glyphgen.render import Renderer, Sampling

    renderer = Renderer(fonts=fonts)
    seconds = []
    for it in items:
        started = time.perf_counter()
        done = renderer.render(request(it, Sampling(), style=False, classical=True))
        seconds.append(time.perf_counter() - started)
        save(folder, it, done.image)
    return seconds


def model_rows(
    spec: str,
    items: list[Item],
    fonts: Any,
    selector: Recognizer,
    tries: int,
    steps: int | None,
    folders: dict[str, Path],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Render every item verified, as ``Renderer`` does for a request with ``verify`` (its
    line drawer, its classical fallback, the judge reading each entry), keeping the first
    try too (``single``); per item its verification and seconds."""
    from glyphgen.benchmark.glyph import parse_model
    from glyphgen.render import Renderer, Sampling
    from glyphgen.render.verify import read_record, verify_regions

    model = parse_model(spec)
    renderer = Renderer(model.weights, fonts=fonts, judge=selector)
    renderer.pipeline()  # loaded before the clock starts
    per_item = []
    for n, it in enumerate(items):
        sampling = Sampling(it.seed, steps, model.strength, model.draft, model.guidance)
        prepared = renderer.prepare(request(it, sampling))
        first: dict[str, Any] = {}  # the first try: what an unverified render draws
        draw = _first_kept(renderer.line_drawer(prepared, None), first)
        started = time.perf_counter()
        out, _, checks = verify_regions(
            prepared.image,
            [it.text],
            draw,
            lambda image, record: read_record(selector, image, record),
            seed=it.seed,
            tries=tries,
            fallback=renderer.classical_fallback(prepared, None),
        )
        verified_s = time.perf_counter() - started
        save(folders["single"], it, first["image"])
        save(folders["verified"], it, out)
        per_item.append(
            {
                "single_s": round(first["seconds"], 3),
                "verified_s": round(verified_s, 3),
                **checks[0].record(),
            }
        )
        if (n + 1) % 10 == 0:
            print(f"  {model.name}: {n + 1}/{len(items)}", flush=True)
    s = prepared.sampling
    info = {
        "weights": str(model.weights),
        "strength": s.strength,
        "draft": s.draft,
        "guidance": s.guidance,
        "steps": s.steps,
    }
    return info, per_item


def _first_kept(base: Any, first: dict[str, Any]) -> Any:
    def draw(image: np.ndarray, k: int, seed: int) -> Any:
        started = time.perf_counter()
        drawn = base(image, k, seed)
        if not first:
            first.update(image=drawn[0], seconds=time.perf_counter() - started)
        return drawn

    return draw


def read_row(labels: Path, folder: Path, judges: dict[str, Recognizer]) -> dict[str, list]:
    """Per judge, per region in label order: (covered, exact) or None where not covered."""
    out: dict[str, list] = {}
    for name, judge in judges.items():
        report = evaluate(labels, folder, backend=judge)
        regions = sorted(report.regions, key=lambda r: (r.sample, r.region))
        out[name] = [None if r.covered is False else bool(r.exact) for r in regions]
    return out


def legibility(reads: dict[str, list]) -> dict[str, Any]:
    figures = {}
    for name, exact in reads.items():
        judged = [e for e in exact if e is not None]
        figures[name] = {
            "regions": len(judged),
            "sentence_acc": round(sum(judged) / len(judged), 4) if judged else None,
        }
    return figures


def disagreements(per_item: list[dict[str, Any]], reads: dict[str, list]) -> dict[str, Any]:
    """Of the regions verification calls exact (and the judge can read), how many the
    judge reads otherwise."""
    out = {}
    for name, exact in reads.items():
        called = [e for e, it in zip(exact, per_item, strict=True) if it["exact"] and e is not None]
        out[name] = {"exact_true": len(called), "read_otherwise": sum(1 for e in called if not e)}
    return out


def mean(values: list[float]) -> float:
    return round(statistics.fmean(values), 3) if values else float("nan")


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from glyphgen.typeset.fonts import FontLibrary

    torch.set_num_threads(args.threads)
    selector = create_backend("combined", threads=args.threads)
    judges = {name: create_backend(b, threads=args.threads) for name, b in JUDGES.items()}
    fonts = FontLibrary.load(progress=False)
    results: dict[str, Any] = {
        "command": " ".join(["python bench/verified_render.py", *sys.argv[1:]]),
        "machine": machine_info(),
        "limit": args.limit,
        "tries": args.tries,
        "selector": "combined (PP-OCRv4 where it can output the target, glyphgen's reader else)",
        "judges": {name: j.info() for name, j in judges.items()},
        "benchmarks": {},
    }
    for bench in args.bench:
        work = args.work / bench
        make = edit_items if bench == "edit" else glyph_items
        labels, truth, items = make(work, args.limit, args.seed)
        print(f"{bench}: {len(items)} items", flush=True)
        rows = [{"name": "ground truth", **legibility(read_row(labels, truth, judges))}]
        seconds = classical_row(items, fonts, work / "classical")
        reads = read_row(labels, work / "classical", judges)
        rows.append({"name": "classical", **legibility(reads), "mean_s": mean(seconds)})
        results["benchmarks"][bench] = {"items": len(items), "rows": rows}
        for spec in args.model:
            name = spec.split("=", 1)[0]
            folders = {kind: work / f"{name}-{kind}" for kind in ("single", "verified")}
            info, per_item = model_rows(
                spec, items, fonts, selector, args.tries, args.steps, folders
            )
            single = read_row(labels, folders["single"], judges)
            verified = read_row(labels, folders["verified"], judges)
            rows.append(
                {
                    "name": f"{name} single",
                    **info,
                    **legibility(single),
                    "mean_s": mean([p["single_s"] for p in per_item]),
                }
            )
            rows.append(
                {
                    "name": f"{name} verified",
                    **info,
                    **legibility(verified),
                    "mean_s": mean([p["verified_s"] for p in per_item]),
                    "mean_tries": mean([p["tries"] for p in per_item]),
                    "fallbacks": sum(p["fallback"] is not None for p in per_item),
                    "selector_exact": sum(p["exact"] for p in per_item),
                    "disagree": disagreements(per_item, verified),
                    "per_item": per_item,
                }
            )
            write(results, args.out)  # a killed run keeps the rows done so far
    return results


def reread(args: argparse.Namespace) -> dict[str, Any]:
    """No drawing: re-read the images a run left in ``--work`` (the items whose single and
    verified images are both there, e.g. of a run stopped early). What the run kept in
    memory is not on disk: tries and seconds are not known; a verified image equal to the
    single one is a first try kept, one equal to the item's classical fallback a fallback.
    With several ``--model`` rows, each is also paired with the first, region by region
    (``paired``)."""
    from glyphgen.benchmark.glyph import parse_model
    from glyphgen.images import open_image
    from glyphgen.render import Renderer, Sampling

    judges = {name: create_backend(b, threads=args.threads) for name, b in JUDGES.items()}
    results: dict[str, Any] = {
        "command": " ".join(["python bench/verified_render.py", *sys.argv[1:]]),
        "machine": machine_info(),
        "limit": args.limit,
        "tries": args.tries,
        "selector": "combined (PP-OCRv4 where it can output the target, glyphgen's reader else)",
        "judges": {name: j.info() for name, j in judges.items()},
        "benchmarks": {},
        "paired": {},
    }
    for bench in args.bench:
        work = args.work / bench
        make = edit_items if bench == "edit" else glyph_items
        labels, truth, items = make(work, args.limit, args.seed)
        lines = labels.read_text(encoding="utf-8").splitlines()
        for spec in args.model:
            model = parse_model(spec)
            folders = {kind: work / f"{model.name}-{kind}" for kind in ("single", "verified")}
            keep = [
                k
                for k, it in enumerate(items)
                if all((f / it.image).is_file() for f in folders.values())
            ]
            if not keep:
                continue
            subset = work / f"{model.name}-reread-labels.jsonl"
            subset.write_text("".join(lines[k] + "\n" for k in keep), encoding="utf-8")
            renderer = Renderer(model.weights)
            first = fallback = 0
            for k in keep:
                it = items[k]
                single, verified = (open_image(f / it.image) for f in folders.values())
                if np.array_equal(single, verified):
                    first += 1
                    continue
                prepared = renderer.prepare(
                    request(
                        it, Sampling(it.seed, None, model.strength, model.draft, model.guidance)
                    )
                )
                classical, _ = renderer.classical_fallback(prepared, None)(prepared.image, 0)
                fallback += bool(np.array_equal(classical, verified))
            rows = [
                {"name": "ground truth", **legibility(read_row(subset, truth, judges))},
                {"name": "classical", **legibility(read_row(subset, work / "classical", judges))},
                {
                    "name": f"{model.name} single",
                    **legibility(read_row(subset, folders["single"], judges)),
                },
                {
                    "name": f"{model.name} verified",
                    **legibility(read_row(subset, folders["verified"], judges)),
                    "first_try_kept": first,
                    "fallbacks": fallback,
                },
            ]
            results["benchmarks"][f"{bench}, {model.name}, re-read"] = {
                "items": len(keep),
                "rows": rows,
            }
        if len(args.model) > 1:
            results["paired"][bench] = paired(work, labels, items, args.model, judges)
    return results


def paired(
    work: Path, labels: Path, items: list[Item], specs: list[str], judges: dict[str, Recognizer]
) -> list[dict[str, Any]]:
    """Each model row after the first against the first, single against single and verified
    against verified, per judge: the difference in sentence accuracy over the regions both
    images hold and the judge can output, with its paired bootstrap 95% interval, and the
    regions read exactly by one and not the other (wins / losses)."""
    from glyphgen.benchmark.edit import BOOTSTRAP_SEED
    from glyphgen.eval.edit_metrics import paired_bootstrap

    names = [spec.split("=", 1)[0] for spec in specs]
    out = []
    for kind in ("single", "verified"):
        folders = [work / f"{name}-{kind}" for name in names]
        if not all((f / it.image).is_file() for f in folders for it in items):
            continue  # a row stopped early: only whole rows are paired
        reads = [read_row(labels, f, judges) for f in folders]
        for name, read in zip(names[1:], reads[1:], strict=True):
            row: dict[str, Any] = {"row": f"{name} {kind}", "base": f"{names[0]} {kind}"}
            for judge in judges:
                both = [
                    (float(a), float(b))
                    for a, b in zip(read[judge], reads[0][judge], strict=True)
                    if a is not None and b is not None
                ]
                a, b = np.array(both).T
                rng = np.random.default_rng(BOOTSTRAP_SEED)
                interval = paired_bootstrap(a, b, rng)
                row[judge] = {
                    "regions": len(both),
                    "mean_difference": interval.mean_difference,
                    "low": interval.low,
                    "high": interval.high,
                    "wins": int(((a == 1) & (b == 0)).sum()),
                    "losses": int(((a == 0) & (b == 1)).sum()),
                }
            out.append(row)
    return out


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    out = [
        "# Verified rendering, read by two judges",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores (shared with other jobs); {m['date']}. "
        f"Command: `{results['command']}`.",
        "",
        f"The first {results['limit']} items of each benchmark. Selecting judge: "
        f"{results['selector']}; up to {results['tries']} tries per region, then the "
        "classical edit. Each row read on the benchmark's annotations by PP-OCRv4 and by "
        "PP-OCRv5 (independent: never consulted by the selection); each over the regions "
        "whose target it can output (n). `single`: the first try, what `glyphgen render` "
        "draws without `--verify`.",
    ]
    for bench, b in results["benchmarks"].items():
        title = "Style-edit benchmark" if bench.startswith("edit") else "Glyph benchmark"
        title += bench.partition(",")[2] and f" ({bench.partition(',')[2].strip()})"
        out += [
            "",
            f"## {title} ({b['items']} items)",
            "",
            "| row | PP-OCRv4 sent. acc (n) | PP-OCRv5 sent. acc (n) | fallbacks | mean tries "
            "| s / region | exact:true read otherwise by v4 / v5 |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        single_s: dict[str, float] = {}
        for row in b["rows"]:
            cells = [
                f"{row[j]['sentence_acc']:.3f} ({row[j]['regions']})"
                if row[j]["sentence_acc"] is not None
                else "-"
                for j in JUDGES
            ]
            verified = "disagree" in row
            fb = (
                f"{row['fallbacks']} ({row['fallbacks'] / b['items']:.0%})"
                if "fallbacks" in row
                else "-"
            )
            tries = f"{row['mean_tries']:.2f}" if verified else "-"
            if "first_try_kept" in row:
                tries = f"1 for {row['first_try_kept']}, more for {b['items'] - row['first_try_kept'] - row['fallbacks']}"
            secs = f"{row['mean_s']:.2f}" if "mean_s" in row else "-"
            base = row["name"].removesuffix(" single").removesuffix(" verified")
            if row["name"].endswith(" single") and "mean_s" in row:
                single_s[base] = row["mean_s"]
            elif verified and base in single_s:
                secs += f" ({row['mean_s'] / single_s[base]:.2f}x single)"
            dis = (
                " / ".join(
                    f"{row['disagree'][j]['read_otherwise']} of {row['disagree'][j]['exact_true']}"
                    for j in JUDGES
                )
                if verified
                else "-"
            )
            out.append(f"| {row['name']} | {' | '.join(cells)} | {fb} | {tries} | {secs} | {dis} |")
    from glyphgen.benchmark.edit import interval_cell

    for bench, rows in results.get("paired", {}).items():
        title = "style-edit" if bench == "edit" else "glyph"
        out += [
            "",
            f"## Paired, {title} benchmark: each row against the first model's, region by region",
            "",
            "Sentence accuracy difference, paired bootstrap 95%, over the regions both "
            "images hold and the judge can output (n); wins / losses: read exactly by the "
            "row and not the base / the other way.",
            "",
            "| row | against | PP-OCRv4 (n) | wins / losses | PP-OCRv5 (n) | wins / losses |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for row in rows:
            cells = [
                f"{interval_cell(row[j])} ({row[j]['regions']}) | {row[j]['wins']} / "
                f"{row[j]['losses']}"
                for j in JUDGES
            ]
            out.append(f"| {row['row']} | {row['base']} | {' | '.join(cells)} |")
    return "\n".join(out) + "\n"


def merge(paths: list[Path]) -> dict[str, Any]:
    """One result from several runs' JSON (each its own benchmarks, command and machine)."""
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    merged = {**runs[0], "benchmarks": {}}
    merged["command"] = " ; ".join(r["command"] for r in runs)
    for r in runs:
        merged["benchmarks"].update(r["benchmarks"])
    return merged


def write(results: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    out.with_suffix(".md").write_text(markdown(results))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--work", type=Path, default=ROOT / "out" / "bench-verified")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--bench", nargs="+", choices=("edit", "glyph"), default=["edit", "glyph"])
    ap.add_argument(
        "--model", action="append", help=f"NAME=PATH[@S[@DRAFT]] (default: {DEFAULT_MODELS})"
    )
    ap.add_argument("--limit", type=int, default=100, help="the first N items of each benchmark")
    ap.add_argument("--tries", type=int, default=4)
    ap.add_argument("--steps", type=int, help="denoising steps (default: each model's own)")
    ap.add_argument("--seed", type=int, default=0, help="item k's first seed: seed + k")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--reread",
        action="store_true",
        help="no drawing: re-read the images a run (perhaps stopped) left in --work",
    )
    ap.add_argument(
        "--merge",
        nargs="+",
        type=Path,
        metavar="JSON",
        help="no run: write --out from the results of runs made apart (one per --bench)",
    )
    args = ap.parse_args()
    args.model = args.model or DEFAULT_MODELS
    results = merge(args.merge) if args.merge else reread(args) if args.reread else run(args)
    write(results, args.out)
    print(markdown(results))


if __name__ == "__main__":
    main()
