"""The style-edit benchmark: replace text A by B in a region of a real photo, in A's style.

``run_edit_benchmark`` in four steps:

1. the set: edit pairs from the factory (``bench/sets/edits.yaml``: held-out photos,
   held-out font, a seed no training config uses, text colours from the scene's palette and
   black or white, stroke, shadow, lighting, blur, tilted and perspective quads, a third in
   columns). Each pair gives the source (the scene with A), the ground truth (the same scene
   with B), B's region, A's style reference crop and B's ink mask. Rendered once into
   ``--work`` and reused (the factory's resume);
2. the rows: ``ground truth`` (the ceiling), ``classical`` (``glyphgen.edit.classical``: A
   found and inpainted, B drawn in A's colours; no model), then each ``--model`` row, which
   gets exactly what a user of ``glyphgen render`` has: the source photo, B's region, B's
   text and A's region as the style reference;
3. judging: PP-OCRv4 reads B's region of every output (the targets it cannot output are
   counted apart, as in the glyph benchmark), and ``glyphgen.eval.edit_metrics`` scores
   residue of A, text colour, fidelity to the ground truth, the seam and the colour cast;
4. ``edits.json``, ``edits.md`` (with paired bootstrap intervals of each row against
   ``classical``) and a contact sheet (source, ground truth, each row).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from glyphgen.benchmark.glyph import (
    BenchmarkError,
    ModelEntry,
    _agg,
    _rel,
    _square_around,
    latency,
    make_judges,
)
from glyphgen.benchmark.machine import machine_info
from glyphgen.configio import ConfigError
from glyphgen.eval import edit_metrics as em
from glyphgen.eval.crops import read_region
from glyphgen.eval.evaluate import evaluate
from glyphgen.eval.metrics import aggregate
from glyphgen.images import open_image
from glyphgen.paths import REPO_ROOT, resolve_data_path
from glyphgen.synth.config import SynthConfig, load_config
from glyphgen.synth.runner import run as run_factory
from glyphgen.typeset.fonts import FontLibrary
from glyphgen.typeset.geometry import across_size

SCHEMA = "glyphgen.edit-benchmark/2"  # 2: legibility against classical
EDITS_CONFIG = REPO_ROOT / "bench" / "sets" / "edits.yaml"
RESULTS_DIR = REPO_ROOT / "bench" / "results" / "edit_benchmark"
GREY_CHROMA = 4.0  # a scene whose region has a mean C*ab below this counts as grayscale
PSNR_CAP = 100.0  # dB: identical regions (inf) are capped for means and the bootstrap
BOOTSTRAP_SEED = 0
SHEET_EDITS = 8  # edits on the contact sheet
HALO_REACH = 0.2  # x the line's size across: the ring outside B's ink the halo is judged on


@dataclasses.dataclass(frozen=True)
class Edit:
    key: str  # the pair's file stem
    image: str  # B's image, relative to the set's root (also each row's output path)
    source: np.ndarray  # (H, W, 3) the scene with A
    truth: np.ndarray  # (H, W, 3) the scene with B (the ground truth)
    polygon: np.ndarray  # (4, 2) B's line polygon
    vertical: bool
    text_a: str
    text_b: str
    glyph_b: np.ndarray  # (H, W) bool: B's fill pixels in the ground truth
    ink_b: np.ndarray  # (H, W) bool: all of B's ink (fill, stroke, shadow) in the ground truth
    style_ref: np.ndarray  # A's region of the source, as a user would crop it
    ink_a: np.ndarray  # (H, W) bool: all of A's ink in the source
    fill: tuple[int, int, int]  # the fill colour the factory drew A and B in
    grey: bool  # the region of the scene is grayscale


def edits_config(path: Path = EDITS_CONFIG, limit: int | None = None) -> SynthConfig:
    try:
        cfg = load_config(path, extra={"num": limit} if limit else None)
    except (ConfigError, ValueError) as exc:
        raise BenchmarkError(f"{path}: {exc}") from exc
    if cfg.fonts.split != "heldout" or not cfg.edit.pairs:
        raise BenchmarkError(f"{path}: need fonts.split: heldout and edit.pairs: true")
    return cfg


# -- 1. the set --------------------------------------------------------------------------
def build_set(cfg: SynthConfig, work: Path, base_dir: Path) -> Path:
    """The pairs as factory output under ``work`` (resumed when already complete)."""
    missing = [d for d in cfg.background.image_dirs if not resolve_data_path(d, base_dir).is_dir()]
    if missing:
        raise BenchmarkError(
            f"background folder(s) {missing} do not exist; the held-out photos ship in "
            "glyphgen/data/photos/heldout (see tools/build_photos.py)"
        )
    run_factory(cfg, work, workers=1, base_dir=base_dir, progress=False)
    return work / "labels.jsonl"


def run_labels(work: Path, rows: Sequence[str]) -> Path:
    """``labels.jsonl`` of the set a ``glyphgen bench edit`` run left in ``work``, once every
    row of ``rows`` is found to have its outputs there (for scripts that re-read a run)."""
    labels = work / "set" / "labels.jsonl"
    missing = [row for row in rows if not (work / row).is_dir()]
    if missing or not labels.is_file():
        raise FileNotFoundError(
            f"{work} has no set or no outputs for rows {missing}: run `glyphgen bench edit "
            f"--work {work} --model NAME=WEIGHTS` first"
        )
    return labels


def rerun_main(
    script: str,
    doc: str | None,
    rows: list[str],
    out: Path,
    measure: Callable[[Path, list[str]], dict[str, Any]],
    markdown: Callable[[dict[str, Any], str], str],
    prepare: Callable[[Path, list[str]], None] | None = None,
) -> None:
    """The command line of a script that re-reads a ``glyphgen bench edit`` run (``script``,
    relative to the repository root): ``--work`` (the run's folder), ``--rows`` (``rows`` by
    default), ``--out`` (``out`` by default); ``measure(labels, rows)``'s result, with the
    work folder as given and the machine, is written to ``<out>.json``, and
    ``markdown(result, stamp)`` to ``<out>.md`` (``stamp``: the line naming machine, date
    and command). ``prepare(work, rows)``, when given, runs first (a script drawing rows of
    its own)."""
    import argparse

    ap = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--work", type=Path, default=REPO_ROOT / "out" / "bench-edits")
    ap.add_argument("--rows", nargs="*", default=rows)
    ap.add_argument("--out", type=Path, default=out)
    args = ap.parse_args()
    if prepare is not None:
        prepare(args.work, args.rows)
    try:
        labels = run_labels(args.work, args.rows)
    except FileNotFoundError as exc:
        raise SystemExit(str(exc)) from None
    inside = args.work.is_absolute() and args.work.is_relative_to(REPO_ROOT)
    shown = args.work.relative_to(REPO_ROOT) if inside else args.work
    m = machine_info()
    result = measure(labels, args.rows) | {"work": str(shown), "machine": m}
    command = f"python {script} --work {shown} --rows {' '.join(args.rows)}"
    stamp = f"Machine: {m['cpu']}, {m['cores']} cores; {m['date']}. Command: `{command}`."
    text = markdown(result, stamp)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(text)
    print(text)


def load_edits(labels: Path, limit: int | None = None) -> list[Edit]:
    """The pairs of a set's ``labels.jsonl`` (the first ``limit``), images decoded."""
    root = labels.parent
    edits = []
    for line in labels.read_text(encoding="utf-8").splitlines()[:limit]:
        rec = json.loads(line)
        e, text = rec["edit"], rec["texts"][0]
        truth = open_image(root / rec["image"])
        source = open_image(root / e["source"])
        mask_b = open_image(root / e["mask_b"], mode="L") > 0
        glyph_b = fill_pixels(truth, mask_b, e["style"]["fill"])
        polygon = np.array(text["polygon"], np.float64)
        region = em.region_mask(polygon, truth.shape[:2])
        edits.append(
            Edit(
                key=Path(rec["image"]).stem,
                image=rec["image"],
                source=source,
                truth=truth,
                polygon=polygon,
                vertical=text["direction"] == "vertical",
                text_a=e["text_a"],
                text_b=e["text_b"],
                glyph_b=glyph_b,
                ink_b=mask_b,
                style_ref=open_image(root / e["style_ref"]),
                ink_a=open_image(root / e["mask_a"], mode="L") > 0,
                fill=tuple(int(v) for v in e["style"]["fill"]),  # type: ignore[arg-type]
                grey=_mean_chroma(source, region) < GREY_CHROMA,
            )
        )
    return edits


