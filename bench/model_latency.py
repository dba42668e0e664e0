"""CPU latency of the glyph model: one 64x256 line region at the default step count.

    flock /tmp/bench.lock python bench/model_latency.py            # default-size model, untrained
    python bench/model_latency.py --weights out/model/weights     # a trained pipeline

Writes bench/results/model_latency.{json,md}. Rows:
- ``denoise``: the pipeline call alone (text + style encoders, ControlNet + UNet per step,
  decoding) for one 64x256 crop, batch 1;
- ``region``: a whole ``render`` region (glyph layout, rectification, generation, paste-back)
  on a 320x96 background;
- a step sweep of the pipeline call, to show the cost per denoising step.
Untrained weights cost the same time as trained ones of the same size. Medians of
``--repeats`` runs after one warm-up run. Target (issue 5): at most 2 s per line region.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from glyphgen.benchmark.machine import machine_info

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: allocations, oneDNN kernels
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--weights", type=Path, help="trained pipeline (default: cpu config, untrained)"
    )
    ap.add_argument("--config", default="cpu", help="model config when no --weights")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--out", type=Path, default=RESULTS / "model_latency")
    args = ap.parse_args()

    from diffusers.utils.logging import disable_progress_bar

    from glyphgen.model.build import build_pipeline
    from glyphgen.model.config import load_train_config
    from glyphgen.model.pipeline import GlyphPipeline
    from glyphgen.model.render import RegionRequest, render_regions
    from glyphgen.render.regions import parse_region
    from glyphgen.typeset.fonts import FontLibrary

    disable_progress_bar()
    torch.manual_seed(0)
    if args.weights:
        pipe = GlyphPipeline.from_pretrained(args.weights)
        source = str(args.weights)
    else:
        pipe = build_pipeline(load_train_config(args.config).model)
        source = f"config {args.config} (untrained weights)"
    pipe.set_progress_bar_config(disable=True)
    params = {
        name: sum(p.numel() for p in getattr(pipe, name).parameters())
        for name in ("unet", "controlnet", "text_encoder", "style_adapter")
        if getattr(pipe, name) is not None  # no controlnet: the ablation model
    }
    params["unet"] -= sum(p.numel() for p in pipe.style_adapter.processors.parameters())
    steps = int(pipe.config.default_steps)
    h, w = 64, 256
    glyph = torch.zeros(1, 1, h, w)
    glyph[..., 12:52, 24:232] = 1

    def call(n: int):
        return lambda: pipe(
            ["宁静致远"],
            glyph,
            glyph,
            num_inference_steps=n,
            generator=torch.Generator().manual_seed(0),
        )

    denoise = median_seconds(call(steps), args.repeats)
    sweep = {n: median_seconds(call(n), max(3, args.repeats // 2)) for n in (1, 4, 8, 16)}

    fonts = FontLibrary.load(progress=False)
    bg = np.full((96, 320, 3), 240, np.uint8)
    req = [RegionRequest("宁静致远", parse_region("40,24,280,72"))]
    region = median_seconds(lambda: render_regions(pipe, bg, req, fonts, seed=0), args.repeats)

    result = {
        "machine": machine_info(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "model": source,
        "parameters": params,
        "crop": [h, w],
        "sampler": type(pipe.scheduler).__name__,
        "default_steps": steps,
        "seconds_denoise_one_crop": round(denoise, 4),
        "seconds_render_one_region": round(region, 4),
        "seconds_by_steps": {str(k): round(v, 4) for k, v in sweep.items()},
        "seconds_per_step": round((sweep[16] - sweep[1]) / 15, 4),
        "target_seconds_per_region": 2.0,
        "meets_target": region <= 2.0,
        "repeats": args.repeats,
        "command": "flock /tmp/bench.lock python bench/model_latency.py " + " ".join(sys.argv[1:]),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    )
    m = result["machine"]
    total = sum(params.values()) / 1e6
    lines = [
        "# Glyph model latency (CPU)",
        "",
        f"{m['date']}, {m['cpu']}, {m['cores']} cores, torch {torch.__version__}, {result['torch_threads']} threads.",
        f"Model: {source}; {total:.1f}M parameters "
        + ", ".join(f"{k} {v / 1e6:.2f}M" for k, v in params.items())
        + f"; {result['sampler']}, {steps} steps by default.",
        "",
        "| what | seconds (median) |",
        "|---|---|",
        f"| one 64x256 crop, {steps} steps (pipeline call) | {denoise:.3f} |",
        f"| one line region through `render` (layout, warp, generate, paste) | {region:.3f} |",
        *(f"| pipeline call, {k} steps | {v:.3f} |" for k, v in sweep.items()),
        f"| per extra denoising step (ControlNet + UNet) | {result['seconds_per_step']:.3f} |",
        "",
        f"Target: at most 2 s per line region on CPU: {'met' if result['meets_target'] else 'NOT met'}.",
        "",
        f"Reproduce: `{result['command']}`",
        "",
    ]
    args.out.with_suffix(".md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
