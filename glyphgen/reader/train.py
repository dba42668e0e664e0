"""Training loop: factory lines in, CTC out, resumable, exported as a safetensors folder.

The run folder holds ``state.safetensors`` + ``state.json`` (full-precision weights,
optimizer moments, step, the next factory index) written every ``checkpoint_every`` steps
through a temporary name, so a killed run resumes where its last checkpoint left it; and
``model/`` (the exported fp16 weights, vocabulary and manifest). Each invocation is a "leg"
recorded in the manifest.

A killed run resumed from its folder is the run that was never killed, bit for bit: the
checkpoint holds the data stream's position (``StreamPosition``: the next factory index,
the lines in the shuffle buffer and width pools, their generator's state). The learning
rate is a function of the step, and nothing else draws random numbers: the net has no
dropout, its initial weights come from ``seed`` without touching torch's global
generator, and every line is rendered from (factory seed, index).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import warnings
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from glyphgen import configio
from glyphgen.paths import resolve_data_path
from glyphgen.reader.config import NetSection, ReaderTrainConfig, data_path
from glyphgen.reader.data import Batch, FactoryLines, StreamPosition, batches
from glyphgen.reader.grow import grow_vocabulary, larger_net, widen
from glyphgen.reader.metrics import read_lines, score_readings
from glyphgen.reader.net import LineRecognizer, NetConfig
from glyphgen.reader.vocab import Vocabulary, default_characters
from glyphgen.reader.weights import load_model, save_model
from glyphgen.resume import InexactResume
from glyphgen.synth.config import SynthConfig, load_config
from glyphgen.typeset import charsets


def factory_config(cfg: ReaderTrainConfig, heldout: bool = False) -> SynthConfig:
    extra: dict[str, Any] = {}
    overrides = list(cfg.data_overrides)
    if heldout:
        overrides += [
            "fonts.split=heldout",
            "effects.blur_prob=0",
            "effects.noise_prob=0",
            "effects.jpeg_prob=0",
            "effects.light_prob=0",
            "layout.perspective_prob=0",
            "text.source=random",
        ]
        extra["seed"] = cfg.heldout_seed
    return load_config(data_path(cfg), overrides=overrides, extra=extra)


def lr_at(cfg: ReaderTrainConfig, step: int, rewarm_from: int | None = None) -> float:
    """1) linear warm-up over ``warmup`` steps, 2) cosine decay to 5% at ``steps``; a run
    continued from exported weights (fresh optimizer moments) warms up again from
    ``rewarm_from`` to the schedule's value."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    lr = cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))
    if rewarm_from is not None:
        lr *= min(1.0, (step - rewarm_from + 1) / cfg.warmup)
    return lr


def wanted_vocabulary(cfg: ReaderTrainConfig, base: Vocabulary | None = None) -> Vocabulary:
    """``base`` (a trained model's vocabulary, ids kept) extended with the default characters
    and ``extra_charset``; new characters only ever append classes."""
    vocab = base or Vocabulary(default_characters())
    vocab = vocab.extended(default_characters())
    if cfg.extra_charset:
        vocab = vocab.extended(charsets.resolve_charset(cfg.extra_charset))
    return vocab


def _net_section(net: NetConfig) -> NetSection:
    """The config section of a built net: every size it has, not its class count."""
    return NetSection(**{f.name: getattr(net, f.name) for f in fields(NetSection)})


def _save_state(run: Path, model: LineRecognizer, opt: torch.optim.Optimizer, info: dict) -> None:
    tensors = {f"model.{k}": v.detach().contiguous() for k, v in model.state_dict().items()}
    for i, (_, st) in enumerate(opt.state_dict()["state"].items()):
        for name, value in st.items():
            if torch.is_tensor(value):
                tensors[f"opt.{i}.{name}"] = value.contiguous()
    tmp = run / "state.tmp.safetensors"
    save_file(tensors, str(tmp))
    os.replace(tmp, run / "state.safetensors")
    (run / "state.json.tmp").write_text(json.dumps(info, indent=1), encoding="utf-8")
    os.replace(run / "state.json.tmp", run / "state.json")


def _load_state(run: Path, model: LineRecognizer, opt: torch.optim.Optimizer) -> dict:
    info = json.loads((run / "state.json").read_text(encoding="utf-8"))
    tensors = load_file(str(run / "state.safetensors"))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    state = opt.state_dict()
    for i, pid in enumerate(state["param_groups"][0]["params"]):
        moments = {k.split(".", 2)[2]: v for k, v in tensors.items() if k.startswith(f"opt.{i}.")}
        if moments:
            state["state"][pid] = moments
    opt.load_state_dict(state)
    return info


