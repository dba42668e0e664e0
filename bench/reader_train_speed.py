"""Training speed of glyphgen's recognizer, side by side: fp32 against bf16 autocast, and
random batches against batches of like-width lines (``bucket_batches``).

    python bench/reader_train_speed.py            # -> bench/results/reader_train_speed.{json,md}

One optimizer step as `glyphgen train-reader` takes it (forward, CTC, backward, clipping,
AdamW: ``glyphgen.reader.train.optimizer_step``) on a fixed batch of the training factory's
lines (glyphgen/data/presets/reader-train-stacked.yaml, batch 48 or --batch, the bundled net), timed in
alternating rounds so both precisions see the same machine load; medians and their ratio
are reported, with the CTC loss each precision computes on the same batch (the same
weights) so a speed-up that changes the numbers would show.

Batching: the same 16 batches' worth of lines (768), cut into batches in stream order (every
leg before 2026-11-26) and by width (``glyphgen.reader.data.width_buckets``, pool 16), each
batch padded to its widest line; one bf16 step per batch, both ways in alternating rounds;
the time to train on all 768 lines and the padded pixels per real pixel are reported.

Run it on an idle machine: the 1-minute load average is recorded beside the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from glyphgen.benchmark.machine import machine_info
from glyphgen.reader.config import ReaderTrainConfig, load_reader_config
from glyphgen.reader.data import FactoryLines, batches, make_batch, width_buckets
from glyphgen.reader.net import LineRecognizer
from glyphgen.reader.train import factory_config, optimizer_step
from glyphgen.reader.vocab import Vocabulary
from glyphgen.reader.weights import load_model

ROOT = Path(__file__).resolve().parents[1]
DATA = "presets/reader-train-stacked.yaml"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rounds", type=int, default=5, help="alternating rounds per precision")
    ap.add_argument("--steps", type=int, default=3, help="optimizer steps per round")
    ap.add_argument("--threads", type=int, default=0, help="torch threads; 0 = every core")
    ap.add_argument("--batch", type=int, default=48, help="lines per batch (a smoke run: 4)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = ap.parse_args()
    threads = args.threads or len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    model, vocab, _ = load_model(None)
    model.float().train()
    cfg = load_reader_config(None, [f"data={DATA}"])
    batch = next(batches(FactoryLines(factory_config(cfg), vocab, 50_000_000), args.batch, 0))
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    opt = torch.optim.AdamW(model.parameters(), lr=0.0)  # lr 0: every step sees the same weights

    def step(bf16: bool) -> float:  # the very step `glyphgen train-reader` takes
        return optimizer_step(model, opt, ctc, batch, bf16=bf16).item()

    names = {False: "fp32", True: "bf16"}
    losses = {names[bf]: step(bf) for bf in (False, True)}  # warm-up; the losses to compare
    seconds: dict[str, list[float]] = {"fp32": [], "bf16": []}
    load_before = os.getloadavg()[0]
    for _ in range(args.rounds):
        for bf in (False, True):
            t0 = time.perf_counter()
            for _ in range(args.steps):
                step(bf)
            seconds[names[bf]].append((time.perf_counter() - t0) / args.steps)
    median = {k: statistics.median(v) for k, v in seconds.items()}
    batching = time_batching(model, vocab, cfg, opt, ctc, args.rounds, args.batch)
    results: dict[str, Any] = {
        "machine": machine_info(),
        "command": "python bench/reader_train_speed.py " + " ".join(sys.argv[1:]),
        "threads": threads,
        "batch": list(batch.images.shape),
        "data": DATA,
        "seconds_per_step": {k: [round(x, 4) for x in v] for k, v in seconds.items()},
        "median_seconds_per_step": {k: round(v, 4) for k, v in median.items()},
        "steps_per_hour": {k: round(3600 / v) for k, v in median.items()},
        "speedup_bf16": round(median["fp32"] / median["bf16"], 2),
        "ctc_loss_same_batch": {k: round(v, 5) for k, v in losses.items()},
        "batching": batching,
        "load_average": round(max(load_before, os.getloadavg()[0]), 2),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "reader_train_speed.json").write_text(json.dumps(results, indent=2) + "\n")
    m = results["machine"]
    md = [
        "# Recognizer training speed: fp32 vs bf16 autocast",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {threads} threads; {m['date']}; "
        f"1-minute load average {results['load_average']}. Command: `{results['command']}`.",
        "",
        f"One step = batch of {batch.images.shape[0]} lines {tuple(batch.images.shape[2:])}, "
        f"forward + CTC + backward + clipping + AdamW; {args.rounds} alternating rounds of "
        f"{args.steps} steps.",
        "",
        "| precision | median s / step | steps / hour | CTC loss, same batch and weights |",
        "|---|---:|---:|---:|",
    ]
    for k in ("fp32", "bf16"):
        md.append(
            f"| {k} | {median[k]:.3f} | {results['steps_per_hour'][k]} | "
            f"{results['ctc_loss_same_batch'][k]:.5f} |"
        )
    md += ["", f"bf16 / fp32 speed: **{results['speedup_bf16']}x**.", ""]
    lines = batching["lines"]
    md += [
        f"## Batching: {lines} lines, batches of {args.batch}, bf16",
        "",
        "| batches | padded px / line px | median s for all lines | lines / s |",
        "|---|---:|---:|---:|",
    ]
    for k in ("random", "by_width"):
        sec = batching["median_seconds"][k]
        md.append(f"| {k} | {batching['padding'][k]:.2f} | {sec:.2f} | {lines / sec:.0f} |")
    md += ["", f"by width / random speed: **{batching['speedup_by_width']}x**.", ""]
    (args.out / "reader_train_speed.md").write_text("\n".join(md), encoding="utf-8")
    print("\n".join(md))


def time_batching(
    model: LineRecognizer,
    vocab: Vocabulary,
    cfg: ReaderTrainConfig,
    opt: torch.optim.Optimizer,
    ctc: torch.nn.CTCLoss,
    rounds: int,
    size: int = 48,
    pool: int = 16,
) -> dict[str, Any]:
    """One bf16 step per batch over the same lines, batched in stream order and by width."""
    stream = FactoryLines(factory_config(cfg), vocab, 60_000_000)
    items: list[tuple[np.ndarray, str]] = []
    for grey, text, _ in stream:
        items.append((grey, text))
        if len(items) == size * pool:
            break
    ways = {
        "random": list(width_buckets(items, size, 1, np.random.default_rng(0))),
        "by_width": list(width_buckets(items, size, pool, np.random.default_rng(0))),
    }
    made = {
        k: [make_batch([g for g, _ in group], [t for _, t in group], vocab) for group in v]
        for k, v in ways.items()
    }
    real = sum(grey.shape[1] for grey, _ in items)
    seconds: dict[str, list[float]] = {k: [] for k in made}
    for _ in range(rounds):
        for k, group in made.items():
            t0 = time.perf_counter()
            for batch in group:
                optimizer_step(model, opt, ctc, batch, bf16=True)
            seconds[k].append(time.perf_counter() - t0)
    median = {k: statistics.median(v) for k, v in seconds.items()}
    return {
        "lines": len(items),
        "padding": {
            k: round(sum(b.images.numel() for b in v) / 32 / real, 3) for k, v in made.items()
        },
        "seconds": {k: [round(x, 3) for x in v] for k, v in seconds.items()},
        "median_seconds": {k: round(v, 3) for k, v in median.items()},
        "speedup_by_width": round(median["random"] / median["by_width"], 2),
    }


if __name__ == "__main__":
    main()
