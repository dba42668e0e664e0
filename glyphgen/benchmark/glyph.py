"""The glyph benchmark: a fixed set of lines on held-out fonts, redrawn by each model and
read by the OCR judge (``bench/sets/``, issue 6).

``run_benchmark`` in five steps:

1. render the ground truth with the factory: scene i draws line i of the set
   (``bench/sets/scenes.yaml``: ``text.order: sequential``, ``fonts.split: heldout``, a
   seed no training config uses), vertical items as columns, one region per scene;
2. judge the ground truth: the OCR ceiling row;
3. per model: erase the item's region from the ground-truth image (inpainted, so no ink of
   the answer is left for the model or the judge), then redraw the item's text into that
   region with ``render_regions``, the code ``glyphgen render`` runs (AnyText's editing
   setting), timing each region;
4. judge each model's images on the ground-truth annotations: the very crops of the ceiling;
5. summarise per group of the set (level 1/2, horizontal/vertical, short/long, phrase/level-2
   sample) and write ``benchmark.json``, ``benchmark.md`` and a contact sheet.

Targets with characters the default judge (PP-OCRv4) cannot output are left out of every
headline and group figure (the evaluator's rule) and counted apart; the ``combined`` judge
(PP-OCRv4 + glyphgen's reader) scores them when the reader's weights exist.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from glyphgen.benchmark.glyph_set import load_items, set_digest
from glyphgen.configio import ConfigError
from glyphgen.eval.annotations import read_annotations
from glyphgen.eval.backends import BackendUnavailable, Recognizer, create_backend
from glyphgen.eval.evaluate import evaluate
from glyphgen.eval.metrics import Aggregate, aggregate
from glyphgen.eval.report import RegionResult, Report
from glyphgen.images import open_image
from glyphgen.model.config import SAMPLING_RULES, check_draft
from glyphgen.paths import REPO_ROOT, resolve_data_path
from glyphgen.safeweights import WeightsChanged, check_manifest
from glyphgen.synth.config import SynthConfig, load_config
from glyphgen.synth.render import Renderer
from glyphgen.synth.runner import load_fonts
from glyphgen.synth.text import load_corpus
from glyphgen.synth.writers.jsonl import line_record
from glyphgen.typeset.fonts import FontLibrary

SCHEMA = "glyphgen.benchmark/1"
BENCH_DIR = REPO_ROOT / "bench" / "sets"  # the fixed sets and configs (a checkout's)
RESULTS_DIR = REPO_ROOT / "bench" / "results" / "glyph_benchmark"
SET_FILE = BENCH_DIR / "lines.jsonl"
SCENES_CONFIG = BENCH_DIR / "scenes.yaml"
# Item fields reported per value, values in table order.
GROUPS = {
    "level": ("l1", "l2"),
    "direction": ("horizontal", "vertical"),
    "length": ("short", "long"),
    "source": ("phrase", "level2"),
}
ERASE_PAD = 0.25  # erased around the line polygon, x line height (strokes, shadows)


class BenchmarkError(ValueError):
    """The benchmark cannot run as asked; the message says what to change."""


@dataclass
class ModelEntry:
    name: str  # the row's name, e.g. "shipped"
    weights: Path  # a trained pipeline folder (model_index.json)
    strength: float | None = None  # sampling strength; None: the pipeline's default_strength
    draft: str | None = None  # render's draft; None: the pipeline's default_draft
    guidance: float = 0.0  # OCR-guided sampling's step (glyphgen.model.guidance); 0: off


def parse_model(spec: str) -> ModelEntry:
    """``NAME=PATH``, ``NAME=PATH@STRENGTH``, ``NAME=PATH@STRENGTH@DRAFT`` or
    ``NAME=PATH@STRENGTH@DRAFT@GUIDANCE`` (STRENGTH and DRAFT may be empty: the model's own)
    from ``--model``; the folder must hold a trained pipeline; STRENGTH in [0, 1] (0: the
    draft alone, no denoising); DRAFT one of ``DRAFTS``; GUIDANCE in [0, 1] (OCR-guided
    sampling's step, 0 unguided)."""
    name, sep, path = spec.partition("=")
    if not sep or not name or not path:
        raise BenchmarkError(
            f"--model {spec!r}: give NAME=PATH or NAME=PATH@STRENGTH, "
            "e.g. shipped=weights/glyph-default, draft=weights/glyph-default@0 or "
            "hybrid=weights/glyph-default@0.3@classical"
        )
    path, *after = path.split("@")
    if len(after) > 3:
        raise BenchmarkError(f"--model {spec}: at most three @ (NAME=PATH@STRENGTH@DRAFT@GUIDANCE)")
    value, draft, guided = [*after, "", "", ""][:3]
    strength = None
    # "PATH@@DRAFT": the model's own strength; "PATH@": refused
    if after and (value or not (draft or guided)):
        try:
            strength = float(value)
        except ValueError:
            strength = float("nan")  # refused just below, like any value outside [0, 1]
        if not 0 <= strength <= 1:
            raise BenchmarkError(f"--model {spec}: the strength after @ must be in [0, 1]")
    if draft:
        try:
            check_draft(draft)
        except ValueError as exc:
            raise BenchmarkError(f"--model {spec}: the draft after the second @ {exc}") from None
    guidance = 0.0
    if guided:
        try:
            guidance = SAMPLING_RULES["guidance"](guided)
        except ValueError as exc:
            raise BenchmarkError(f"--model {spec}: the guidance after the third @ {exc}") from None
    weights = resolve_data_path(path)  # weights/glyph-default: the bundled one
    if not (weights / "model_index.json").is_file():
        raise BenchmarkError(
            f"--model {spec}: {weights} holds no trained glyph pipeline (no model_index.json). "
            "Train one with `glyphgen train --config cpu` (it writes out/model/weights), then "
            f"pass --model {name}=out/model/weights"
        )
    try:  # now, not after the rows before it have run for an hour
        check_manifest(weights)
    except WeightsChanged as exc:
        raise BenchmarkError(f"--model {spec}: {exc}") from None
    return ModelEntry(name, weights, strength, draft or None, guidance)


# -- 1. ground truth -----------------------------------------------------------------------
def scenes_config(path: Path = SCENES_CONFIG, vertical: bool = False) -> SynthConfig:
    """The benchmark's factory config, with every item's direction forced."""
    try:
        cfg = load_config(path, overrides=[f"layout.vertical={1.0 if vertical else 0.0}"])
    except (ConfigError, ValueError) as exc:
        raise BenchmarkError(f"{path}: {exc}") from exc
    if cfg.fonts.split != "heldout":
        raise BenchmarkError(
            f"{path}: fonts.split is {cfg.fonts.split!r}; the benchmark draws with held-out "
            "fonts only (fonts.split: heldout)"
        )
    if cfg.kind != "scene" or cfg.text.order != "sequential" or cfg.scene.regions != (1, 1):
        raise BenchmarkError(
            f"{path}: need kind: scene, text.order: sequential and scene.regions: [1, 1]"
        )
    return cfg


def render_ground_truth(
    items: list[dict[str, Any]],
    out: Path,
    config: Path = SCENES_CONFIG,
    fonts: FontLibrary | None = None,
) -> Path:
    """Scene ``id`` of every item, as ``out/images/<id>.png`` and ``out/labels.jsonl``;
    ``fonts``: the config's (held-out) fonts, if the caller has them loaded."""
    cfg = {v: scenes_config(config, v) for v in (False, True)}
    corpus = load_corpus(cfg[False].text.corpus, config.parent)
    fonts = fonts if fonts is not None else load_fonts(cfg[False])
    renderers = {v: Renderer(c, fonts, config.parent) for v, c in cfg.items()}
    (out / "images").mkdir(parents=True, exist_ok=True)
    labels = out / "labels.jsonl"
    with labels.open("w", encoding="utf-8") as fh:
        for it in items:
            k = int(it["id"])
            if corpus[k] != it["text"]:
                raise BenchmarkError(
                    f"item {k}: the factory corpus says {corpus[k]!r}, the set {it['text']!r}; "
                    "rebuild both with python bench/sets/build_set.py"
                )
            sample = renderers[it["direction"] == "vertical"].render(k)
            lines = [] if sample is None else sample.lines
            if len(lines) != 1 or lines[0].text != it["text"]:
                raise BenchmarkError(
                    f"item {k} ({it['text']}): the factory drew {[ln.text for ln in lines]}; "
                    f"lower scene.font_size in {config} so every line fits"
                )
            assert sample is not None
            name = f"images/{k:04d}.png"
            (out / name).write_bytes(sample.image_bytes)
            record = {
                "image": name,
                "width": sample.width,
                "height": sample.height,
                "index": k,
                "texts": [line_record(lines[0])],
                "meta": sample.meta,
            }
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return labels


def read_labels(path: Path) -> list[dict[str, Any]]:
    return [json.loads(s) for s in path.read_text(encoding="utf-8").splitlines() if s]


# -- 3. models ---------------------------------------------------------------------------
def erase_region(image: np.ndarray, polygon: np.ndarray, vertical: bool) -> np.ndarray:
    """``image`` with the line polygon (and ``ERASE_PAD`` line heights around it) inpainted."""
    p = np.asarray(polygon, np.float64)
    across = float(np.linalg.norm(p[1] - p[0]) if vertical else np.linalg.norm(p[3] - p[0]))
    pad = max(2, round(ERASE_PAD * across))
    line = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(line, [np.round(p).astype(np.int32)], 255)
    mask = cv2.dilate(line, np.ones((2 * pad + 1, 2 * pad + 1), np.uint8))
    return np.asarray(cv2.inpaint(image, mask, 5, cv2.INPAINT_TELEA))


def redraw(
    pipe: Any,
    labels: Path,
    out: Path,
    *,
    steps: int | None = None,
    strength: float | None = None,
    draft: str | None = None,
    guidance: float = 0.0,
    seed: int = 0,
    fonts: FontLibrary | None = None,
) -> list[float]:
    """Every ground-truth region erased and redrawn by ``pipe``; seconds per region.
    ``fonts``: the bundled library (its canonical font draws the glyph control)."""
    from PIL import Image

    from glyphgen.model.render import RegionRequest, render_regions

    fonts = fonts if fonts is not None else FontLibrary.load(progress=False)
    root = labels.parent
    seconds = []
    (out / "images").mkdir(parents=True, exist_ok=True)
    for rec in read_labels(labels):
        line = rec["texts"][0]
        vertical = line["direction"] == "vertical"
        polygon = np.array(line["polygon"], np.float64)
        image = open_image(root / rec["image"])
        blank = erase_region(image, polygon, vertical)
        request = RegionRequest(line["text"], polygon, vertical)
        started = time.perf_counter()
        drawn, _ = render_regions(
            pipe,
            blank,
            [request],
            fonts,
            seed=seed + int(rec["index"]),
            steps=steps,
            strength=strength,
            draft=draft,
            guidance=guidance,
        )
        seconds.append(time.perf_counter() - started)
        Image.fromarray(drawn).save(out / rec["image"])
    return seconds


# -- 4, 5. judging and summaries -----------------------------------------------------------
def _agg(a: Aggregate) -> dict[str, Any]:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in dataclasses.asdict(a).items()}


def summarise(
    report: Report, items: list[dict[str, Any]], judge_filter: Callable[[RegionResult], bool]
) -> dict[str, Any]:
    """Headline and per-group figures over the regions ``judge_filter`` keeps; region k of
    the report is item k of ``items``."""
    kept = [r for r in report.regions if judge_filter(r)]
    groups: dict[str, dict[str, Any]] = {}
    for key, values in GROUPS.items():
        groups[key] = {
            v: _agg(aggregate(r.score for r in kept if items[r.sample][key] == v)) for v in values
        }
    return {"summary": _agg(aggregate(r.score for r in kept)), "groups": groups}


def judge_row(
    name: str,
    images: Path,
    labels: Path,
    items: list[dict[str, Any]],
    judges: dict[str, Recognizer],
) -> tuple[dict[str, Any], Report]:
    """One row: PP-OCRv4's figures on what it can read, and the combined judge's on the rest."""
    report = evaluate(labels, images, backend=judges["rapidocr"])
    uncovered = [r for r in report.regions if r.covered is False]
    row: dict[str, Any] = {
        "name": name,
        **summarise(report, items, lambda r: r.covered is not False),
        "uncovered": {
            "n": len(uncovered),
            "chars": "".join(sorted({c for r in uncovered for c in r.uncovered_chars})),
        },
        "problems": len(report.problems),
    }
    if "combined" in judges and uncovered:
        ids = {r.sample for r in uncovered}
        # only those lines: PP-OCRv4 has read the others above. Columns reach glyphgen's
        # reader as rows of upright characters (crop.vertical: auto, the evaluator's default)
        ann = read_annotations(labels, images)
        ann = dataclasses.replace(ann, samples=[s for s in ann.samples if s.index in ids])
        both = evaluate(ann, backend=judges["combined"])
        row["beyond_ppocr"] = summarise(both, items, lambda r: r.sample in ids)["summary"]
    return row, report


def latency(seconds: list[float]) -> dict[str, Any]:
    ordered = sorted(seconds)
    return {
        "regions": len(seconds),
        "mean_s": round(statistics.fmean(seconds), 4),
        "median_s": round(statistics.median(seconds), 4),
        "p90_s": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 4),
        "max_s": round(ordered[-1], 4),
    }


