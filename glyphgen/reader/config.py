"""Typed config of a recognizer training run (``glyphgen train-reader --config``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from glyphgen import configio
from glyphgen.paths import resolve_data_path


@dataclass
class NetSection:
    widths: tuple[int, int, int, int] = (32, 64, 128, 192)
    hidden: int = 256
    context_layers: int = 2
    embed: int = 128


@dataclass
class ReaderTrainConfig:
    # The factory config lines are drawn from (kind: line, height 32, fonts.split: train)
    # and --set style overrides for it; the factory seed in it names the training data.
    data: str = "presets/reader-train.yaml"
    data_overrides: list[str] = field(default_factory=list)
    steps: int = 3000  # optimizer steps in total, over every leg
    batch_size: int = 48
    lr: float = 2e-3
    warmup: int = 300  # linear warm-up steps, then cosine decay to 5% at ``steps``
    weight_decay: float = 0.01
    seed: int = 0  # initial weights; the data's seed is the factory config's
    workers: int = 1  # processes rendering lines
    shuffle_buffer: int = 2048  # lines; consecutive coverage lines share characters
    # batches of like-width lines, sorted within pools of this many batches (1 = random
    # widths): 1.6x the steps per hour of compute, 1.37x with the renderer on the same
    # 2 cores (docs/reader.md, bench/results/reader_train_speed.md)
    bucket_batches: int = 16
    threads: int = 0  # torch threads; 0 = every core
    # bf16: the forward pass under CPU autocast (weights, optimizer and CTC stay fp32):
    # 1.62x the steps per hour on this AVX512-BF16 CPU (bench/results/reader_train_speed.md)
    precision: Literal["fp32", "bf16"] = "fp32"
    checkpoint_every: int = 200  # steps
    heldout_every: int = 500  # steps; quick held-out check (held-out seed and font)
    heldout_lines: int = 200
    heldout_seed: int = 9_000_000  # factory seed of held-out lines; never a training seed
    net: NetSection = field(default_factory=NetSection)
    # A model folder (e.g. weights/reader) to continue from when the run folder is new: its
    # weights, steps, data index and legs carry over (the optimizer restarts, with a fresh
    # warm-up), so training resumes across sessions from the committed fp16 weights. Where
    # ``net`` asks for more than the init model has (wider stages, more context layers), the
    # model is widened Net2Net-style first (glyphgen/reader/grow.py): it starts out reading
    # as it did, with room to learn more; a smaller ``net`` is ignored.
    init: str = ""
    # Characters beyond the default vocabulary (charset names or files, e.g. "gbk"): they
    # are appended as new output classes, so a trained model grows without starting over.
    extra_charset: str | list[str] = ""


def load_reader_config(
    path: Path | None, overrides: list[str] | None = None, flags: dict[str, Any] | None = None
) -> ReaderTrainConfig:
    """Defaults < the YAML file < ``--set`` overrides < ``flags`` (explicit CLI flags)."""
    files = [Path(path)] if path else []
    where = str(path or "reader config")
    return configio.load(ReaderTrainConfig, files, overrides, flags, where)


def data_path(cfg: ReaderTrainConfig) -> Path:
    return resolve_data_path(cfg.data)
