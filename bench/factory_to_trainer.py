"""What a trainer pays to get a factory sample, side by side: the arrays a ``Sample`` now carries
against the encode-to-PNG-then-decode round trip every trainer made before (2026-11-30).

    python bench/factory_to_trainer.py     # -> bench/results/factory_to_trainer.{json,md}

For the recognizer's lines (glyphgen/data/presets/reader-train-stacked.yaml) and the glyph model's
scenes (the scenes-diffusion preset, glyph image included), the same samples are rendered once
and then handed to the trainer's input step both ways, in alternating rounds so both see the
same machine load:

- round trip: ``encode`` to PNG (what ``Renderer`` used to return) and decode it back with PIL
  (what ``glyphgen.reader.data`` and ``glyphgen.model.data`` used to do), then the trainer's step;
- arrays: ``sample.pixels`` (and ``sample.glyph_image``) straight into the same step.

The render itself is timed too, so the saving is shown against the whole cost per sample.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from glyphgen.benchmark.machine import machine_info
from glyphgen.model.data import scene_from_sample
from glyphgen.reader.data import to_grey
from glyphgen.synth.config import load_config
from glyphgen.synth.effects import encode
from glyphgen.synth.render import Renderer
from glyphgen.synth.runner import load_fonts

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "results" / "factory_to_trainer"


def _decode(data: bytes, mode: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert(mode))


def _lines_round_trip(samples: list) -> None:
    for s in samples:
        to_grey(Image.open(io.BytesIO(encode(s.image, "png", 0))))


def _lines_arrays(samples: list) -> None:
    for s in samples:
        to_grey(s.pixels)


def _scenes_round_trip(samples: list) -> None:
    for s in samples:
        image = _decode(encode(s.image, "png", 0), "RGB")
        glyph = _decode(encode(s.glyph_image, "png", 0), "L")
        assert image.shape[:2] == glyph.shape
        scene_from_sample(s, {})


def _scenes_arrays(samples: list) -> None:
    for s in samples:
        scene_from_sample(s, {})


def _timed(fn, samples: list) -> float:
    start = time.perf_counter()
    fn(samples)
    return (time.perf_counter() - start) / len(samples)


def measure(kind: str, cfg, count: int, rounds: int) -> dict[str, Any]:
    renderer = Renderer(cfg, load_fonts(cfg))
    start = time.perf_counter()
    samples = [s for s in (renderer.render(i) for i in range(count)) if s is not None]
    render_s = (time.perf_counter() - start) / count
    ways = (
        {"round trip": _lines_round_trip, "arrays": _lines_arrays}
        if kind == "lines"
        else {"round trip": _scenes_round_trip, "arrays": _scenes_arrays}
    )
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(rounds):
        for name, fn in ways.items():
            times[name].append(_timed(fn, samples))
    med = {name: statistics.median(t) for name, t in times.items()}
    return {
        "kind": kind,
        "samples": len(samples),
        "render_ms": 1000 * render_s,
        "round_trip_ms": 1000 * med["round trip"],
        "arrays_ms": 1000 * med["arrays"],
        "saved_share_of_sample": (med["round trip"] - med["arrays"])
        / (render_s + med["round trip"]),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=400, help="recognizer lines to render")
    p.add_argument("--scenes", type=int, default=40, help="glyph-model scenes to render")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--out", type=Path, default=OUT, help="results stem (.json and .md)")
    args = p.parse_args(argv)
    lines_cfg = load_config(REPO / "glyphgen/data/presets/reader-train-stacked.yaml")
    scenes_cfg = load_config(preset="scenes-diffusion")
    rows = [
        measure("lines", lines_cfg, args.lines, args.rounds),
        measure("scenes", scenes_cfg, args.scenes, args.rounds),
    ]
    result = {
        "machine": machine_info(),
        "load_1min": os.getloadavg()[0],
        "command": "python bench/factory_to_trainer.py",
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    m = result["machine"]
    md = [
        "# Factory sample to trainer input: arrays against the PNG round trip",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores; {m['date']}. Command: `{result['command']}` "
        f"(median of {args.rounds} alternating rounds; 1-minute load {result['load_1min']:.1f}, "
        "so the ratios, not the milliseconds, are the figures to compare).",
        "",
        "| data | samples | render ms/sample | round trip ms/sample | arrays ms/sample | "
        "round trip / arrays | saved, share of render + round trip |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        md.append(
            f"| {r['kind']} | {r['samples']} | {r['render_ms']:.2f} | {r['round_trip_ms']:.2f} | "
            f"{r['arrays_ms']:.2f} | {r['round_trip_ms'] / r['arrays_ms']:.1f}x | "
            f"{100 * r['saved_share_of_sample']:.0f}% |"
        )
    args.out.with_suffix(".md").write_text("\n".join(md) + "\n", encoding="utf-8")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