def make_judges(threads: int, combined: bool = True) -> tuple[dict[str, Recognizer], str]:
    """PP-OCRv4, and the combined judge when the reader's weights exist; and a note on it."""
    judges = {"rapidocr": create_backend("rapidocr", threads=threads)}
    if not combined:
        return judges, "not asked for (--no-combined)"
    try:
        judges["combined"] = create_backend("combined", threads=threads)
    except BackendUnavailable as exc:
        return judges, f"unavailable: {exc}".replace(f"{REPO_ROOT}/", "")
    reader = judges["combined"].info()["secondary"]  # which weights judged: they get retrained
    sha = (reader.get("sha256") or "?")[:12]
    return judges, (
        "available: PP-OCRv4 where it can output the target, glyphgen's reader else "
        f"({reader['model']}, {reader['steps']} steps, sha256 {sha})"
    )


def run_benchmark(
    models: list[ModelEntry],
    work: Path,
    *,
    set_file: Path = SET_FILE,
    config: Path = SCENES_CONFIG,
    limit: int | None = None,
    steps: int | None = None,
    threads: int = 0,
    combined: bool = True,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """The benchmark's results as a plain dict (see ``write_results``)."""
    all_items = load_items(set_file)
    items = all_items[:limit] if limit is not None else all_items
    cfg = scenes_config(config)
    log(f"rendering {len(items)} ground-truth scenes (held-out fonts, seed {cfg.seed})")
    heldout_fonts = load_fonts(cfg)
    labels = render_ground_truth(items, work / "ground-truth", config, heldout_fonts)
    judges, combined_note = make_judges(threads, combined)
    log(f"judging the ground truth (combined judge: {combined_note})")
    row, report = judge_row("ground truth", labels.parent, labels, items, judges)
    rows = [{**row, "kind": "ground-truth", "weights": None, "latency": None}]
    bundled_fonts = FontLibrary.load(progress=False) if models else None
    for model in models:
        from diffusers.utils.logging import disable_progress_bar

        from glyphgen.model.pipeline import GlyphPipeline

        disable_progress_bar()
        pipe = GlyphPipeline.from_pretrained(model.weights)
        pipe.set_progress_bar_config(disable=True)
        log(f"{model.name}: redrawing {len(items)} regions ({model.weights})")
        strength = pipe.resolve_strength(model.strength)
        draft = pipe.resolve_draft(model.draft)
        seconds = redraw(
            pipe,
            labels,
            work / model.name,
            steps=steps,
            strength=strength,
            draft=draft,
            guidance=model.guidance,
            seed=seed,
            fonts=bundled_fonts,
        )
        row, _ = judge_row(model.name, work / model.name, labels, items, judges)
        rows.append(
            {
                **row,
                "kind": "model",
                "weights": str(model.weights),
                "controlnet": pipe.controlnet is not None,  # False: the text-only ablation
                "steps": steps or int(pipe.config.default_steps),
                "strength": strength,  # as sampled
                "draft": draft,
                "guidance": model.guidance,
                "latency": latency(seconds),
            }
        )
    return {
        "schema": SCHEMA,
        "set": {
            "file": _rel(set_file),
            "sha256": set_digest(all_items),
            "items": len(all_items),
            "evaluated": len(items),
            "groups": {
                k: dict(sorted(Counter(str(it[k]) for it in items).items())) for k in GROUPS
            },
        },
        "scenes": {
            "config": _rel(config),
            "seed": cfg.seed,
            "font_split": cfg.fonts.split,
            "fonts": sorted(f.id for f in heldout_fonts.faces),
            "size": [cfg.scene.width, cfg.scene.height],
        },
        "judge": report.backend,
        "combined_judge": combined_note,
        "work": _rel(work),
        "rows": rows,
    }


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


# -- outputs -------------------------------------------------------------------------------
def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def _cell(a: dict[str, Any]) -> str:
    if not a["n"]:
        return "-"
    return f"{_fmt(a['sentence_acc'])} / {_fmt(a['ned'])} / {_fmt(a['ratio'])} ({a['n']})"


GROUP_TITLES = {
    "level": "GB2312 level (l2: the line holds a level-2 hanzi)",
    "direction": "direction",
    "length": "length (short: at most 4 characters)",
    "source": "source (phrase: signboard / poster phrases; level2: lines sampled for level-2 hanzi)",
}


def markdown(results: dict[str, Any]) -> str:
    rows = results["rows"]
    m = results.get("machine", {})
    s, sc = results["set"], results["scenes"]
    out = [
        "# Glyph benchmark",
        "",
        f"Machine: {m.get('cpu', '?')}, {m.get('cores', '?')} cores; {m.get('date', '?')}. "
        f"Command: `{results.get('command', '?')}`.",
        "",
        f"Set: `{s['file']}` ({s['evaluated']} of {s['items']} lines, sha256 "
        f"`{s['sha256'][:12]}`); scenes `{sc['config']}` {sc['size'][0]}x{sc['size'][1]}, "
        f"fonts {', '.join(sc['fonts'])} (split `{sc['font_split']}`), seed {sc['seed']}. "
        f"Judge: PP-OCRv4 (`{results['judge'].get('model', '?')}`); combined judge "
        f"(PP-OCRv4 + glyphgen's reader, for targets PP-OCRv4 cannot output): "
        f"{results['combined_judge']}",
        "",
        "| row | strength | lines judged | sentence acc | NED | Levenshtein ratio | uncovered "
        "(not in the figures) | s / region |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        a = r["summary"]
        seconds = "-" if r["latency"] is None else f"{r['latency']['mean_s']:.2f}"
        strength = "-" if r.get("strength") is None else f"{r['strength']:g}"
        out.append(
            f"| {r['name']} | {strength} | {a['n']} | {_fmt(a['sentence_acc'])} | "
            f"{_fmt(a['ned'])} | {_fmt(a['ratio'])} | {r['uncovered']['n']} | {seconds} |"
        )
    for key, values in GROUPS.items():
        out += [
            "",
            f"**By {GROUP_TITLES[key]}**: sentence acc / NED / ratio (lines)",
            "",
            "| row | " + " | ".join(values) + " |",
            "|---|" + "---:|" * len(values),
        ]
        for r in rows:
            out.append(
                f"| {r['name']} | " + " | ".join(_cell(r["groups"][key][v]) for v in values) + " |"
            )
    beyond = [r for r in rows if "beyond_ppocr" in r]
    out += ["", "**Targets PP-OCRv4 cannot output** (combined judge)", ""]
    if beyond:
        out += ["| row | sentence acc / NED / ratio (lines) |", "|---|---:|"]
        out += [f"| {r['name']} | {_cell(r['beyond_ppocr'])} |" for r in beyond]
    else:
        out.append(
            f"{rows[0]['uncovered']['n']} line(s) hold characters PP-OCRv4 cannot output; "
            f"they are not scored: the combined judge is {results['combined_judge']}"
        )
    models = [r for r in rows if r["kind"] == "model"]
    if models:
        out += ["", "Latency: `render_regions` per region (erase not included)", ""]
        out += [
            "| row | steps | mean s | median s | p90 s | max s |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for r in models:
            lat = r["latency"]
            out.append(
                f"| {r['name']} | {r['steps']} | {lat['mean_s']:.3f} | {lat['median_s']:.3f} | "
                f"{lat['p90_s']:.3f} | {lat['max_s']:.3f} |"
            )
    return "\n".join(out) + "\n"


def contact_sheet(results: dict[str, Any], out: Path, n: int = 8, cell: int = 192) -> Path:
    """The first ``n`` items around their region: ground truth, then each model."""
    from PIL import Image, ImageDraw

    work = REPO_ROOT / results["work"]  # absolute stays absolute
    labels = read_labels(work / "ground-truth" / "labels.jsonl")[:n]
    folders = [work / "ground-truth"] + [work / r["name"] for r in results["rows"][1:]]
    head = 16
    sheet = Image.new("RGB", (cell * len(folders), head + cell * len(labels)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for c, r in enumerate(results["rows"]):
        draw.text((c * cell + 4, 2), r["name"], fill=(0, 0, 0))
    for k, rec in enumerate(labels):
        box = _square_around(np.array(rec["texts"][0]["polygon"]), rec["width"], rec["height"])
        for c, folder in enumerate(folders):
            img = Image.fromarray(open_image(folder / rec["image"])).crop(box)
            sheet.paste(img.resize((cell, cell)), (c * cell, head + k * cell))
    sheet.save(out)
    return out


def _square_around(polygon: np.ndarray, width: int, height: int) -> tuple[int, int, int, int]:
    """A square box around the polygon (with a margin), inside the image."""
    (x0, y0), (x1, y1) = polygon.min(axis=0), polygon.max(axis=0)
    side = min(width, height, int(1.15 * max(x1 - x0, y1 - y0)) + 8)
    left = int(np.clip((x0 + x1 - side) / 2, 0, width - side))
    top = int(np.clip((y0 + y1 - side) / 2, 0, height - side))
    return left, top, left + side, top + side


def write_results(results: dict[str, Any], out: Path, sheet: bool = True) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "benchmark.json", out / "benchmark.md"]
    paths[0].write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    paths[1].write_text(markdown(results), encoding="utf-8")
    if sheet:
        paths.append(contact_sheet(results, out / "contact_sheet.png"))
    return paths
