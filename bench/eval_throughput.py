"""Evaluator throughput: 48x320 crops per second, batched, beside a one-crop-at-a-time loop.

    flock /tmp/bench.lock python bench/eval_throughput.py      # writes bench/results/eval_throughput.{json,md}
    python bench/eval_throughput.py --num 64 --repeats 1       # a quick look

The naive loop is what AnyText's evaluation script does (``eval/eval_dgocr.py``: one
recognizer call per crop), here with the same PP-OCRv4 model and rapidocr's own
``TextRecognizer`` at its defaults. The batched path is ``glyphgen.eval``'s default backend
called the way ``evaluate()`` calls it (``EvalConfig.chunk`` crops per call). Two more rows
split the difference into its parts (the folded graph alone, batching alone), and one runs
the whole ``evaluate()`` (PNG decoding, cropping, scoring) over the same crops as files.

Crops: factory lines (bench/sets/ceiling_lines.yaml with 7-8 random GB2312 level-1 hanzi, 48 px
high) resized to exactly 320 px wide. Every path runs once per repeat, in rotating order, so
a busy moment on the machine hits all of them alike; the median of the repeats is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from glyphgen.benchmark.machine import machine_info

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 3.0
TARGET_RATE = 150.0


def make_crops(num: int, tmp: Path) -> tuple[list[np.ndarray], list[str]]:
    """``num`` RGB 48x320 line crops rendered by the factory, and their texts."""
    from glyphgen.synth.config import load_config
    from glyphgen.synth.runner import run

    cfg = load_config(
        ROOT / "bench" / "sets" / "ceiling_lines.yaml",
        overrides=[
            "text.source=random",
            "text.charset=gb2312-l1",
            "text.length=[7, 8]",
            "text.mix={digits: 0, latin: 0, punct: 0}",
            f"num={num}",
            "seed=11",
        ],
    )
    run(cfg, tmp / "lines", workers=1, progress=False)
    crops, texts = [], []
    for line in (tmp / "lines" / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        image = np.asarray(Image.open(tmp / "lines" / rec["image"]).convert("RGB"))
        # 7-8 characters at 48 px are 250-360 px wide: resized to exactly 320
        crops.append(cv2.resize(image, (320, 48), interpolation=cv2.INTER_AREA))
        texts.append(rec["texts"][0]["text"])
    return crops, texts


def gflop_per_crop() -> float:
    """Multiply-adds of the recognizer's convolutions and matrix products for one 48x320
    crop (x2 for FLOPs), from the shapes onnxruntime's profiler records."""
    import onnxruntime as ort
    import rapidocr_onnxruntime

    model = Path(rapidocr_onnxruntime.__file__).parent / "models" / "ch_PP-OCRv4_rec_infer.onnx"
    options = ort.SessionOptions()
    options.enable_profiling = True
    options.log_severity_level = 3
    options.profile_file_prefix = str(Path(tempfile.gettempdir()) / "glyphgen_eval_flops")
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    session.run(None, {session.get_inputs()[0].name: np.zeros((1, 3, 48, 320), np.float32)})
    trace = Path(session.end_profiling())
    macs = 0
    for event in json.loads(trace.read_text(encoding="utf-8")):
        if event.get("cat") != "Node" or not event["name"].endswith("_kernel_time"):
            continue
        op = event["args"]["op_name"]
        inputs = [next(iter(x.values())) for x in event["args"]["input_type_shape"]]
        outputs = int(np.prod(next(iter(event["args"]["output_type_shape"][0].values()))))
        if op in ("Conv", "FusedConv"):
            macs += outputs * int(np.prod(inputs[1][1:]))  # per output: C_in/groups x kH x kW
        elif op in ("MatMul", "FusedMatMul", "Gemm"):
            macs += outputs * inputs[0][-1]
    trace.unlink()
    return 2 * macs / 1e9