def optimizer_step(
    model: LineRecognizer,
    opt: torch.optim.Optimizer,
    ctc: torch.nn.CTCLoss,
    batch: Batch,
    bf16: bool = False,
) -> torch.Tensor:
    """One training step on ``batch``: forward (under CPU bf16 autocast if ``bf16``), CTC,
    backward, gradient clipping, update; returns the loss."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        log_probs = model(batch.images)
    lengths = torch.full((batch.images.shape[0],), log_probs.shape[0], dtype=torch.long)
    loss = ctc(log_probs, batch.targets, lengths, batch.target_lengths)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    opt.step()
    return loss


def train(cfg: ReaderTrainConfig, run: Path, command: str = "", quiet: bool = False) -> Path:
    """Train (or resume) in ``run``; returns the exported model folder."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    run.mkdir(parents=True, exist_ok=True)
    fcfg = factory_config(cfg)
    info: dict[str, Any] = {"step": 0, "next_index": 0, "legs": [], "heldout": []}
    resuming = (run / "state.json").exists()
    init: LineRecognizer | None = None
    widened_from: dict[str, Any] = {}
    if resuming:  # the run's own vocabulary, so class ids never move under a checkpoint
        vocab = Vocabulary.load(run / "vocab.txt") if (run / "vocab.txt").exists() else None
        vocab = wanted_vocabulary(cfg, vocab)
    elif cfg.init:
        # 0) continue from exported weights: their net (widened where the config asks for
        # more), vocabulary (grown if asked) and history
        init, init_vocab, manifest = load_model(resolve_data_path(cfg.init))
        trained = _net_section(init.cfg)
        cfg.net = _net_section(larger_net(init.cfg, NetConfig(**asdict(cfg.net))))
        vocab = wanted_vocabulary(cfg, init_vocab)
        if vocab.size > init_vocab.size:
            init = grow_vocabulary(init, vocab.size)
        if trained != cfg.net:
            widened_from = asdict(trained)
            init = widen(init, NetConfig(**asdict(cfg.net), num_classes=vocab.size))
        info.update(step=manifest["steps"], next_index=manifest["training_data"]["sample_indices"][1],
                    legs=manifest.get("legs", []), heldout=manifest.get("heldout_checks", []),
                    rewarm_from=manifest["steps"])  # fmt: skip
    else:
        vocab = wanted_vocabulary(cfg)
    net_cfg = NetConfig(**{**asdict(cfg.net), "num_classes": vocab.size})
    with torch.random.fork_rng(devices=[]):  # the initial weights from the seed alone
        torch.manual_seed(cfg.seed)
        model = LineRecognizer(net_cfg)
    if init is not None:
        model.load_state_dict(init.state_dict())
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    config_dict = configio.to_dict(cfg)
    info["config"] = config_dict
    if resuming:
        saved = json.loads((run / "state.json").read_text(encoding="utf-8"))["config"]["net"]
        if json.dumps(saved) != json.dumps(config_dict["net"]):
            raise ValueError(
                f"{run} holds a recognizer with net {saved}, not {config_dict['net']}: "
                "use another run folder"
            )
        info = _load_state(run, model, opt)
        info["config"] = config_dict
    vocab.save(run / "vocab.txt")
    leg = {"start_step": info["step"], "start_index": info["next_index"],
           "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": command,
           "data": {"factory_config": cfg.data, "overrides": cfg.data_overrides,
                    "factory_seed": fcfg.seed, "font_split": fcfg.fonts.split},
           "vocabulary_size": vocab.size, "config": config_dict}  # fmt: skip
    if cfg.init and not resuming:
        leg["init"] = cfg.init
        if widened_from:
            leg["widened_from"] = widened_from  # Net2Net-style (glyphgen/reader/grow.py)
    info["legs"].append(leg)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    # a resumed run's stream goes on where it stood; a new leg's shuffle order is seeded by
    # where the leg starts, so a leg is reproducible alone
    position = StreamPosition.from_dict(info["stream"]) if info.get("stream") else None
    if resuming and position is None:
        warnings.warn(
            f"{run / 'state.json'} was written before checkpoints held the data stream's "
            f"position: resuming at step {info['step']} from factory line {info['next_index']} "
            "with a fresh shuffle buffer (the run is not the one that was never interrupted)",
            InexactResume,
            stacklevel=2,
        )
    stream = batches(FactoryLines(fcfg, vocab, info["next_index"]), cfg.batch_size, cfg.workers,
                     shuffle=cfg.shuffle_buffer, seed=fcfg.seed * 1_000_003 + info["next_index"],
                     bucket=cfg.bucket_batches, position=position)  # fmt: skip
    bar = tqdm(
        total=cfg.steps, initial=info["step"], desc="train-reader", disable=quiet, unit="step"
    )
    model.train()
    started, avg = time.time(), None
    while info["step"] < cfg.steps:
        batch = next(stream)
        for group in opt.param_groups:
            group["lr"] = lr_at(cfg, info["step"], info.get("rewarm_from"))
        loss = optimizer_step(model, opt, ctc, batch, bf16=cfg.precision == "bf16")
        info["step"] += 1
        info["next_index"] = batch.last_index + 1
        position = batch.position
        avg = loss.item() if avg is None else 0.98 * avg + 0.02 * loss.item()
        bar.update(1)
        bar.set_postfix(loss=f"{avg:.3f}")
        step = info["step"]
        if step % cfg.heldout_every == 0 or step == cfg.steps:
            model.eval()
            scores = quick_heldout(model, vocab, cfg)
            model.train()
            info["heldout"].append({"step": step, **scores})
            bar.write(f"step {step}: loss {avg:.3f}, held-out {scores}")
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            leg.update(
                end_step=step,
                seconds=round(time.time() - started),
                lines_per_s=round(
                    (step - leg["start_step"]) * cfg.batch_size / max(1e-9, time.time() - started),
                    1,
                ),
            )
            info["stream"] = position.to_dict() if position else None
            _save_state(run, model, opt, info)
    bar.close()
    model.eval()
    out = run / "model"
    save_model(out, model, vocab, manifest_for(cfg, fcfg, info))
    return out


