"""Factory throughput, side by side with trdg, plus scene speed, scaling and worker memory.

    python bench/synth_vs_trdg.py                 # writes bench/results/synth_vs_trdg.{json,md}
    python bench/synth_vs_trdg.py --num 500 --repeats 1   # a quick look

trdg needs Pillow < 10, so it runs from its own virtual environment:
    python -m venv .venv-trdg && .venv-trdg/bin/pip install trdg "pillow<10"
(``--trdg`` points at its executable; without it the trdg rows are left out, and said so.)

The comparable job (what trdg users run): horizontal Chinese lines of 6 characters, 64 px
high, gaussian-noise background, random skew up to 5 degrees, JPEG files plus labels, 2
processes. Both tools run as command-line programs, start-up included, and the median of
``--repeats`` runs is reported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from glyphgen.benchmark.machine import machine_info

ROOT = Path(__file__).resolve().parents[1]
OURS_LINES = [
    "text.source=random",
    "text.charset=gb2312-l1",
    "text.length=[6, 6]",
    "text.mix={digits: 0, latin: 0, punct: 0}",
    "line.height=64",
    "background.kinds={noise: 1}",
    "layout.spacing=[0, 0]",
    "layout.angle_prob=1",
    "layout.angle=[-5, 5]",
    "layout.perspective_prob=0",
    "style.stroke_prob=0",
    "style.shadow_prob=0",
    "effects.blur_prob=0",
    "effects.noise_prob=0",
    "effects.light_prob=0",
    "effects.jpeg_prob=0",
    "output.image_format=jpg",
    "output.shard_size=250",
]


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def ours_cmd(out: Path, num: int, workers: int, preset: str, overrides: list[str]) -> list[str]:
    sets = [x for o in overrides for x in ("--set", o)]
    return [
        sys.executable, "-m", "glyphgen", "synth", "--preset", preset, "--num", str(num),
        "--workers", str(workers), "--out", str(out), "--quiet", *sets,
    ]  # fmt: skip


def median_rate(make_cmd, num: int, repeats: int) -> tuple[float, list[float]]:
    rates = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            rates.append(num / timed(make_cmd(Path(tmp) / "out")))
    return statistics.median(rates), rates


def worker_peak_memory_mb() -> float:
    """Peak RSS of one process that loads every bundled font face and renders 300 scenes."""
    code = """
import resource
from glyphgen.synth.config import load_config
from glyphgen.synth.render import Renderer
from glyphgen.synth.runner import load_fonts
cfg = load_config(preset="scenes-diffusion")
lib = load_fonts(cfg)
r = Renderer(cfg, lib)
for face in lib.faces:
    for size in (24, 48, 96):
        lib.pil_font(face, size)
for i in range(300):
    r.render(i)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--num", type=int, default=2000, help="lines per run")
    ap.add_argument("--scenes", type=int, default=200, help="scenes per run")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--trdg", default=str(ROOT / ".venv-trdg" / "bin" / "trdg"))
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = ap.parse_args()

    results: dict[str, object] = {"machine": machine_info(), "num_lines": args.num}
    trdg_path = Path(args.trdg)

    def trdg_cmd(out: Path) -> list[str]:
        return [
            str(trdg_path), "-l", "cn", "-c", str(args.num), "-w", "6", "-t", "2", "-f", "64",
            "-b", "0", "-k", "5", "-rk", "--output_dir", str(out),
        ]  # fmt: skip

    # Alternate the two tools run by run, so a busy moment on the machine hits both alike.
    ours_all: list[float] = []
    trdg_all: list[float] = []
    for _ in range(args.repeats):
        ours_all += median_rate(
            lambda out: ours_cmd(out, args.num, 2, "lines", OURS_LINES), args.num, 1
        )[1]
        if trdg_path.exists():
            trdg_all += median_rate(trdg_cmd, args.num, 1)[1]
    ours = statistics.median(ours_all)
    results["glyphgen_lines_per_s"] = ours
    results["glyphgen_runs"] = ours_all
    if trdg_all:
        trdg = statistics.median(trdg_all)
        results["trdg_lines_per_s"] = trdg
        results["trdg_runs"] = trdg_all
        results["ratio"] = ours / trdg
    else:
        results["trdg_lines_per_s"] = None
        results["trdg_note"] = f"trdg not found at {trdg_path}; see this script's docstring"

    scene_overrides = ["output.shard_size=25"]
    rates = {}
    for workers in (1, 2):
        rates[workers], _ = median_rate(
            lambda out, w=workers: ours_cmd(
                out, args.scenes, w, "scenes-diffusion", scene_overrides
            ),
            args.scenes,
            args.repeats,
        )
    results["scenes_512_per_s"] = {"1_worker": rates[1], "2_workers": rates[2]}
    results["scenes_speedup_1_to_2"] = rates[2] / rates[1]
    results["worker_peak_rss_mb"] = worker_peak_memory_mb()

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "synth_vs_trdg.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    m = results["machine"]
    lines = [
        "# Factory throughput",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores; {m['date']}. Command: `python bench/synth_vs_trdg.py`"
        f" (median of {args.repeats} runs, start-up included).",
        "",
        "| job | glyphgen | trdg 1.8.0 | ratio |",
        "|---|---|---|---|",
    ]
    trdg_rate = results.get("trdg_lines_per_s")
    ratio = f"{results['ratio']:.1f}x" if trdg_rate else "n/a"
    trdg_cell = f"{trdg_rate:.0f} img/s ({trdg_rate / 2:.0f}/core)" if trdg_rate else "not run"
    lines.append(
        f"| 6-char lines, 64 px, noise bg, skew <= 5 deg, JPEG, 2 processes | {ours:.0f} img/s "
        f"({ours / 2:.0f}/core) | {trdg_cell} | {ratio} |"
    )
    lines += [
        "",
        "| scenes 512x512 + glyph control + position mask (PNG) | 1 worker | 2 workers | speed-up |",
        "|---|---|---|---|",
        f"| scenes-diffusion preset | {rates[1]:.1f} img/s | {rates[2]:.1f} img/s | "
        f"{results['scenes_speedup_1_to_2']:.2f}x |",
        "",
        f"Peak memory of one worker with every bundled font face loaded: "
        f"{results['worker_peak_rss_mb']:.0f} MB.",
    ]
    (args.out / "synth_vs_trdg.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