def naive_loop(threads: int) -> Callable[[list[np.ndarray]], list[str]]:
    """rapidocr's TextRecognizer as shipped, one call per crop."""
    import rapidocr_onnxruntime
    from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer
    from rapidocr_onnxruntime.utils import read_yaml

    package = Path(rapidocr_onnxruntime.__file__).parent
    config = dict(read_yaml(str(package / "config.yaml"))["Rec"])
    config.update(model_path=str(package / config["model_path"]), intra_op_num_threads=threads)
    rec = TextRecognizer(config)

    def read(crops: list[np.ndarray]) -> list[str]:
        return [str(rec([cv2.cvtColor(c, cv2.COLOR_RGB2BGR)])[0][0][0]) for c in crops]

    return read


def ours(
    threads: int, chunk: int, per_crop: bool = False, **options: object
) -> Callable[[list[np.ndarray]], list[str]]:
    from glyphgen.eval.backends import create_backend

    backend = create_backend("rapidocr", threads=threads, **options)
    step = 1 if per_crop else chunk

    def read(crops: list[np.ndarray]) -> list[str]:
        out = []
        for i in range(0, len(crops), step):
            out += [r.text for r in backend.recognize(crops[i : i + step])]
        return out

    read.info = backend.info()  # type: ignore[attr-defined]
    return read


