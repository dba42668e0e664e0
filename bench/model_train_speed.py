"""Training throughput of the glyph model: crops per second of today's recipe against the
same recipe fed from batches rendered ahead, and against the race's smaller crops.

    python bench/model_train_speed.py            # -> bench/results/model_train_speed.{json,md}
    python bench/model_train_speed.py --steps 3 --rounds 1 --rows race-ahead   # smoke run

Each row is `glyphgen train` run for ``--steps`` optimizer steps from random weights, in
rounds that alternate the rows (so every row sees the machine's load in turn); the figures
are the medians over every step after each run's first (start-up and first-batch costs
left out) of:

- crops per second of wall time (what a user waits for), and
- crops per CPU second: the training process's CPU time, every thread, data rendering in its
  prefetch thread included; a busy machine changes it far less than wall time.

Rows (ROWS): ``today`` is the cpu config with the condition in the UNet and the OCR-aware loss
on every 4th step (the campaign's recipe, without its photo backgrounds) on 64x256 crops
rendered in the training loop; ``today-ahead`` the same model on batches written ahead
(``glyphgen train --write-batches``, not timed); ``race-ahead`` the race config (32x128
crops, glyphgen/model/configs/race.yaml) on batches written ahead; ``race-ahead-no-
controlnet`` the same without the ControlNet copy. Batch size 16 everywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from glyphgen.benchmark.machine import machine_info
from glyphgen.model.train import read_losses

ROOT = Path(__file__).resolve().parents[1]
TODAY = ["model.condition_in_unet=true", "ocr_loss.every=4"]
# name -> (config, overrides, rendered ahead)
ROWS: dict[str, tuple[str, list[str], bool]] = {
    "today": ("cpu", TODAY, False),
    "today-ahead": ("cpu", TODAY, True),
    "race-ahead": ("race", [], True),
    "race-ahead-no-controlnet": ("race", ["model.controlnet=false"], True),
}


def glyphgen(*args: str) -> None:
    cmd = [sys.executable, "-m", "glyphgen", *args]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{done.stderr[-2000:]}")


def one_stage(steps: int, shards: str | None) -> str:
    data = f"{{source: batches, shards: ['{shards}']}}" if shards else "{preset: train-crops}"
    return f"stages=[{{name: s, steps: {steps}, batch_size: 16, warmup: 1, data: {data}}}]"


def run_row(name: str, steps: int, threads: int, tmp: Path, k: int) -> list[dict[str, Any]]:
    config, overrides, ahead = ROWS[name]
    sets = [*overrides, f"num_threads={threads}", "sample_every=100000", "checkpoint_every=100000"]
    shards = None
    if ahead:  # the batches this row reads, written once and not timed
        folder = tmp / f"batches-{config}"
        if not folder.exists():
            glyphgen("train", "--config", config, "--quiet", "--set", one_stage(1, None),
                     "--write-batches", str(steps), "--out", str(folder))  # fmt: skip
        shards = str(folder / "batch-*.safetensors")
    out = tmp / f"{name}-{k}"
    args = [x for s in [*sets, one_stage(steps, shards)] for x in ("--set", s)]
    glyphgen("train", "--config", config, "--quiet", *args, "--out", str(out))
    records = list(read_losses(out / "loss.jsonl"))
    return records[1:]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", nargs="*", default=list(ROWS), choices=list(ROWS))
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds of the rows")
    ap.add_argument("--steps", type=int, default=8, help="optimizer steps per run")
    ap.add_argument("--threads", type=int, default=0, help="torch threads; 0 = every core")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = ap.parse_args()
    if args.steps < 2:
        raise SystemExit("--steps must be at least 2 (each run's first step is left out)")
    threads = args.threads or len(os.sched_getaffinity(0))
    steps: dict[str, list[dict[str, Any]]] = {name: [] for name in args.rows}
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.rounds):
            for name in args.rows:
                steps[name] += run_row(name, args.steps, threads, Path(tmp), k)
                load = max(load, os.getloadavg()[0])
    rows = {}
    for name, records in steps.items():
        wall = statistics.median(r["seconds"] for r in records)
        cpu = statistics.median(r["cpu_seconds"] for r in records)
        rows[name] = {
            "config": ROWS[name][0],
            "overrides": ROWS[name][1],
            "rendered_ahead": ROWS[name][2],
            "steps_timed": len(records),
            "median_seconds_per_step": round(wall, 3),
            "median_cpu_seconds_per_step": round(cpu, 3),
            "crops_per_second": round(16 / wall, 2),
            "crops_per_cpu_second": round(16 / cpu, 2),
        }
    base = rows.get("today")
    for row in rows.values():
        if base:
            row["vs_today_wall"] = round(row["crops_per_second"] / base["crops_per_second"], 2)
            row["vs_today_cpu"] = round(
                row["crops_per_cpu_second"] / base["crops_per_cpu_second"], 2
            )
    results = {
        "machine": machine_info(),
        "command": "python bench/model_train_speed.py " + " ".join(sys.argv[1:]),
        "threads": threads,
        "load_average_max": round(load, 2),
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "model_train_speed.json").write_text(json.dumps(results, indent=2) + "\n")
    m = results["machine"]
    md = [
        "# Glyph model training throughput: rendered in the loop, rendered ahead, smaller crops",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {threads} torch threads; {m['date']}; "
        f"highest 1-minute load average {results['load_average_max']}. "
        f"Command: `{results['command']}`.",
        "",
        f"Each row: `glyphgen train` for {args.steps} steps of 16 crops from random weights, "
        f"{args.rounds} alternating rounds; medians over every step but each run's first. "
        "CPU seconds are the training process's (all threads, its data thread included).",
        "",
        "| row | config + overrides | rendered ahead | s / step | crops / s | vs today | "
        "CPU s / step | crops / CPU s | vs today |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows.items():
        what = " ".join([r["config"], *r["overrides"]])
        md.append(
            f"| {name} | `{what}` | {'yes' if r['rendered_ahead'] else 'no'} | "
            f"{r['median_seconds_per_step']:.2f} | {r['crops_per_second']:.1f} | "
            f"{r.get('vs_today_wall', '-')}x | {r['median_cpu_seconds_per_step']:.2f} | "
            f"{r['crops_per_cpu_second']:.1f} | {r.get('vs_today_cpu', '-')}x |"
        )
    md.append("")
    (args.out / "model_train_speed.md").write_text("\n".join(md), encoding="utf-8")
    print("\n".join(md))


if __name__ == "__main__":
    main()