def fill_pixels(truth: np.ndarray, ink: np.ndarray, fill: list[int]) -> np.ndarray:
    """B's fill pixels: those of B's ink (fill, stroke, shadow) whose colour in the ground
    truth is nearer the fill colour than to any other ink colour is: within CIEDE2000 15 of
    the fill, or the ink itself when that leaves fewer than 20 pixels (blurred thin text)."""
    lab = em.srgb_to_lab(truth[ink])
    near = em.ciede2000(lab, em.srgb_to_lab(np.array(fill, np.uint8)[None]))
    out = np.zeros(ink.shape, bool)
    picked = near < 15
    out[ink] = picked if picked.sum() >= 20 else True
    return out


def _mean_chroma(image: np.ndarray, region: np.ndarray) -> float:
    lab = em.srgb_to_lab(image[region])
    return float(np.hypot(lab[:, 1], lab[:, 2]).mean())


# -- 2. rows -----------------------------------------------------------------------------
def classical_row(
    edits: list[Edit], fonts: FontLibrary, reader: Any = None, font: str = "auto"
) -> tuple[list[np.ndarray], list[float]]:
    """The classical edit of every pair; A's text (for its face) as ``reader`` reads it in the
    source, none without a reader."""
    from glyphgen.edit.classical import classical_edit

    outputs, seconds = [], []
    for e in edits:
        started = time.perf_counter()
        # A's colours come from the region itself: the same pixels as the style reference,
        # which is A's region of the source, without its margin.
        old = read_region(e.source, e.polygon, e.vertical, reader) if reader else None
        done = classical_edit(
            e.source, e.polygon, e.text_b, fonts, vertical=e.vertical, font=font, old_text=old
        )
        seconds.append(time.perf_counter() - started)
        outputs.append(done.image)
    return outputs, seconds