def whole_evaluate(crops: list[np.ndarray], texts: list[str], tmp: Path, threads: int):
    """``evaluate()`` over the crops saved as PNG files, one JSONL line each (no polygon)."""
    from glyphgen.eval import evaluate
    from glyphgen.eval.backends import create_backend

    folder = tmp / "crops"
    folder.mkdir()
    lines = []
    for i, (crop, text) in enumerate(zip(crops, texts, strict=True)):
        Image.fromarray(crop).save(folder / f"{i:05d}.png")
        lines.append(json.dumps({"image": f"crops/{i:05d}.png", "text": text}, ensure_ascii=False))
    labels = tmp / "labels.jsonl"
    labels.write_text("\n".join(lines) + "\n", encoding="utf-8")
    backend = create_backend("rapidocr", threads=threads)

    def read(_: list[np.ndarray]) -> list[str]:
        report = evaluate(labels, backend=backend)
        return [r.read for r in report.regions]

    return read


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--num", type=int, default=256, help="crops per run")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cores", type=int, default=2, help="cores to run on (threads per session)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = ap.parse_args()

    # Pin to --cores cores where the machine has more, so that "2 cores" means 2 cores.
    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > args.cores:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.cores])

    from glyphgen.eval.config import EvalConfig
    from glyphgen.eval.normalize import normalize

    chunk = EvalConfig().chunk
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        crops, texts = make_crops(args.num, tmp)
        paths: dict[str, Callable[[list[np.ndarray]], list[str]]] = {
            "naive": naive_loop(args.cores),
            "batched": ours(args.cores, chunk),
            "per_crop_folded_graph": ours(args.cores, chunk, per_crop=True),
            "batched_shipped_graph": ours(args.cores, chunk, fuse=False),
            "evaluate_end_to_end": whole_evaluate(crops, texts, tmp, args.cores),
        }
        for read in paths.values():  # warm-up: sessions, thread pools, allocator
            read(crops[:16])
        runs: dict[str, list[float]] = {name: [] for name in paths}
        reads: dict[str, list[str]] = {}
        names = list(paths)
        for r in range(args.repeats):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                start = time.perf_counter()
                reads[name] = paths[name](crops)
                runs[name].append(len(crops) / (time.perf_counter() - start))

    rate = {name: statistics.median(v) for name, v in runs.items()}
    exact = {  # as the evaluator scores it: after the default normalization
        name: sum(normalize(a) == normalize(b) for a, b in zip(r, texts, strict=True))
        for name, r in reads.items()
    }
    same_as_naive = {
        name: sum(a == b for a, b in zip(r, reads["naive"], strict=True))
        for name, r in reads.items()
    }
    ratio = rate["batched"] / rate["naive"]
    gflop = gflop_per_crop()
    info = paths["batched"].info  # type: ignore[attr-defined]
    results = {
        "machine": machine_info(),
        "command": "flock /tmp/bench.lock python bench/eval_throughput.py "
        + " ".join(sys.argv[1:]),
        "crops": args.num,
        "crop_size": [48, 320],
        "repeats": args.repeats,
        "cores": args.cores,
        "versions": _versions(),
        "backend": info,
        "crops_per_s": rate,
        "runs": runs,
        "batched_over_naive": ratio,
        "gflop_per_crop": gflop,
        "gflop_per_s": {name: r * gflop for name, r in rate.items()},
        "read_exactly": exact,
        "same_text_as_naive": same_as_naive,
        "targets": {
            "ratio": TARGET_RATIO,
            "crops_per_s": TARGET_RATE,
            "ratio_met": ratio >= TARGET_RATIO,
            "rate_met": rate["batched"] >= TARGET_RATE,
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "eval_throughput.json").write_text(json.dumps(results, indent=1) + "\n")
    md = markdown(results)
    (args.out / "eval_throughput.md").write_text(md, encoding="utf-8")
    print(md)


ROWS = {
    "naive": "one call per crop: rapidocr `TextRecognizer` as shipped (AnyText's loop)",
    "per_crop_folded_graph": "one call per crop, glyphgen backend (folded graph)",
    "batched_shipped_graph": "glyphgen backend batched, graph as shipped (`fuse=False`)",
    "batched": "**glyphgen backend batched (default), as `evaluate()` calls it**",
    "evaluate_end_to_end": "`evaluate()` end to end: PNG files, crop, read, score",
}


def markdown(res: dict) -> str:
    m, n = res["machine"], res["crops"]
    rate, naive = res["crops_per_s"], res["crops_per_s"]["naive"]
    t = res["targets"]
    lines = [
        "# Evaluator throughput (PP-OCRv4 recognition, 48x320 crops)",
        "",
        f"Machine: {m['cpu']}, {res['cores']} cores used; {m['date']}; "
        f"{', '.join(f'{k} {v}' for k, v in res['versions'].items())}.",
        f"Command: `{res['command'].strip()}`; {n} crops per run, median of "
        f"{res['repeats']} runs. Backend: {res['backend']}.",
        "",
        "| path | crops/s | vs naive | read exactly | same text as naive |",
        "|---|---:|---:|---:|---:|",
    ]
    for key, label in ROWS.items():
        lines.append(
            f"| {label} | {rate[key]:.0f} | {rate[key] / naive:.2f}x | "
            f"{res['read_exactly'][key]}/{n} | {res['same_text_as_naive'][key]}/{n} |"
        )
    lines += [
        "",
        f"Targets: at least {t['crops_per_s']:.0f} crops/s: "
        f"**{'met' if t['rate_met'] else 'missed'}** ({rate['batched']:.0f}); at least "
        f"{t['ratio']:.0f}x the naive loop: **{'met' if t['ratio_met'] else 'missed'}** "
        f"({res['batched_over_naive']:.2f}x).",
        "",
        f"One 48x320 crop is {res['gflop_per_crop']:.2f} GFLOP of fp32 convolutions and matrix "
        f"products (counted from onnxruntime's profile). The naive loop sustains "
        f"{res['gflop_per_s']['naive']:.0f} GFLOP/s, the batched path "
        f"{res['gflop_per_s']['batched']:.0f} GFLOP/s; {t['ratio']:.0f}x the naive loop would "
        f"take {t['ratio'] * res['gflop_per_s']['naive']:.0f} GFLOP/s from {res['cores']} cores. "
        "Batching alone does not get there: the recognizer is compute-bound even one crop at "
        "a time, and what is left after folding the graph is mostly the convolutions' own "
        "matrix products. Lower precision (int8, bf16) would change what the judge reads, "
        "so it is not used.",
        "",
        '"read exactly": crops whose normalized reading equals the target. The crops are '
        "random level-1 hanzi (no language context to lean on), so this is lower than on real "
        "phrases; it is the same for every path, and every path reads the same text as the "
        "naive loop.",
        "",
    ]
    return "\n".join(lines)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("onnxruntime", "rapidocr-onnxruntime", "onnx"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


if __name__ == "__main__":
    main()