def export_run(run: Path, dest: Path | None = None) -> Path:
    """Export the run's last checkpoint as a model folder (default ``run/model``) without
    training: what a finished leg leaves, also for a run that is still going."""
    info = json.loads((run / "state.json").read_text(encoding="utf-8"))
    cfg = configio.from_dict(ReaderTrainConfig, info["config"], where=str(run / "state.json"))
    saved = Vocabulary.load(run / "vocab.txt") if (run / "vocab.txt").exists() else None
    vocab = wanted_vocabulary(cfg, saved)
    model = LineRecognizer(NetConfig(**{**asdict(cfg.net), "num_classes": vocab.size}))
    opt = torch.optim.AdamW(model.parameters())
    _load_state(run, model, opt)
    out = dest or run / "model"
    save_model(out, model.eval(), vocab, manifest_for(cfg, factory_config(cfg), info))
    return out


def quick_heldout(model: LineRecognizer, vocab: Vocabulary, cfg: ReaderTrainConfig) -> dict:
    lines = FactoryLines(factory_config(cfg, heldout=True), vocab, 0, cfg.heldout_lines * 2)
    greys, texts = [], []
    for grey, text, _ in lines:
        greys.append(grey)
        texts.append(text)
        if len(texts) == cfg.heldout_lines:
            break
    reads = [r for r, _ in read_lines(model, vocab, greys)]
    return score_readings(texts, reads)


def manifest_for(cfg: ReaderTrainConfig, fcfg: SynthConfig, info: dict) -> dict[str, Any]:
    return {
        "what": "glyphgen line recognizer (CTC), 32-px grey lines",
        "steps": info["step"],
        "batch_size": cfg.batch_size,
        "training_data": {
            "factory_config": cfg.data,
            "overrides": cfg.data_overrides,
            "factory_seed": fcfg.seed,
            "sample_indices": [0, info["next_index"]],
            "font_split": fcfg.fonts.split,
        },
        "heldout_data": {
            "factory_seed": cfg.heldout_seed,
            "font_split": "heldout",
            "note": "seed and font never used in training",
        },
        "legs": info["legs"],
        "resume": {
            "same_run_folder": "glyphgen train-reader --out RUN --set steps=MORE  (RUN keeps "
            "state.safetensors: weights and optimizer moments)",
            "from_these_weights": "glyphgen train-reader --out NEW_RUN --set init=weights/reader "
            "--set steps=MORE  (fp16 weights, fresh optimizer with a short warm-up; steps, data "
            "index and legs carry over)",
        },
        "heldout_checks": info["heldout"],
        "config": info["config"],
        "python": sys.version.split()[0],
        "torch": torch.__version__,
    }
