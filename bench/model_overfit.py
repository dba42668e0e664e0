"""Can the model learn to write? Fit one batch of 8 factory line crops and look.

    python bench/model_overfit.py --prediction sample --steps 150
    python bench/model_overfit.py --prediction v_prediction --steps 150

The default-size model (cpu config) trains on one fixed batch (clean horizontal lines,
generation from scratch: no masked source, no style inputs), then samples it with the
default sampler. Writes bench/results/model_overfit_<prediction>.{json,jpg}: the loss every
25 steps and a grid (rows: glyph control, generated, ground truth). A sanity check of the
training loop, the ControlNet path and the sampler, and the comparison that chose the
default ``prediction_type``; not a measure of generalisation.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from glyphgen.benchmark.machine import machine_info

ROOT = Path(__file__).resolve().parents[1]
SCENES = [
    "scene.width=384",
    "scene.height=192",
    "scene.regions=[1,1]",
    "layout.lines=[1,1]",
    "scene.font_size=[40,64]",
    "layout.curve_prob=0",
    "text.length=[2,4]",
    "effects.blur_prob=0",
    "effects.noise_prob=0",
    "effects.jpeg_prob=0",
]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--prediction", default="sample", choices=["sample", "v_prediction", "epsilon"])
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from glyphgen.model.config import DataConfig, StageConfig, load_train_config
    from glyphgen.model.data import batches
    from glyphgen.model.train import Trainer

    cfg = load_train_config("cpu", [f"model.prediction_type={args.prediction}", "out=/tmp/overfit"])
    data = DataConfig(
        overrides=SCENES, vertical=0.0, edit_prob=0.0, style_ref_prob=0.0, attr_prob=0.0
    )
    cfg.stages = [StageConfig(name="overfit", steps=args.steps, batch_size=8, data=data)]
    torch.manual_seed(0)
    trainer = Trainer(cfg, progress=False)
    batch = next(batches(data, cfg.model, 8, trainer.fonts))
    params = list(
        {
            id(p): p for m in trainer.trainable.values() for p in m.parameters() if p.requires_grad
        }.values()
    )
    optimizer = torch.optim.AdamW(params, lr=args.lr)
    for m in trainer.trainable.values():
        m.train()
    losses, t0 = [], time.perf_counter()
    for step in range(1, args.steps + 1):
        for group in optimizer.param_groups:
            group["lr"] = args.lr * min(1.0, step / 20)  # short warmup
        loss = trainer.training_step(batch)["loss"]
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step % 25 == 0:
            losses.append({"step": step, "loss": round(loss.item(), 4)})
            print(losses[-1], flush=True)
    seconds = time.perf_counter() - t0

    grid = Path("/tmp/overfit") / f"grid-{args.prediction}.png"
    trainer.sample_grid(batch, grid)
    img = np.asarray(Image.open(grid))
    keep = np.concatenate([img[:128], img[-64:]])  # glyph, from scratch, truth
    name = f"model_overfit_{args.prediction}"
    args.out.mkdir(parents=True, exist_ok=True)
    Image.fromarray(keep).resize((keep.shape[1] // 2, keep.shape[0] // 2)).save(
        args.out / f"{name}.jpg", quality=85
    )
    result = {
        "machine": machine_info(),
        "prediction_type": args.prediction,
        "steps": args.steps,
        "batch": 8,
        "lr": args.lr,
        "seconds": round(seconds, 1),
        "losses": losses,
        "texts": batch["texts"],
        "grid": f"{name}.jpg (rows: glyph control, generated at {cfg.model.default_steps} steps, truth)",
        "command": f"python bench/model_overfit.py --prediction {args.prediction} --steps {args.steps}",
    }
    (args.out / f"{name}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