def model_row(
    model: ModelEntry,
    edits: list[Edit],
    fonts: FontLibrary,
    *,
    steps: int | None,
    seed: int,
) -> tuple[list[np.ndarray], list[float], dict[str, Any]]:
    from diffusers.utils.logging import disable_progress_bar

    from glyphgen.model.pipeline import GlyphPipeline
    from glyphgen.model.render import RegionRequest, render_regions

    disable_progress_bar()
    pipe = GlyphPipeline.from_pretrained(model.weights)
    pipe.set_progress_bar_config(disable=True)
    strength = pipe.resolve_strength(model.strength)
    draft = pipe.resolve_draft(model.draft)
    outputs, seconds = [], []
    for k, e in enumerate(edits):
        started = time.perf_counter()
        drawn, _ = render_regions(
            pipe,
            e.source,
            [RegionRequest(e.text_b, e.polygon, e.vertical)],
            fonts,
            style_ref=e.style_ref,
            seed=seed + k,
            steps=steps,
            strength=strength,
            draft=draft,
            guidance=model.guidance,
        )
        seconds.append(time.perf_counter() - started)
        outputs.append(drawn)
    info = {
        "weights": str(model.weights),
        "steps": steps or int(pipe.config.default_steps),
        "strength": strength,
        "draft": draft,
        "guidance": model.guidance,
    }
    return outputs, seconds, info


# -- 3. judging --------------------------------------------------------------------------
def judge(
    name: str,
    outputs: list[np.ndarray],
    edits: list[Edit],
    labels: Path,
    folder: Path,
    recognizer: Any,
) -> dict[str, Any]:
    """One row's figures: legibility of B (PP-OCRv4), then every edit figure per edit."""
    from PIL import Image

    for e, out in zip(edits, outputs, strict=True):
        path = folder / e.image
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(out).save(path)
    report = evaluate(labels, folder, backend=recognizer)
    readings = {r.sample: r for r in report.regions}
    per_edit = []
    for k, (e, out) in enumerate(zip(edits, outputs, strict=True)):
        read = readings[k]
        figures = edit_figures(out, e, read.read_norm)
        covered = read.covered is not False
        per_edit.append(
            {"covered": covered, "grey": e.grey, **legibility(read, covered), **_plain(figures)}
        )
    judged = [r for r in report.regions if r.covered is not False]
    return {
        "name": name,
        "legibility": _agg(aggregate(r.score for r in judged)),
        "uncovered": sum(1 for r in report.regions if r.covered is False),
        "problems": len(report.problems),
        "per_edit": per_edit,
        "summary": summarise(per_edit),
    }


