"""The recipe race: glyph-model recipes trained from scratch for the same CPU time, on the same
batches rendered ahead, and judged from pure noise on the same validation edits.

    python bench/recipe_race.py prepare                  # batches written ahead (once)
    python bench/recipe_race.py train --jobs 2           # every recipe not yet trained
    python bench/recipe_race.py train min-snr wide       # some recipes
    python bench/recipe_race.py judge                    # -> bench/results/recipe_race.{md,json}

1) ``prepare``: the race config's factory batches (``glyphgen train --config race
   --write-batches``), two seeds written side by side, into ``<work>/batches-seed*``.
2) ``train``: each recipe is the race config plus its overrides (RECIPES), trained from
   random weights on those batch files. Its steps are set so that its CPU time (this
   process's, all threads: a figure that a busy machine does not change much) matches the
   budget: a 9-step calibration run measures its CPU seconds per step first, so every
   recipe ends its own cosine schedule. One torch thread per run; ``--jobs`` runs side by side.
3) ``judge``: one ``glyphgen bench edit`` run on the validation pairs
   (bench/sets/edits-validation.yaml) with a row per recipe, each from pure noise
   (strength 1, glyph draft) at its default steps; every recipe is then compared with the
   first (today's recipe) edit by edit: sentence accuracy and Levenshtein ratio with paired
   bootstrap 95% intervals, wins and losses. The verdict is read off the sentence-accuracy
   interval: above zero "wins", below "loses", else "tie". Each recipe's last sample grid is
   copied beside the table.

Choices are made on validation; the benchmark is for the winner's legs (glyph_campaign.md).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from glyphgen.benchmark.edit import HALO_REACH, against, interval_cell
from glyphgen.eval.edit_metrics import BACKGROUND_DILATE
from glyphgen.model.train import read_losses

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
RESULTS = ROOT / "bench" / "results"
VALIDATION = ROOT / "bench" / "sets" / "edits-validation.yaml"
IMAGE_FIGURES = ("ssim", "background_psnr", "halo_psnr")  # the judge's surface figures
CALIBRATION_STEPS = 9  # steps 2..9: eight steps, two of them with the OCR-aware loss (every 4th)

# name -> (what it changes, overrides on the race config); the first is the base of the table
RECIPES: dict[str, tuple[str, list[str]]] = {
    "today": (
        "today's recipe: ControlNet copy and the condition in the UNet, x0 target, "
        "uniform timestep weights, OCR-aware loss on every 4th step",
        [],
    ),
    "min-snr": ("Min-SNR-5 timestep weighting (Hang et al. 2023)", ["loss_weighting=min_snr"]),
    "no-controlnet": (
        "no ControlNet copy: the condition reaches the UNet's input alone",
        ["model.controlnet=false"],
    ),
    "v-pred": ("v prediction instead of x0", ["model.prediction_type=v_prediction"]),
    "wide": (
        "UNet widths 48/96/192 instead of 32/64/128 (fewer steps in the same CPU time)",
        ["model.block_out_channels=[48,96,192]"],
    ),
    "no-ocr": ("no OCR-aware loss (cheaper steps)", ["ocr_loss.weight=0"]),
    "flow": (
        "rectified flow (velocity target, Euler sampler) instead of DDPM",
        ["model.objective=flow", "model.prediction_type=v_prediction", "model.sampler=euler"],
    ),
    "combo": (
        "round 1's two leaders together: no ControlNet copy and Min-SNR-5",
        ["model.controlnet=false", "loss_weighting=min_snr"],
    ),
    "keep-known": (
        "combo, generating only B's grown glyph and A's ink (the rest of the crop is the "
        "photo: in the mask, the loss and at every sampling step)",
        ["model.controlnet=false", "loss_weighting=min_snr", "model.keep_known=true"],
    ),
}
# a recipe -> the recipe it adds one lever to: the judge pairs the two as well
EXTENDS = {"combo": "no-controlnet", "keep-known": "combo"}


def glyphgen(*args: str, log: Path | None = None) -> None:
    cmd = [sys.executable, "-m", "glyphgen", *args]
    out = log.open("w") if log else None
    try:
        done = subprocess.run(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, check=False)
    finally:
        if out:
            out.close()
    if done.returncode:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd)}; see {log}")


def stage(steps: int, shards: str, lr: float) -> str:
    return (
        f"stages=[{{name: race, steps: {steps}, batch_size: 16, lr: {lr}, warmup: 50, "
        f"data: {{source: batches, shards: ['{shards}']}}}}]"
    )


def records(run: Path) -> list[dict[str, Any]]:
    return list(read_losses(run / "loss.jsonl"))


def cpu_per_step(calibration: Path) -> float:
    """Mean CPU seconds of a calibration run's steps after its first."""
    return statistics.mean(r["cpu_seconds"] for r in records(calibration)[1:])


