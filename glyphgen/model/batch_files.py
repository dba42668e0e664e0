"""Training batches rendered ahead: written once to files, read back by the trainer.

Rendering scenes and cutting them into crops costs about as much CPU as a training step of
the small models (docs/model.md), and every recipe compared on the same data would pay it
again. ``write_batch_files`` takes the batches a stage's factory data yields (exactly what
``glyphgen.model.data.batches`` gives the trainer) and stores each as one safetensors file:
pixels as uint8, masks as uint8, the per-sample draws as they were drawn, and the strings
(texts, captions, boxes) as JSON in the file's metadata. ``read_batch_files`` yields them
back, in order, pass after pass, with the same keys and dtypes as the live stream.

A folder of batch files is a stage's ``data.source: batches`` with ``data.shards`` its glob.
"""

from __future__ import annotations

import glob
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

# keys stored as uint8 pixels in [-1, 1] (RGB) or [0, 1] (masks), and as-is (draws)
RGB_KEYS = ("image", "source", "style_ref")
MASK_KEYS = ("glyph", "position", "edit")
AS_IS_KEYS = ("use_source", "keep_ref", "attributes", "keep_attr")
TEXT_KEYS = ("texts", "captions", "boxes", "vertical")
PATTERN = "batch-*.safetensors"
MAX_BATCH_FILES = 1_000_000  # one folder; about 2 MB a batch of 16 crops at 64x256


def _pack(batch: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    tensors: dict[str, torch.Tensor] = {}
    for key in RGB_KEYS:  # (B, 3, H, W) in [-1, 1] -> uint8 exactly as the crop's pixels
        tensors[key] = ((batch[key] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    for key in MASK_KEYS:  # (B, 1, H, W) in [0, 1]
        tensors[key] = (batch[key] * 255).round().clamp(0, 255).to(torch.uint8)
    for key in AS_IS_KEYS:
        tensors[key] = batch[key].contiguous()
    text = {key: batch[key] for key in TEXT_KEYS}
    return tensors, {"glyphgen": json.dumps(text, ensure_ascii=False)}


def _unpack(tensors: dict[str, torch.Tensor], meta: dict[str, str]) -> dict[str, Any]:
    batch: dict[str, Any] = {}
    for key in RGB_KEYS:
        batch[key] = tensors[key].float() / 127.5 - 1
    for key in MASK_KEYS:
        batch[key] = tensors[key].float() / 255
    for key in AS_IS_KEYS:
        batch[key] = tensors[key]
    text = json.loads(meta["glyphgen"])
    text["boxes"] = [tuple(box) for box in text["boxes"]]
    return batch | text


def write_batch_files(
    stream: Iterator[dict[str, Any]],
    count: int,
    folder: Path,
    progress: Any = None,
) -> list[Path]:
    """Write the next ``count`` batches of ``stream`` to ``folder`` as batch-NNNNNN files.
    Files already there are kept (a re-run continues); returns every file's path."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"batch-{i:06d}.safetensors" for i in range(count)]
    for i, path in enumerate(paths):
        batch = next(stream)
        if path.exists():  # the stream is replayed to stay in step with the files kept
            if progress is not None:
                progress(i + 1, count)
            continue
        tensors, meta = _pack(batch)
        partial = path.with_suffix(".partial")
        save_file(tensors, str(partial), metadata=meta)
        partial.replace(path)  # a killed run never leaves a torn batch under the final name
        if progress is not None:
            progress(i + 1, count)
    return paths


def batch_file_paths(patterns: list[str]) -> list[str]:
    files = sorted({f for pat in patterns for f in glob.glob(pat)})
    if not files:
        raise FileNotFoundError(
            f"no batch file matches {patterns}; write them first with "
            "`glyphgen train --config CONFIG --write-batches N --out FOLDER`"
        )
    return files


def read_batch_files(patterns: list[str], start: int = 0) -> Iterator[dict[str, Any]]:
    """Endless: the files in name order, pass after pass, from the ``start``-th batch (counted
    across passes). Each batch carries ``"next"``: how many batches were read so far."""
    files = batch_file_paths(patterns)
    index = start
    while True:
        path = files[index % len(files)]
        with safe_open(path, framework="pt") as f:
            batch = _unpack({k: f.get_tensor(k) for k in f.keys()}, f.metadata() or {})  # noqa: SIM118 (no __iter__)
        index += 1
        batch["next"] = index
        yield batch