def legibility(read: Any, covered: bool = True) -> dict[str, float]:
    """One edit's reading as numbers a paired comparison takes (``against``): exact (1 / 0)
    and Levenshtein ratio; NaN, left out, where the judge cannot output every character."""
    if not covered:
        return {"exact": float("nan"), "ratio": float("nan")}
    return {"exact": float(read.exact), "ratio": float(read.ratio)}


def edit_figures(output: np.ndarray, e: Edit, reading: str) -> em.EditFigures:
    """Every figure of one edit: colour on B's fill pixels, the background outside all of
    B's ink (its stroke and shadow are not surface to restore)."""
    return em.EditFigures(
        residue=em.old_text_residue(reading, e.text_a, e.text_b),
        colour_error=em.text_colour_error(output, e.truth, e.glyph_b),
        psnr=em.region_psnr(output, e.truth, e.polygon),
        seam=em.seam_step(output, e.truth, e.polygon),
        cast=em.colour_cast(output, e.truth, e.polygon),
        stroke_ratio=em.stroke_width_ratio(output, e.source, e.polygon, e.ink_a, e.fill),
        **surface_figures(output, e),
    )


def surface_figures(output: np.ndarray, e: Edit) -> dict[str, float]:
    """How well an edit kept the scene around B: region SSIM, background PSNR (outside B's
    ink) and halo PSNR (the ring just outside it, ``HALO_REACH`` of the line's size)."""
    reach = round(HALO_REACH * across_size(e.polygon, e.vertical))
    return {
        "ssim": em.region_ssim(output, e.truth, e.polygon),
        "background_psnr": _background_psnr(output, e),
        "halo_psnr": em.halo_psnr(output, e.truth, e.ink_b, reach),
    }


def _background_psnr(output: np.ndarray, e: Edit) -> float:
    """NaN (left out of means and intervals) when B's ink, grown, covers the whole region."""
    try:
        return em.background_psnr(output, e.truth, e.polygon, e.ink_b)
    except ValueError:
        return float("nan")


def _plain(figures: em.EditFigures) -> dict[str, Any]:
    d = dataclasses.asdict(figures)
    residue = d.pop("residue")
    return {**d, "residue": bool(residue["residue"]), "a_chars_read": int(residue["old_chars"])}