def train(name: str, args: argparse.Namespace) -> dict[str, Any]:
    overrides = RECIPES[name][1]
    shards = str(args.work / "batches-seed*" / "batch-*.safetensors")
    sets = [x for o in [*overrides, "num_threads=1"] for x in ("--set", o)]
    base = ["train", "--config", args.config, "--quiet", *sets]
    calib = args.work / "calibration" / name
    if not (calib / "weights").exists():
        calib.mkdir(parents=True, exist_ok=True)
        glyphgen(*base, "--set", stage(CALIBRATION_STEPS, shards, args.lr),
                 "--set", "sample_every=100000", "--out", str(calib), log=calib / "train.log")  # fmt: skip
    per_step = cpu_per_step(calib)
    if args.calibrate_only:
        return {"recipe": name, "calibrated_cpu_s_per_step": per_step}
    steps = max(1, int(args.budget_min * 60 / per_step))
    run = args.work / name
    run.mkdir(parents=True, exist_ok=True)
    print(f"{name}: {per_step:.2f} CPU s a step -> {steps} steps", flush=True)
    glyphgen(
        *base, "--set", stage(steps, shards, args.lr), "--out", str(run), log=run / "train.log"
    )
    return summarize(name, args.work)


def summarize(name: str, work: Path) -> dict[str, Any]:
    """A trained recipe's figures, from its loss records and its calibration's."""
    what, overrides = RECIPES[name]
    rec = records(work / name)
    cpu = sum(r["cpu_seconds"] for r in rec)
    return {
        "recipe": name,
        "what": what,
        "overrides": overrides,
        "calibrated_cpu_s_per_step": cpu_per_step(work / "calibration" / name),
        "steps": len(rec),
        "cpu_minutes": cpu / 60,
        "wall_minutes": sum(r["seconds"] for r in rec) / 60,
        "crops_per_cpu_s": 16 * len(rec) / cpu,
        "final_diffusion_loss": statistics.mean(r["diffusion"] for r in rec[-20:]),
    }


def trained(name: str, work: Path) -> bool:
    return (work / name / "weights" / "manifest.json").exists()


def run_train(args: argparse.Namespace) -> None:
    names = args.recipes or [n for n in RECIPES if not trained(n, args.work)]
    unknown = sorted(set(names) - set(RECIPES))
    if unknown:
        raise SystemExit(f"unknown recipe(s) {unknown}; recipes: {list(RECIPES)}")
    with ThreadPoolExecutor(args.jobs) as pool:
        for summary in pool.map(lambda n: train(n, args), names):
            print(json.dumps(summary), flush=True)


