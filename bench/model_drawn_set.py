"""A model-drawn line set: throughput, kept fraction, and its labels read by a judge the
selection never used.

    python bench/model_drawn_set.py --num 100 --threads 1          # what the results record

1) ``glyphgen synth --preset lines`` twice with the same seed (the same texts, faces,
   colours, places and effects): once as the factory draws it (font), once with every line
   redrawn by the shipped glyph model through ``glyphgen.render`` (``model_draw.fraction
   1``), each kept only where the selecting judge (``combined``, the render's default)
   reads its label exactly within ``--tries`` draws, else the font-rendered line is kept.
   The model and the judge are loaded before the clock starts (the load is reported
   apart). Every kept model-drawn line was read exactly twice by the selecting judge: while
   drawn, and again in the stored file (after the effects and the JPEG encoding).
2) Both sets are read on their own labels by the selecting judge and by PP-OCRv5
   (``ppocrv5``), which the selection never consulted. Figures per judge are over the
   lines whose label that judge can output (the evaluator's rule), with a bootstrap 95%
   interval; the font-rendered set is the scale (what the judge makes of clean font lines).

Writes ``bench/results/model_drawn_set.{json,md}``; the sets stay in ``--work``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's glyphgen, when run as a script

from glyphgen import configio  # noqa: E402
from glyphgen.benchmark.machine import machine_info  # noqa: E402
from glyphgen.eval.backends import create_backend  # noqa: E402
from glyphgen.eval.edit_metrics import paired_bootstrap  # noqa: E402
from glyphgen.eval.evaluate import evaluate  # noqa: E402
from glyphgen.render.model_drawn import ModelDrawer  # noqa: E402
from glyphgen.synth import runner  # noqa: E402
from glyphgen.synth import shards as sh  # noqa: E402
from glyphgen.synth.config import SynthConfig, load_config  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "model_drawn_set"
JUDGES = {"selecting (combined)": "combined", "PP-OCRv5": "ppocrv5"}
COMMON = ("gb2312-l1", "no-hanzi")  # the evaluator's charset groups of labels with no rare hanzi


def set_config(args: argparse.Namespace, model: bool) -> SynthConfig:
    overrides = [f"seed={args.seed}", "output.shard_size=50"]
    if model:
        overrides += [
            "model_draw.fraction=1",
            f"model_draw.tries={args.tries}",
            f"model_draw.judge={args.judge}",
            "model_draw.on_fail=font",
        ]
        if args.steps is not None:
            overrides.append(f"model_draw.steps={args.steps}")
        if args.strength is not None:
            overrides.append(f"model_draw.strength={args.strength}")
    return load_config(preset="lines", overrides=overrides, extra={"num": args.num})


def make_set(cfg: SynthConfig, out: Path) -> dict[str, Any]:
    """The set written to ``out`` (resumed where shards are there); its report, the seconds
    of the shards drawn now and the seconds the model and judge took to load."""
    load = 0.0
    if cfg.model_draw.fraction > 0:  # load in this process's worker cache, off the clock
        started = time.perf_counter()
        drawn = runner._renderer(configio.to_dict(cfg), None, ModelDrawer).model_draw
        assert isinstance(drawn, ModelDrawer)
        drawn.renderer().pipeline()
        drawn.renderer().judge()
        load = time.perf_counter() - started
    drawer = ModelDrawer if cfg.model_draw.fraction > 0 else None
    report = runner.run(cfg, out, workers=1, progress=False, drawer=drawer)
    plans = sh.plan_shards(cfg.num, cfg.output.shard_size)
    manifests = [sh.read_manifest(out / p.rel) or {} for p in plans]
    return {
        "report": configio.to_dict(report),
        "load_s": round(load, 1),
        "shard_s": round(sum(float(m.get("seconds", 0)) for m in manifests), 1),
        "resumed": report.shards_resumed,
    }


def read_set(folder: Path, judge: Any) -> tuple[list[bool | None], list[bool]]:
    """Per line in label order: exact (None where the judge cannot output the label), and
    whether every hanzi of the label is a common one (GB2312 level 1)."""
    report = evaluate(folder / "labels.jsonl", folder, backend=judge)
    regions = sorted(report.regions, key=lambda r: (r.sample, r.region))
    exact = [None if r.covered is False else bool(r.exact) for r in regions]
    return exact, [r.charset in COMMON for r in regions]


def kept_lines(folder: Path) -> list[str]:
    """Per line in label order: "model" (drawn by the model and kept) or "font"."""
    out = []
    with open(folder / "labels.jsonl", encoding="utf-8") as fh:
        for line in fh:
            meta = json.loads(line)["meta"].get("model_draw", {})
            out.append(meta.get("region0", {}).get("kept", "font"))
    return out


def accuracy(exact: list[bool | None], seed: int) -> dict[str, Any]:
    judged = [float(e) for e in exact if e is not None]
    if not judged:
        return {"lines": 0, "exact": None, "low": None, "high": None}
    ci = paired_bootstrap(judged, [0.0] * len(judged), np.random.default_rng(seed))
    return {
        "lines": len(judged),
        "exact": round(ci.mean_difference, 4),
        "low": round(ci.low, 4),
        "high": round(ci.high, 4),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    torch.set_num_threads(args.threads)
    sets = {"font": set_config(args, False), "model": set_config(args, True)}
    load_before = os.getloadavg()
    made = {name: make_set(cfg, args.work / name) for name, cfg in sets.items()}
    load_after = os.getloadavg()
    events = made["model"]["report"]["events"]
    regions = events.get("model_draw_regions", 0)
    kept = kept_lines(args.work / "model")
    model_lines = [k == "model" for k in kept]
    results: dict[str, Any] = {
        "command": " ".join(["python bench/model_drawn_set.py", *sys.argv[1:]]),
        "machine": machine_info(),
        # the machine's load average (1, 5, 15 min) before and after drawing: other jobs share
        # its cores, so lines/s are of this load, not of an idle machine
        "load_average": [[round(x, 1) for x in load_before], [round(x, 1) for x in load_after]],
        "num": args.num,
        "tries": args.tries,
        "selecting_judge": args.judge,
        "sampling": {"steps": args.steps, "strength": args.strength},
        "events": events,
        "kept_fraction": round(events.get("model_draw_kept", 0) / regions, 4) if regions else None,
        "draws_per_line": round(events.get("model_draw_draws", 0) / regions, 3)
        if regions
        else None,
        "sets": {},
        "reads": {},
        "paired": {},
    }
    for name, m in made.items():
        lines = m["report"]["samples_written"]
        results["sets"][name] = {
            "lines": lines,
            "load_s": m["load_s"],
            "shard_s": m["shard_s"],
            "lines_per_s": round(lines / m["shard_s"], 3) if m["shard_s"] else None,
            "resumed_shards": m["resumed"],
        }
    for label, backend in JUDGES.items():
        judge = create_backend(backend, threads=args.threads)
        model, common = read_set(args.work / "model", judge)
        font, _ = read_set(args.work / "font", judge)
        rows = {}
        for group, keep in [
            ("", lambda c: True),
            (", common hanzi only", lambda c: c),
            (", with rare hanzi", lambda c: not c),
        ]:
            picked = [m and keep(c) for m, c in zip(model_lines, common, strict=True)]
            rows[f"model-drawn lines kept{group}"] = accuracy(_of(model, picked), args.seed)
            rows[f"the same lines, font-rendered{group}"] = accuracy(_of(font, picked), args.seed)
        rows["whole mixed set"] = accuracy(model, args.seed)
        rows["whole font set"] = accuracy(font, args.seed)
        results["reads"][label] = rows
        both = [
            (float(a), float(b))
            for a, b, m in zip(model, font, model_lines, strict=True)
            if m and a is not None and b is not None
        ]
        if both:
            first, second = [a for a, _ in both], [b for _, b in both]
            ci = paired_bootstrap(first, second, np.random.default_rng(args.seed))
            results["paired"][label] = {
                "lines": len(both),
                "model_minus_font": round(ci.mean_difference, 4),
                "low": round(ci.low, 4),
                "high": round(ci.high, 4),
            }
    return results


def _of(values: list[Any], keep: list[bool]) -> list[Any]:
    return [v for v, k in zip(values, keep, strict=True) if k]


def markdown(results: dict[str, Any]) -> str:
    e, sets = results["events"], results["sets"]
    lines = [
        "# A model-drawn line set: throughput, kept fraction, labels read by an independent judge",
        "",
        f"Command: `{results['command']}`",
        "",
        f"Machine: {json.dumps(results['machine'], ensure_ascii=False)}; load average (1, 5, "
        f"15 min) before and after drawing: {results['load_average']} (other jobs share the "
        "cores: lines/s are of that load)",
        "",
        f"{results['num']} lines of the `lines` preset, each redrawn by the shipped glyph model "
        f"(sampling {results['sampling']}: None is the weights' default) and kept only where "
        f"the selecting judge (`{results['selecting_judge']}`) read its label exactly within "
        f"{results['tries']} draws; else the font-rendered line is kept. PP-OCRv5 took no part "
        "in selecting.",
        "",
        "| set | lines | lines/s | model + judge load (s, apart) |",
        "|---|---:|---:|---:|",
    ]
    for name, s in sets.items():
        lines.append(f"| {name} | {s['lines']} | {s['lines_per_s']} | {s['load_s']} |")
    lines += [
        "",
        f"Regions redrawn: {e.get('model_draw_regions', 0)}; kept model-drawn: "
        f"{e.get('model_draw_kept', 0)} (kept fraction {results['kept_fraction']}); "
        f"font kept: {e.get('model_draw_font', 0)}; refused by the render entry point: "
        f"{e.get('model_draw_refused', 0)}; took more than one draw: "
        f"{e.get('model_draw_redrawn', 0)}; draws per line: {results['draws_per_line']}; read "
        f"while drawn but not in the stored file (so font kept): "
        f"{e.get('model_draw_unread_stored', 0)}.",
        "",
        "Sentence accuracy (exact reads) with bootstrap 95% intervals, over the lines whose "
        "label the judge can output:",
        "",
        "| judge | subset | lines | exact | 95% interval |",
        "|---|---|---:|---:|---|",
    ]
    for judge, rows in results["reads"].items():
        for subset, a in rows.items():
            interval = "-" if a["low"] is None else f"[{a['low']:.3f}, {a['high']:.3f}]"
            exact = "-" if a["exact"] is None else f"{a['exact']:.3f}"
            lines.append(f"| {judge} | {subset} | {a['lines']} | {exact} | {interval} |")
    lines += [
        "",
        "Kept model-drawn lines against the same lines font-rendered, paired (exact, model "
        "minus font), bootstrap 95% interval:",
        "",
        "| judge | lines | model - font | 95% interval |",
        "|---|---:|---:|---|",
    ]
    for judge, d in results["paired"].items():
        lines.append(
            f"| {judge} | {d['lines']} | {d['model_minus_font']:+.3f} | "
            f"[{d['low']:+.3f}, {d['high']:+.3f}] |"
        )
    return "\n".join(lines) + "\n"


def write(results: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(
        json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    out.with_suffix(".md").write_text(markdown(results), encoding="utf-8")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--num", type=int, default=100, help="lines in the set")
    p.add_argument("--tries", type=int, default=4, help="model draws per line at most")
    p.add_argument("--judge", default="combined", help="the selecting judge (a backend)")
    p.add_argument("--steps", type=int, help="sampling steps (default: the weights')")
    p.add_argument("--strength", type=float, help="1: from noise (default: the weights')")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch and OCR threads")
    p.add_argument("--work", type=Path, default=Path("out/model_drawn_set"))
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args()
    if args.judge == "ppocrv5":
        p.error("--judge ppocrv5: PP-OCRv5 grades the set, so it must not select it")
    write(run(args), args.out)
    print(args.out.with_suffix(".md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