def summarise(per_edit: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians and shares over the edits (residue over the edits PP-OCRv4 can judge)."""
    judged = [p for p in per_edit if p["covered"]]
    colour_median, colour_p90 = em.median_p90(p["colour_error"] for p in per_edit)
    grey = [p["cast"] for p in per_edit if p["grey"]]

    def mean(key: str, rows: list[dict[str, Any]] = per_edit) -> float:
        values = [min(p[key], PSNR_CAP) for p in rows]
        return float(np.nanmean(values)) if values else float("nan")

    return {
        "edits": len(per_edit),
        "residue_share": float(np.mean([p["residue"] for p in judged])) if judged else None,
        "a_chars_read": int(sum(p["a_chars_read"] for p in judged)),
        "colour_median": colour_median,
        "colour_p90": colour_p90,
        "psnr": mean("psnr"),
        "ssim": mean("ssim"),
        "background_psnr": mean("background_psnr"),
        "halo_psnr": mean("halo_psnr"),
        "seam": mean("seam"),
        "cast": mean("cast"),
        "grey_edits": len(grey),
        "grey_cast": float(np.mean(grey)) if grey else None,
        "stroke_ratio_median": _nanmedian([p.get("stroke_ratio", np.nan) for p in per_edit]),
        "stroke_ratio_edits": int(
            np.isfinite([p.get("stroke_ratio", np.nan) for p in per_edit]).sum()
        ),
    }


def _nanmedian(values: list[float]) -> float | None:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.median(finite)) if finite else None


def against(row: dict[str, Any], base: dict[str, Any], key: str) -> dict[str, float]:
    """Paired bootstrap 95% interval of mean(row - base) of a per-edit figure (edits where
    either is NaN left out)."""
    a = np.minimum([p[key] for p in row["per_edit"]], PSNR_CAP)
    b = np.minimum([p[key] for p in base["per_edit"]], PSNR_CAP)
    both = np.isfinite(a) & np.isfinite(b)  # an edit without a background to judge is left out
    if not both.any():  # nothing to compare (e.g. no line the judge can read)
        nan = float("nan")
        return {"mean_difference": nan, "low": nan, "high": nan, "resamples": 0}
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    return dataclasses.asdict(em.paired_bootstrap(a[both], b[both], rng))


def discordant(row: dict[str, Any], base: dict[str, Any]) -> dict[str, int]:
    """Edits read exactly by ``row`` and not by ``base`` (wins), and the other way (losses):
    what a difference in sentence accuracy is made of."""
    a = np.array([p["exact"] for p in row["per_edit"]], np.float64)
    b = np.array([p["exact"] for p in base["per_edit"]], np.float64)
    return {"wins": int(((a == 1) & (b == 0)).sum()), "losses": int(((a == 0) & (b == 1)).sum())}


# -- the run -----------------------------------------------------------------------------
def run_edit_benchmark(
    models: list[ModelEntry],
    work: Path,
    *,
    config: Path = EDITS_CONFIG,
    limit: int | None = None,
    steps: int | None = None,
    threads: int = 0,
    seed: int = 0,
    system_fonts: bool = False,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    cfg = edits_config(config, limit)
    log(f"edit pairs: {cfg.num} on held-out photos (seed {cfg.seed}) -> {work / 'set'}")
    labels = build_set(cfg, work / "set", config.parent)
    edits = load_edits(labels)
    judges, _ = make_judges(threads, combined=False)
    recognizer = judges["rapidocr"]
    # bundled (the canonical font draws B), and with system_fonts fontconfig's Chinese fonts
    fonts = FontLibrary.load(progress=False, system=system_fonts)
    rows = []
    log("judging the ground truth")
    truth = judge("ground truth", [e.truth for e in edits], edits, labels, work / "gt", recognizer)
    rows.append({**truth, "kind": "ground-truth", "latency": None})
    log("classical edit (no model)")
    outputs, seconds = classical_row(edits, fonts, recognizer)
    classical = judge("classical", outputs, edits, labels, work / "classical", recognizer)
    rows.append({**classical, "kind": "baseline", "latency": latency(seconds)})
    for model in models:
        log(f"{model.name}: editing {len(edits)} regions ({model.weights})")
        outputs, seconds, info = model_row(model, edits, fonts, steps=steps, seed=seed)
        row = judge(model.name, outputs, edits, labels, work / model.name, recognizer)
        rows.append({**row, **info, "kind": "model", "latency": latency(seconds)})
    for row in rows[2:]:
        row["vs_classical"] = {
            key: against(row, classical, key)
            for key in ("exact", "ratio", "ssim", "background_psnr")
        } | discordant(row, classical)
    return {
        "schema": SCHEMA,
        "set": {
            "config": _rel(config),
            "seed": cfg.seed,
            "edits": len(edits),
            "vertical": sum(e.vertical for e in edits),
            "grey": sum(e.grey for e in edits),
            "photos": cfg.background.image_dirs,
            "font_split": cfg.fonts.split,
            "faces_matched": [f.id for f in fonts.faces],
        },
        "judge": "PP-OCRv4 (rapidocr)",
        "work": _rel(work),
        "rows": rows,
    }


# -- 4. outputs --------------------------------------------------------------------------
def _f(v: float | None, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "-"
    return f"{v:.{digits}f}"


def interval_cell(v: dict[str, float]) -> str:
    """``+0.012 [-0.004, +0.030]``; ``-`` when there was nothing to compare."""
    if not np.isfinite(v["mean_difference"]):
        return "-"
    return f"{v['mean_difference']:+.3f} [{v['low']:+.3f}, {v['high']:+.3f}]"


def markdown(results: dict[str, Any]) -> str:
    m, s = results.get("machine", {}), results["set"]
    out = [
        "# Style-edit benchmark",
        "",
        f"Machine: {m.get('cpu', '?')}, {m.get('cores', '?')} cores; {m.get('date', '?')}. "
        f"Command: `{results.get('command', '?')}`.",
        "",
        f"Set: {s['edits']} edits from `{s['config']}` (seed {s['seed']}, photos "
        f"{', '.join(s['photos'])}, font split `{s['font_split']}`; {s['vertical']} vertical, "
        f"{s['grey']} on grayscale regions). Judge: {results['judge']}. Task: replace A by B "
        "in A's style. Figures are defined in docs/eval.md.",
        "",
        "| row | sentence acc | NED | Levenshtein ratio | residue of A | A chars read | "
        "colour ΔE00 median / p90 | PSNR | SSIM | background PSNR | seam | cast (grey) | "
        "stroke B/A median (edits) | s / edit |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results["rows"]:
        a, sm = r["legibility"], r["summary"]
        seconds = "-" if r["latency"] is None else f"{r['latency']['mean_s']:.2f}"
        residue = "-" if sm["residue_share"] is None else f"{100 * sm['residue_share']:.1f}%"
        out.append(
            f"| {r['name']} | {_f(a['sentence_acc'])} | {_f(a['ned'])} | {_f(a['ratio'])} | "
            f"{residue} | {sm['a_chars_read']} | {_f(sm['colour_median'], 1)} / "
            f"{_f(sm['colour_p90'], 1)} | {_f(sm['psnr'], 1)} | {_f(sm['ssim'])} | "
            f"{_f(sm['background_psnr'], 1)} | {_f(sm['seam'], 1)} | {_f(sm['cast'], 1)} "
            f"({_f(sm['grey_cast'], 1)}) | {_f(sm.get('stroke_ratio_median'), 2)} "
            f"({sm.get('stroke_ratio_edits', '-')}) | {seconds} |"
        )
    compared = [r for r in results["rows"] if "vs_classical" in r]
    if compared:
        out += [
            "",
            "Against `classical`, same edits (paired bootstrap, 95%): mean difference [low, high]",
            "",
            "| row | sentence acc | Levenshtein ratio | exact where classical is not / "
            "the other way | SSIM | background PSNR (dB) |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for r in compared:
            vs = r["vs_classical"]
            cells = [
                interval_cell(v)
                for v in (vs["exact"], vs["ratio"], vs["ssim"], vs["background_psnr"])
            ]
            out.append(
                f"| {r['name']} | {cells[0]} | {cells[1]} | {vs['wins']} / {vs['losses']} | "
                f"{cells[2]} | {cells[3]} |"
            )
    return "\n".join(out) + "\n"


def contact_sheet(
    results: dict[str, Any], edits: list[Edit], out: Path, n: int = SHEET_EDITS
) -> Path:
    """The first ``n`` edits around their region: source, ground truth, then each row."""
    from PIL import Image, ImageDraw

    work = REPO_ROOT / results["work"]
    names = ["source", "ground truth"] + [r["name"] for r in results["rows"][1:]]
    folders = [work / "gt"] + [work / r["name"] for r in results["rows"][1:]]
    cell, head = 160, 16
    sheet = Image.new("RGB", (cell * len(names), head + cell * min(n, len(edits))), "white")
    draw = ImageDraw.Draw(sheet)
    for c, name in enumerate(names):
        draw.text((c * cell + 4, 2), name, fill=(0, 0, 0))
    for k, e in enumerate(edits[:n]):
        h, w = e.truth.shape[:2]
        box = _square_around(e.polygon, w, h)
        tiles = [
            Image.fromarray(a) for a in [e.source] + [open_image(f / e.image) for f in folders]
        ]
        for c, tile in enumerate(tiles):
            sheet.paste(tile.crop(box).resize((cell, cell)), (c * cell, head + k * cell))
    sheet.save(out)
    return out


def write_results(results: dict[str, Any], out: Path, sheet: bool = True) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "edits.json", out / "edits.md"]
    slim = {
        **results,
        "rows": [{k: v for k, v in r.items() if k != "per_edit"} for r in results["rows"]],
    }
    paths[0].write_text(json.dumps(slim, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    paths[1].write_text(markdown(results), encoding="utf-8")
    if sheet:
        labels = REPO_ROOT / results["work"] / "set" / "labels.jsonl"
        shown = load_edits(labels, limit=SHEET_EDITS)  # the sheet's edits only, not all 300
        paths.append(contact_sheet(results, shown, out / "contact_sheet.png", n=SHEET_EDITS))
    return paths