def run_prepare(args: argparse.Namespace) -> None:
    procs = []
    for seed, count in enumerate((args.batches - args.batches // 2, args.batches // 2)):
        if not count:
            continue
        out = args.work / f"batches-seed{seed}"
        data = f"{{source: factory, preset: train-crops, seed: {seed}}}"
        cmd = [sys.executable, "-m", "glyphgen", "train", "--config", args.config, "--quiet",
               "--set", f"stages=[{{name: race, batch_size: 16, data: {data}}}]",
               "--write-batches", str(count), "--out", str(out)]  # fmt: skip
        procs.append(subprocess.Popen(cmd, cwd=ROOT))
    if any(p.wait() for p in procs):
        raise SystemExit("writing the batches failed")


def run_judge(args: argparse.Namespace) -> None:
    from paired_rows import read_row, summary

    from glyphgen.benchmark.edit import load_edits, run_labels
    from glyphgen.benchmark.machine import machine_info
    from glyphgen.eval.backends import create_backend

    names = [n for n in RECIPES if trained(n, args.work)]
    if not names or names[0] != next(iter(RECIPES)):
        raise SystemExit(f"train the base recipe {next(iter(RECIPES))!r} first")
    work, results = args.work / "validation", args.work / "validation-results"
    rows = [f"{n}=" + str(args.work / n / "weights") + "@1@glyph" for n in names]
    cmd = ["bench", "edit", "--config", str(VALIDATION), "--work", str(work),
           "--results", str(results), "--threads", "1", "--no-sheet"]  # fmt: skip
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    t0 = time.perf_counter()
    if not args.reuse:  # --reuse: read again the rows an earlier judge left in <work>
        glyphgen(*cmd, *[x for r in rows for x in ("--model", r)], log=args.work / "judge.log")
    labels = run_labels(work, names)
    judge = create_backend("rapidocr", threads=1)
    edits = load_edits(labels)
    read = {n: read_row(labels, n, judge, edits) for n in names}
    image = image_rows(labels, edits, read)
    table = []
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for n in names:
        race = summarize(n, args.work)
        paired = summary(read[n], read[names[0]]) | image_figures(image, n, names[0])
        paired["vs_parent"] = against_parent(read, image, n)
        grid = sorted((args.work / n / "samples").glob("step-*.png"))
        if grid:
            shutil.copy(grid[-1], args.out.parent / f"{args.out.name}_{n}.png")
        table.append(race | paired | {"verdict": verdict(paired) if n != names[0] else "base"})
    result = {
        "machine": machine_info(),
        "command": "python bench/recipe_race.py " + " ".join(sys.argv[1:]),
        "budget_cpu_minutes": args.budget_min,
        "judge_minutes": (time.perf_counter() - t0) / 60,
        "recipes": table,
        "classical": image["classical"]["summary"] | {"sentence_acc": classical_accuracy(results)},
    }
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=1, ensure_ascii=False))
    args.out.with_suffix(".md").write_text(markdown(result))
    print(args.out.with_suffix(".md").read_text())


def image_rows(
    labels: Path, edits: list[Any], read: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Each row's surface figures (``surface_figures``) per edit, and their means (PSNRs
    capped as the benchmark caps them): the recipes' as ``read_row`` took them from their
    outputs (``read``), the classical edit's from the outputs it left beside the set."""
    from glyphgen.benchmark.edit import PSNR_CAP, surface_figures
    from glyphgen.images import open_image

    folder = labels.parent.parent / "classical"
    classical = [surface_figures(open_image(folder / e.image), e) for e in edits]
    per_row = {name: r["per_edit"] for name, r in read.items()} | {"classical": classical}
    return {
        name: {
            "per_edit": per_edit,
            "summary": {
                k: float(np.nanmean([min(p[k], PSNR_CAP) for p in per_edit])) for k in IMAGE_FIGURES
            },
        }
        for name, per_edit in per_row.items()
    }


def classical_accuracy(results: Path) -> float:
    rows = json.loads((results / "edits.json").read_text())["rows"]
    return next(r["legibility"]["sentence_acc"] for r in rows if r["name"] == "classical")


def image_figures(rows: dict[str, dict[str, Any]], name: str, base: str) -> dict[str, Any]:
    """Region SSIM, background PSNR (outside B's ink) and halo PSNR (the ring just outside
    it), against the truth, of a recipe; and their paired intervals against the base's."""
    row = rows[name]
    return {k: row["summary"][k] for k in IMAGE_FIGURES} | {
        f"vs_base_{k}": against(row, rows[base], k) for k in IMAGE_FIGURES
    }


def against_parent(
    read: dict[str, dict[str, Any]], image: dict[str, dict[str, Any]], name: str
) -> dict[str, Any] | None:
    """A recipe against the one it extends (``EXTENDS``), where both were judged."""
    from paired_rows import summary

    parent = EXTENDS.get(name)
    if parent not in read:
        return None
    paired = summary(read[name], read[parent]) | image_figures(image, name, parent)
    return (
        {"parent": parent}
        | {k: v for k, v in paired.items() if k.startswith("vs_base")}
        | {
            "wins": paired["wins"],
            "losses": paired["losses"],
        }
    )


