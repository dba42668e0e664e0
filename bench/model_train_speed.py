"""Training speed of the glyph model, fp32 against bf16 autocast (``mixed_precision``).

    python bench/model_train_speed.py            # -> bench/results/model_train_speed.{json,md}

One optimizer step as `glyphgen train --config cpu` takes it (``Trainer.optimizer_step``:
diffusion + OCR-aware loss, backward, clipping, AdamW) on a fixed batch of the cpu config's
stage 1 (16 horizontal 64x256 crops from the factory), starting from the shipped weights
(weights/glyph-default), timed in alternating rounds so both precisions see the same
machine load; medians and their ratio are reported. Each precision is a Trainer of its own
(accelerate fixes autocast when it prepares a module), with the learning rate at 0, so every
step sees the same weights, and the noise generator reseeded before every step, so every
step draws the same noise and timesteps: the losses each precision computes on the same
batch and weights are reported, so a speed-up that changes the numbers shows. Also recorded:
the dtype a UNet convolution computes in during each precision's step (bf16 autocast must
show ``torch.bfloat16``).

Run it on an idle machine: the 1-minute load average is recorded beside the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from glyphgen.benchmark.machine import machine_info
from glyphgen.model.config import load_train_config
from glyphgen.model.data import batches
from glyphgen.model.train import Trainer

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = "weights/glyph-default"
PRECISIONS = ("no", "bf16")
NAMES = {"no": "fp32", "bf16": "bf16"}


def make_trainer(precision: str, out: Path, threads: int, text_loss: Any = None) -> Trainer:
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(True)  # one process, one Accelerator at a time
    cfg = load_train_config(
        "cpu",
        [f"out={out / precision}", f"init={ROOT / WEIGHTS}"],
        # a flag, not --set: YAML reads a bare `no` as false
        {"num_threads": threads, "mixed_precision": precision},
    )
    return Trainer(cfg, text_loss=text_loss, progress=False, command="bench")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds per precision")
    ap.add_argument("--steps", type=int, default=1, help="optimizer steps per round")
    ap.add_argument("--threads", type=int, default=0, help="torch threads; 0 = every core")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = ap.parse_args()
    threads = args.threads or len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        trainers: dict[str, Trainer] = {}
        optimizers: dict[str, torch.optim.Optimizer] = {}
        for precision in PRECISIONS:
            shared = next(iter(trainers.values())).text_loss if trainers else None
            trainer = trainers[precision] = make_trainer(precision, Path(tmp), threads, shared)
            optimizers[precision] = trainer.prepare_stage(trainer.cfg.stages[0])
            for module in trainer.trainable.values():
                module.train()
        cfg = trainers["no"].cfg
        stage = cfg.stages[0]
        stream = batches(stage.data, cfg.model, stage.batch_size, trainers["no"].fonts, 0)
        batch = next(b for b in stream if not b["vertical"])
        stream.close()
        dtypes: dict[str, str] = {}

        def step(precision: str) -> dict[str, float]:  # the very step `glyphgen train` takes
            trainer = trainers[precision]
            trainer.generator.manual_seed(0)  # the same noise and timesteps every step
            seen: list[torch.dtype] = []
            conv = trainer.pipe.unet.conv_in
            hook = conv.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
            losses = trainer.optimizer_step(batch, optimizers[precision], lr=0.0)
            hook.remove()
            dtypes[NAMES[precision]] = str(seen[0])
            return {k: v.item() for k, v in losses.items()}

        losses = {NAMES[p]: step(p) for p in PRECISIONS}  # warm-up; the losses to compare
        seconds: dict[str, list[float]] = {NAMES[p]: [] for p in PRECISIONS}
        load_before = os.getloadavg()[0]
        for _ in range(args.rounds):
            for precision in PRECISIONS:
                t0 = time.perf_counter()
                for _ in range(args.steps):
                    step(precision)
                seconds[NAMES[precision]].append((time.perf_counter() - t0) / args.steps)
        load = max(load_before, os.getloadavg()[0])
    median = {k: statistics.median(v) for k, v in seconds.items()}
    loss_change = {k: round(losses["bf16"][k] / losses["fp32"][k] - 1, 5) for k in losses["fp32"]}
    results: dict[str, Any] = {
        "machine": machine_info(),
        "command": "python bench/model_train_speed.py " + " ".join(sys.argv[1:]),
        "threads": threads,
        "config": "cpu",
        "weights": WEIGHTS,
        "batch": list(batch["image"].shape),
        "unet_conv_dtype": dtypes,
        "seconds_per_step": {k: [round(x, 3) for x in v] for k, v in seconds.items()},
        "median_seconds_per_step": {k: round(v, 3) for k, v in median.items()},
        "steps_per_hour": {k: round(3600 / v) for k, v in median.items()},
        "speedup_bf16": round(median["fp32"] / median["bf16"], 2),
        "loss_same_batch": {k: {n: round(x, 6) for n, x in v.items()} for k, v in losses.items()},
        "loss_change_bf16": loss_change,
        "load_average": round(load, 2),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "model_train_speed.json").write_text(json.dumps(results, indent=2) + "\n")
    m = results["machine"]
    terms = list(losses["fp32"])
    md = [
        "# Glyph model training speed: fp32 vs bf16 autocast",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {threads} threads; {m['date']}; "
        f"1-minute load average {results['load_average']}. Command: `{results['command']}`.",
        "",
        f"One step = `Trainer.optimizer_step` of the cpu config from {WEIGHTS}: a batch "
        f"{tuple(batch['image'].shape)}, diffusion + OCR-aware loss, backward, clipping, AdamW; "
        f"{args.rounds} alternating rounds of {args.steps} steps, each precision its own "
        "Trainer (`mixed_precision`), same noise and timesteps every step.",
        "",
        "| precision | UNet conv dtype | median s / step | steps / hour | "
        + " | ".join("total loss" if t == "loss" else f"{t} loss" for t in terms)
        + " |",
        "|---|---|---:|---:|" + "---:|" * len(terms),
    ]
    for k in ("fp32", "bf16"):
        md.append(
            f"| {k} | {dtypes[k]} | {median[k]:.3f} | {results['steps_per_hour'][k]} | "
            + " | ".join(f"{losses[k][t]:.6f}" for t in terms)
            + " |"
        )
    change = ", ".join(f"{t} {100 * v:+.2f}%" for t, v in loss_change.items())
    md += [
        "",
        f"bf16 / fp32 speed: **{results['speedup_bf16']}x**; bf16 loss change: {change}.",
        "",
    ]
    (args.out / "model_train_speed.md").write_text("\n".join(md), encoding="utf-8")
    print("\n".join(md))


if __name__ == "__main__":
    main()