def verdict(paired: dict[str, Any]) -> str:
    d = paired["vs_base_sentence_acc"]
    return "wins" if d["low"] > 0 else "loses" if d["high"] < 0 else "tie"


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    base = result["recipes"][0]["recipe"]
    lines = [
        "# The recipe race: same CPU time, same batches, judged from noise on validation",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores; {m['date']}. Command: `{result['command']}`.",
        "",
        f"Each recipe: the `race` config (glyphgen/model/configs/race.yaml: 32x128 crops, "
        f"batches of 16 rendered ahead) plus its overrides, trained from random weights for "
        f"{result['budget_cpu_minutes']:g} CPU minutes (one thread), EMA weights judged from "
        f"pure noise (strength 1) on the validation pairs by PP-OCRv4; each row paired with "
        f"`{base}` edit by edit (bootstrap 95%).",
        "",
        "| recipe | what | CPU min | steps | crops / CPU s | sentence acc | vs base | "
        "Lev ratio | vs base | wins / losses | region SSIM | vs base | background PSNR | "
        "vs base | halo PSNR | vs base | verdict |",
        "|---|---|---:|---:|---:|---:|---|---:|---|---:|---:|---|---:|---|---:|---|---|",
    ]
    for r in result["recipes"]:
        first = r["recipe"] == base
        lines.append(
            f"| {r['recipe']} | {r['what']} | {r['cpu_minutes']:.1f} | {r['steps']} | "
            f"{r['crops_per_cpu_s']:.1f} | {r['sentence_acc']:.3f} | "
            f"{'-' if first else interval_cell(r['vs_base_sentence_acc'])} | {r['ratio']:.3f} | "
            f"{'-' if first else interval_cell(r['vs_base_ratio'])} | "
            f"{'-' if first else str(r['wins']) + ' / ' + str(r['losses'])} | "
            f"{r['ssim']:.3f} | {'-' if first else interval_cell(r['vs_base_ssim'])} | "
            f"{r['background_psnr']:.1f} | "
            f"{'-' if first else interval_cell(r['vs_base_background_psnr'])} | "
            f"{r['halo_psnr']:.1f} | {'-' if first else interval_cell(r['vs_base_halo_psnr'])} | "
            f"{r['verdict']} |"
        )
    parents = [r for r in result["recipes"] if r.get("vs_parent")]
    if parents:
        lines += [
            "",
            "Each recipe against the one it adds a lever to (paired on the same edits):",
            "",
            "| recipe | against | sentence acc | Lev ratio | wins / losses | region SSIM | "
            "background PSNR | halo PSNR |",
            "|---|---|---|---|---:|---|---|---|",
        ]
        for r in parents:
            v = r["vs_parent"]
            cells = [interval_cell(v[f"vs_base_{k}"]) for k in
                     ("sentence_acc", "ratio")]  # fmt: skip
            more = [interval_cell(v[f"vs_base_{k}"]) for k in IMAGE_FIGURES]
            lines.append(
                f"| {r['recipe']} | {v['parent']} | {' | '.join(cells)} | "
                f"{v['wins']} / {v['losses']} | {' | '.join(more)} |"
            )
    c = result["classical"]
    lines += ["", f"The classical edit (no model) on the same pairs: sentence accuracy "
              f"{c['sentence_acc']:.3f}, region SSIM {c['ssim']:.3f}, background PSNR "
              f"{c['background_psnr']:.1f} dB, halo PSNR {c['halo_psnr']:.1f} dB. Background "
              f"PSNR: the region outside B's ink grown by {BACKGROUND_DILATE} px; halo PSNR: the "
              f"ring from there out to {HALO_REACH} of the line's height, where a dark halo or "
              "a smear shows."]  # fmt: skip
    lines += ["", f"Judged {result['recipes'][0]['judged']} edits; judging took "
              f"{result['judge_minutes']:.0f} min. Sample grids (last step, the preview batch): "
              + ", ".join(f"`recipe_race_{r['recipe']}.png`" for r in result["recipes"]), ""]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("phase", choices=("prepare", "train", "judge"))
    ap.add_argument("recipes", nargs="*", help="train: these recipes (default: all untrained)")
    ap.add_argument("--work", type=Path, default=ROOT / "out" / "race")
    ap.add_argument("--config", default="race", help="the race's base training config")
    ap.add_argument("--batches", type=int, default=1200, help="prepare: batches written")
    ap.add_argument("--budget-min", type=float, default=15.0, help="CPU minutes a recipe")
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--calibrate-only", action="store_true", help="train: measure, no run")
    ap.add_argument("--jobs", type=int, default=2, help="train: recipes side by side")
    ap.add_argument("--limit", type=int, default=0, help="judge: the first N pairs only")
    ap.add_argument(
        "--reuse", action="store_true", help="judge: read the rows already drawn, draw none"
    )
    ap.add_argument("--out", type=Path, default=RESULTS / "recipe_race")
    args = ap.parse_args()
    {"prepare": run_prepare, "train": run_train, "judge": run_judge}[args.phase](args)


if __name__ == "__main__":
    main()
