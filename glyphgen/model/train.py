"""``glyphgen train``: two-stage training of the glyph model, resumable, accelerate-ready.

    Trainer(load_train_config("cpu")).run()

The loop, per step (one readable function, as in diffusers' train_controlnet.py):
1) a batch of line crops of one orientation (``data.batches``);
2) clean samples in the model's space, noise, timesteps: forward diffusion;
3) conditions: character tokens, style tokens (reference / attributes, randomly dropped),
   the ControlNet image (glyph, position, masked source for editing, edit mask);
4) ControlNet residuals into the UNet: the prediction;
5) diffusion loss (weighted up inside the edit mask) + the OCR-aware loss on x0 at low t;
6) backward, clip, step; log, sample grid, checkpoint every N steps.

Stages run one after another (stage 1: large synthetic data; stage 2: a small clean or
real set), each with its own data, steps and learning rate; when a stage ends, its
pipeline is exported to ``<out>/weights-<stage name>`` (stage 1 alone is an ablation row
of the benchmark), and the last one's also to ``<out>/weights``. Everything needed to
resume is in ``<out>/checkpoint``: the pipeline (safetensors), the optimizer, every random
generator's state and where the data stream stood; a re-run of the same command continues
from it, and a run resumed any number of times ends bit for bit where the run that was
never interrupted ends.

Randomness: noise and timesteps come from the trainer's own ``torch.Generator`` (seeded
from ``seed``), data and condition dropout from the data stream's numpy generators (seeded
from the data seed and scene index). No module draws from torch's global generator (the
text encoder and UNet have no dropout); its state is saved and restored all the same, so a
module that did would still resume exactly. The learning rate is a function of the step.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import shutil
import threading
import time
import warnings
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from glyphgen import configio
from glyphgen.cmdline import command_line
from glyphgen.model import known
from glyphgen.model.build import build_pipeline, widened
from glyphgen.model.config import RAW, ModelConfig, StageConfig, TrainConfig
from glyphgen.model.data import DataPosition, batches
from glyphgen.model.ema import EmaWeights
from glyphgen.model.export import file_table
from glyphgen.model.losses import (
    TextPerceptualLoss,
    line_crops,
    load_text_loss,
    masked_mse,
    readable,
)
from glyphgen.model.objectives import training_objective
from glyphgen.model.pipeline import GlyphPipeline, denoise, make_condition, needs_condition
from glyphgen.paths import resolve_data_path
from glyphgen.resume import InexactResume, seed_for
from glyphgen.typeset.fonts import FontLibrary

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint"
WEIGHTS = "weights"
RNG_FILE = "rng.safetensors"  # in the checkpoint: the generators' states
EMA_FILE = "ema.safetensors"  # in the checkpoint: the EMA weights (ema_decay > 0)


def stage_weights(out: Path, stage: StageConfig) -> Path:
    """Where the pipeline as it stood at the end of ``stage`` is exported."""
    return out / f"{WEIGHTS}-{stage.name}"


# model keys whose value in ``init`` weights may differ from the new run's: the new run widens
# what it loads (the UNet's input convolution, with zero weights for the new channels)
GROWABLE = {"condition_in_unet": False}
# model keys that change what the model is taught and how it samples, not the weights' shapes:
# a new run may switch them (e.g. a leg that teaches a box-mask model to keep what is known)
SWITCHABLE = frozenset({"keep_known"})


def grows_into(have: dict[str, Any], want: dict[str, Any]) -> bool:
    """Weights of model config ``have`` load into a model of ``want``: the two differ only in
    SWITCHABLE keys and in GROWABLE keys at their growable value in ``have`` (widened)."""
    differ = [k for k in want if have.get(k) != want[k]]
    return all(k in SWITCHABLE or (k in GROWABLE and have.get(k) == GROWABLE[k]) for k in differ)


class InitRefused(ValueError):
    """``init`` names weights a new run cannot start from (with the reason and the fix)."""


def init_manifest(folder: Path, model: ModelConfig) -> dict[str, Any]:
    """The manifest of the trained pipeline ``folder`` a new run starts from, once checked:
    it is a pipeline with a manifest, of this model config, whose files are the ones its
    manifest lists (so the sha256 the new run records are the weights it really read)."""
    if not (folder / "model_index.json").is_file() or not (folder / "manifest.json").is_file():
        raise InitRefused(
            f"init={folder}: not a trained pipeline folder (needs model_index.json and "
            "manifest.json); give a run's weights folder or an export such as "
            "weights/glyph-default"
        )
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    want = configio.to_dict(model)
    # a key newer than the manifest: the weights were trained with its default
    have = {**configio.to_dict(ModelConfig()), **manifest.get("config", {}).get("model", {})}
    if have != want and not grows_into(have, want):
        diffs = [
            f"{k}: {have.get(k)!r} there, {want[k]!r} here" for k in want if have.get(k) != want[k]
        ]
        raise InitRefused(
            f"init={folder} holds a model of another config ({'; '.join(diffs)}); train with "
            "the config those weights were trained with (its manifest's config.model)"
        )
    listed = {name: entry["sha256"] for name, entry in manifest.get("files", {}).items()}
    found = {name: entry["sha256"] for name, entry in file_table(folder).items()}
    if listed != found:
        changed = sorted(k for k in listed.keys() | found.keys() if listed.get(k) != found.get(k))
        raise InitRefused(
            f"init={folder}: files differ from its manifest.json ({changed}); restore them "
            "or re-export the weights"
        )
    return manifest


def previous_legs(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The legs that trained the weights of ``manifest``; weights from before legs were
    recorded count as one leg from step 0 (its time unknown)."""
    if manifest.get("legs"):
        return list(manifest["legs"])
    return [
        {
            "start_step": 0,
            "end_step": manifest["steps"],
            "stages": manifest.get("stages", []),
            "seconds": None,
            "command": manifest.get("command", ""),
            "init": None,
        }
    ]


def lr_at(step: int, stage: StageConfig) -> float:
    """1) linear warmup to ``lr``, 2) cosine decay to lr/10 at the stage's last step."""
    if step < stage.warmup:
        return stage.lr * (step + 1) / stage.warmup
    progress = (step - stage.warmup) / max(1, stage.steps - stage.warmup)
    return stage.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


class Trainer:
    def __init__(
        self,
        cfg: TrainConfig,
        *,
        fonts: FontLibrary | None = None,
        text_loss: TextPerceptualLoss | None = None,
        progress: bool = True,
        command: str = "",
    ):
        from accelerate import Accelerator

        self.cfg = cfg
        self.out = Path(cfg.out)
        self.progress = progress
        self.command = command or command_line()
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        from accelerate.utils import DistributedDataParallelKwargs

        # The adapter's processors run inside the UNet's forward, not the adapter's.
        ddp = DistributedDataParallelKwargs(find_unused_parameters=True)
        if cfg.mixed_precision == "fp16" and not torch.cuda.is_available():
            raise ValueError(
                "mixed_precision=fp16 would train in fp32 on cpu (accelerate autocasts fp16 on "
                "GPUs only): use bf16 or no (on 2 CPU cores bf16 was 6.5x slower: "
                "bench/results/model_train_precision.md)"
            )
        self.accelerator = Accelerator(mixed_precision=cfg.mixed_precision, kwargs_handlers=[ddp])
        self.fonts = fonts or FontLibrary.load(progress=False)
        if cfg.ocr_loss.weight > 0 and text_loss is None:
            text_loss = load_text_loss(cfg.ocr_loss.recognizer, cfg.ocr_loss.weights)
        self.text_loss = text_loss if cfg.ocr_loss.weight > 0 else None
        if isinstance(self.text_loss, torch.nn.Module):
            self.text_loss.to(self.accelerator.device)
        self.state: dict[str, Any] = {"stage": 0, "stage_step": 0, "step": 0, "data_next": 0}
        # noise and timesteps; each process of a multi-process run draws its own
        rank = self.accelerator.process_index
        self.generator = torch.Generator().manual_seed(seed_for(cfg.seed, rank))
        ckpt = self.out / CHECKPOINT
        model = configio.to_dict(cfg.model)
        if (ckpt / "state.json").is_file():
            saved = json.loads((ckpt / "state.json").read_text())
            # a key newer than the checkpoint: the run had its default (what it did then)
            saved_model = {**configio.to_dict(ModelConfig()), **saved.get("model", model)}
            if saved_model != model:
                changed = sorted(k for k in model if saved_model.get(k) != model[k])
                raise ValueError(
                    f"{ckpt} holds a run of another model config (differs in {changed}); "
                    "give another --out, or delete the checkpoint to start over"
                )
            self.pipe = GlyphPipeline.from_pretrained(ckpt / "pipeline")
            self.state = saved
            log.info("resuming from %s at step %d", ckpt, self.state["step"])
            if cfg.init:
                log.warning(
                    "%s has a checkpoint: resuming from it, init=%s ignored (its start was %s)",
                    self.out,
                    cfg.init,
                    (saved.get("init") or {}).get("folder", "random weights"),
                )
            self._restore_rng(ckpt)
        else:
            # the initial weights from the seed, leaving torch's global generator as it was
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(cfg.seed)
                self.pipe = build_pipeline(cfg.model)
            if cfg.init:
                self._start_from(resolve_data_path(cfg.init))
        self.state["model"] = model
        if "legs" not in self.state:  # a new run (or a checkpoint from before legs)
            self.state["legs"] = [*self.state.pop("init_legs", []), self._new_leg()]
        self.objective = training_objective(cfg.model.objective, self.pipe.scheduler.config)
        self.trainable = self._trainable()
        self.ema = self._ema(ckpt)
        # What the training step calls: the modules accelerate wrapped (DDP on several
        # processes), else the pipeline's own.
        self.wrapped: dict[str, Any] = {}
        self._optimizer: torch.optim.Optimizer | None = None  # the running stage's

    def _start_from(self, folder: Path) -> None:
        """0) a new leg: the weights of a trained pipeline (fp16 exports are upcast into the
        fp32 model), counting on from their steps; noise is seeded from the step, so the leg
        does not replay the draws of the one before."""
        manifest = init_manifest(folder, self.cfg.model)
        from diffusers.utils.logging import disable_progress_bar

        disable_progress_bar()
        trained = GlyphPipeline.from_pretrained(folder, dtype=torch.float32)
        for name in ("unet", "controlnet", "text_encoder", "style_adapter", "vae"):
            module = getattr(self.pipe, name)
            if module is not None:
                mine = module.state_dict()
                state = {
                    k: v if v.shape == mine[k].shape else widened(v, mine[k].shape)
                    for k, v in getattr(trained, name).state_dict().items()
                }
                module.load_state_dict(state)
        steps = int(manifest["steps"])
        self.state.update(
            step=steps,
            init={
                "folder": str(self.cfg.init),
                "steps": steps,
                "files": {k: v["sha256"] for k, v in manifest["files"].items()},
            },
            init_legs=previous_legs(manifest),
        )
        rank = self.accelerator.process_index
        self.generator.manual_seed(seed_for(self.cfg.seed, rank, steps))
        log.info("starting from %s (%d steps trained)", folder, steps)

    def _new_leg(self) -> dict[str, Any]:
        return {
            "start_step": self.state["step"],
            "end_step": self.state["step"],
            "stages": [s.name for s in self.cfg.stages],
            "seconds": 0.0,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "command": self.command,
            "init": self.state.get("init"),
            "mixed_precision": self.cfg.mixed_precision,
            "num_threads": self.cfg.num_threads,
        }

    def _restore_rng(self, ckpt: Path) -> None:
        """The generators as the checkpoint left them; a checkpoint older than that, or a
        run of several processes (only the main one's states are saved), resumes with
        generators seeded from the step: reproducible, but not the uninterrupted run."""
        file = ckpt / RNG_FILE
        if self.state["stage"] >= len(self.cfg.stages):
            return  # nothing left to train
        several = self.accelerator.num_processes > 1
        if several or not file.is_file() or "data_position" not in self.state:
            why = (
                "holds the main process's random states and data position alone"
                if several
                else "was written before checkpoints held random states and data positions"
            )
            warnings.warn(
                f"{ckpt} {why}: resuming at step {self.state['step']}, but noise, timesteps "
                "and data order restart from seeds (the run is not the one that was never "
                "interrupted)",
                InexactResume,
                stacklevel=3,
            )
            seed = seed_for(self.cfg.seed, self.accelerator.process_index, self.state["step"])
            self.generator.manual_seed(seed)
            return
        states = load_file(str(file))
        self.generator.set_state(states["noise"])
        torch.set_rng_state(states["torch_global"])
        if torch.cuda.is_available() and "torch_cuda.0" in states:
            torch.cuda.set_rng_state_all(
                [states[f"torch_cuda.{i}"] for i in range(torch.cuda.device_count())]
            )

    def _ema(self, ckpt: Path) -> EmaWeights | None:
        """The EMA weights: the checkpoint's when it has them, else starting from the
        weights the run has now (a new run's, or a checkpoint's from before EMA was on)."""
        if not self.cfg.ema_decay:
            return None
        ema = EmaWeights(self.trainable, self.cfg.ema_decay)
        if (ckpt / EMA_FILE).is_file():
            ema.load(ckpt / EMA_FILE)
        elif (ckpt / "state.json").is_file():
            log.warning(
                "%s has no EMA weights: the average starts at step %d from its weights",
                ckpt,
                self.state["step"],
            )
        return ema

    def _trainable(self) -> dict[str, torch.nn.Module]:
        """The modules the optimizer updates, by their name in the pipeline."""
        pipe = self.pipe
        modules: dict[str, torch.nn.Module] = {
            "text_encoder": pipe.text_encoder,
            "style_adapter": pipe.style_adapter,
        }
        if pipe.controlnet is not None:
            modules["controlnet"] = pipe.controlnet
        if self.cfg.model.train_base:
            modules["unet"] = pipe.unet
        else:
            pipe.unet.requires_grad_(False)
            pipe.style_adapter.requires_grad_(True)  # its processors live inside the UNet
        if pipe.vae is not None:
            pipe.vae.requires_grad_(False)
        return modules

    # -- the loop ---------------------------------------------------------------------
    def run(self) -> Path:
        cfg = self.cfg
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "config.yaml").write_text(
            json.dumps(configio.to_dict(cfg), ensure_ascii=False, indent=2), encoding="utf-8"
        )
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(self.out / "logs"))
        try:
            for index in range(self.state["stage"], len(cfg.stages)):
                self._run_stage(index, writer)
                # each stage's pipeline too (stage 1 alone is a benchmark row); a resumed
                # run whose stage had ended exports it again, from the same checkpoint
                self.save_weights(stage_weights(self.out, cfg.stages[index]), index + 1)
                self.state.update(stage=index + 1, stage_step=0, data_next=0, data_position=None)
            self._save_checkpoint(self._optimizer)
        finally:
            writer.close()
        weights = self.out / WEIGHTS
        self.save_weights(weights)
        plot_losses(self.out / "loss.jsonl", self.out / "loss.png")
        return weights

    def prepare_stage(self, stage: StageConfig) -> torch.optim.Optimizer:
        """The stage's optimizer (its state from the checkpoint when the stage is under way)
        and the modules handed to accelerate, which wraps their forward in autocast when
        ``mixed_precision`` asks (bf16 on CPU too) and in DDP on several processes."""
        optimizer = torch.optim.AdamW(self._params(), lr=stage.lr, weight_decay=1e-2)
        opt_file = self.out / CHECKPOINT / "optimizer.pt"
        if self.state["stage_step"] and opt_file.is_file():
            optimizer.load_state_dict(torch.load(opt_file, weights_only=True))
        prepared = self.accelerator.prepare(*self.trainable.values(), optimizer)
        self.wrapped = dict(zip(self.trainable, prepared[:-1], strict=True))
        self.pipe.to(self.accelerator.device)
        self._optimizer = prepared[-1]
        return prepared[-1]

    def _params(self) -> list[torch.nn.Parameter]:
        modules = self.trainable.values()
        return list({id(p): p for m in modules for p in m.parameters() if p.requires_grad}.values())

    def optimizer_step(
        self, batch: dict[str, Any], optimizer: torch.optim.Optimizer, lr: float
    ) -> dict[str, torch.Tensor]:
        """One step of training (losses, backward, clipping, AdamW) at learning rate ``lr``."""
        for group in optimizer.param_groups:
            group["lr"] = lr
        losses = self.training_step(batch)
        self.accelerator.backward(losses["loss"])
        if self.cfg.grad_clip:
            self.accelerator.clip_grad_norm_(self._params(), self.cfg.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if self.ema is not None:
            self.ema.update(self.trainable)
        return losses

    def _run_stage(self, index: int, writer: Any) -> None:
        stage = self.cfg.stages[index]
        acc = self.accelerator
        optimizer = self.prepare_stage(stage)
        data = stage.data
        if acc.num_processes > 1:  # each process draws its own scenes
            data = type(data)(
                **{**data.__dict__, "seed": data.seed + 1_000_003 * acc.process_index}
            )
        # a stage under way goes on exactly where its data stood; older checkpoints only
        # know the next scene (crops waiting in the buckets are skipped)
        start: int | DataPosition = self.state["data_next"]
        exact = acc.num_processes == 1  # (the checkpoint holds the main process's alone)
        if self.state["stage_step"] and self.state.get("data_position") and exact:
            start = DataPosition.from_dict(self.state["data_position"])
        stream = prefetch(batches(data, self.cfg.model, stage.batch_size, self.fonts, start))
        preview = self._preview_batch(stage)
        bar = tqdm(
            total=stage.steps,
            initial=self.state["stage_step"],
            desc=stage.name,
            disable=not self.progress or not acc.is_main_process,
            unit="step",
        )
        for module in self.trainable.values():
            module.train()
        while self.state["stage_step"] < stage.steps:
            t0, cpu0 = time.perf_counter(), time.process_time()
            batch = next(stream)
            losses = self.optimizer_step(batch, optimizer, lr_at(self.state["stage_step"], stage))
            self.state["stage_step"] += 1
            self.state["step"] += 1
            self.state["data_next"] = batch["next"]
            self.state["data_position"] = batch["data_position"]
            step = self.state["step"]
            record: dict[str, Any] = {k: v.item() for k, v in losses.items()}
            record |= {
                "step": step,
                "stage": stage.name,
                "lr": optimizer.param_groups[0]["lr"],
                "seconds": time.perf_counter() - t0,
                # this process's CPU time, all threads: a budget that a busy machine keeps
                "cpu_seconds": time.process_time() - cpu0,
            }
            if acc.is_main_process:
                for k, v in losses.items():
                    writer.add_scalar(f"train/{k}", v.item(), step)
                with (self.out / "loss.jsonl").open("a", encoding="utf-8") as f:
                    f.write(json.dumps(record) + "\n")
            bar.update(1)
            bar.set_postfix(loss=f"{record['loss']:.4f}")
            done = self.state["stage_step"] == stage.steps
            if step % self.cfg.sample_every == 0 or done:
                self.sample_grid(preview, self.out / "samples" / f"step-{step:07d}.png")
            leg = self.state["legs"][-1]
            leg["end_step"] = step
            leg["seconds"] = round(leg["seconds"] + time.perf_counter() - t0, 3)
            if step % self.cfg.checkpoint_every == 0 or done:
                self._save_checkpoint(optimizer)
                plot_losses(self.out / "loss.jsonl", self.out / "loss.png")
        bar.close()
        stream.close()

    def training_step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        pipe, objective, device = self.pipe, self.objective, self.accelerator.device
        image = batch["image"].to(device)
        n = image.shape[0]
        # 2) forward diffusion in the model's space
        with torch.no_grad():
            clean = pipe.encode_images(image)
        # drawn on the CPU from the trainer's generator: the same draws on any device
        noise = torch.randn(clean.shape, generator=self.generator, dtype=clean.dtype)
        noise = noise.to(device)
        t = torch.randint(0, objective.num_steps, (n,), generator=self.generator).to(device)
        noisy, model_t = objective.noised(clean, noise, t)
        # 3) conditions: editing samples see the source outside the edit mask (the image itself,
        # or for an edit pair the scene showing A), through the ControlNet and with
        # condition_in_unet the UNet; without either, glyph, position and source reach nothing
        condition = None
        use_source = batch["use_source"].to(device)[:, None, None, None]
        region = None  # keep_known: what editing samples generate (glyphgen.model.known)
        if self.cfg.model.keep_known:
            stand_in = torch.rand(n, generator=self.generator) < known.STAND_IN_PROB
            region = known.training_region(
                batch["glyph"].to(device), batch["edit"].to(device), stand_in.to(device),
                self.cfg.model.height, batch["source"].to(device), image,
            )  # fmt: skip
        # what each sample generates: its edit mask (or region) in editing mode, else all
        edit = batch["edit"].to(device) if region is None else region
        edit = torch.where(use_source, edit, torch.ones_like(edit))
        if needs_condition(pipe.unet, pipe.controlnet):
            source = batch["source"].to(device) * use_source
            condition = make_condition(
                batch["glyph"].to(device), batch["position"].to(device), source, edit
            )
        module = self._module
        tokens = pipe.text_encoder.tokenize(batch["texts"], batch["captions"])
        text_states = module("text_encoder")(tokens)
        style = module("style_adapter")(
            n,
            batch["style_ref"].to(device),
            batch["attributes"].to(device),
            batch["keep_ref"].to(device),
            batch["keep_attr"].to(device),
        )
        # 4) ControlNet residuals into the UNet
        pred = denoise(
            module("unet"), module("controlnet"), noisy, model_t, text_states, style, condition
        )
        # 5) losses: diffusion MSE, heavier where the text goes
        target = objective.target(clean, noise, t)
        size = (pred.shape[-2], pred.shape[-1])
        weight = 1 + self.cfg.text_weight * F.adaptive_avg_pool2d(batch["edit"].to(device), size)
        if region is not None:  # editing samples: the region, the known pixels barely
            kept = known.loss_weights(region, self.cfg.text_weight, size)
            weight = torch.where(use_source, kept, weight)
        per_step = objective.weights(t, self.cfg.loss_weighting, self.cfg.snr_gamma)
        weight = weight * per_step[:, None, None, None]
        losses = {"diffusion": masked_mse(pred.float(), target.float(), weight)}
        loss = losses["diffusion"]
        ocr_step = self.state["step"] % self.cfg.ocr_loss.every == 0
        if self.text_loss is not None and ocr_step:
            low = t <= self.cfg.ocr_loss.max_timestep
            low &= torch.tensor(readable(self.text_loss, batch["texts"]), device=device)
            if bool(low.any()):
                x0 = objective.clean_from(noisy[low], pred[low], t[low])
                if region is not None:  # as sampling gives it: the known pixels put back
                    kept = known.sample_region(edit[low], x0)
                    x0 = kept * x0 + (1 - kept) * clean[low]
                pixels = pipe.decode_samples(x0).clamp(-1, 1)
                keep = low.nonzero().flatten().tolist()
                boxes = [batch["boxes"][i] for i in keep]
                pred_lines = line_crops(pixels, boxes, batch["vertical"])
                true_lines = line_crops(image[low], boxes, batch["vertical"])
                texts = [batch["texts"][i] for i in keep]
                losses["ocr"] = self.text_loss(pred_lines, true_lines, texts)
                loss = loss + self.cfg.ocr_loss.weight * losses["ocr"]
        losses["loss"] = loss
        return losses

    def _module(self, name: str) -> Any:
        return self.wrapped.get(name) or getattr(self.pipe, name)

    # -- samples, checkpoints, weights --------------------------------------------------
    def _preview_batch(self, stage: StageConfig) -> dict[str, Any]:
        """A fixed batch (scene indices from 10**8 on, away from training's) for sample grids."""
        stream = batches(stage.data, self.cfg.model, 4, self.fonts, start=10**8)
        return next(stream)

    @torch.no_grad()
    def sample_grid(self, batch: dict[str, Any], path: Path) -> None:
        """Rows: glyph control, generated (from scratch), generated (editing), ground truth."""
        if not self.accelerator.is_main_process:
            return
        pipe = self.pipe
        for m in self.trainable.values():
            m.eval()
        common = {
            "texts": batch["texts"],
            "glyph": batch["glyph"],
            "position_mask": batch["position"],
            "generator": torch.Generator().manual_seed(0),
        }
        scratch = pipe(**common).images
        edit = batch["edit"]
        if self.cfg.model.keep_known:  # the region around the glyph, no stand-in old text
            none = torch.zeros(edit.shape[0], dtype=torch.bool)
            edit = known.training_region(batch["glyph"], edit, none, self.cfg.model.height)
        edited = pipe(**common, source=batch["image"], edit_mask=edit).images
        for m in self.trainable.values():
            m.train()
        truth = ((batch["image"] + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
        glyph = np.repeat((batch["glyph"] * 255).byte().permute(0, 2, 3, 1).numpy(), 3, axis=3)
        axis = 1 if batch["vertical"] else 0  # stack along the short side of the crops
        rows = [np.concatenate(list(x), axis=1 - axis) for x in (glyph, scratch, edited, truth)]
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.concatenate(rows, axis=axis)).save(path)

    def _save_checkpoint(self, optimizer: torch.optim.Optimizer | None = None) -> None:
        if not self.accelerator.is_main_process:
            return
        tmp = self.out / f"{CHECKPOINT}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        self.unwrapped().save_pretrained(tmp / "pipeline")
        if optimizer is not None:
            torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        (tmp / "state.json").write_text(json.dumps(self.state))
        states = {"noise": self.generator.get_state(), "torch_global": torch.get_rng_state()}
        if torch.cuda.is_available():
            for i, state in enumerate(torch.cuda.get_rng_state_all()):
                states[f"torch_cuda.{i}"] = state
        save_file(states, str(tmp / RNG_FILE))
        if self.ema is not None:
            self.ema.save(tmp / EMA_FILE)
        final = self.out / CHECKPOINT
        old = self.out / f"{CHECKPOINT}.old"
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            final.rename(old)
        tmp.rename(final)  # the checkpoint is replaced whole or not at all
        shutil.rmtree(old, ignore_errors=True)

    def unwrapped(self) -> GlyphPipeline:
        return self.pipe

    def save_weights(self, folder: Path, stages_done: int | None = None) -> None:
        """The pipeline for ``glyphgen render --weights``, with a manifest beside it;
        ``stages_done``: how many stages it has been trained through (default: all). With
        EMA on, ``folder`` holds the average and ``folder``-raw the last step's weights."""
        if not self.accelerator.is_main_process:
            return
        if self.ema is None:
            self._write_weights(folder, stages_done, "last step")
            return
        self._write_weights(folder.with_name(folder.name + RAW), stages_done, "last step")
        with self.ema.swapped_in(self.trainable):
            self._write_weights(folder, stages_done, f"EMA, decay {self.ema.decay}")

    def _write_weights(self, folder: Path, stages_done: int | None, weights: str) -> None:
        done = self.cfg.stages[:stages_done]
        shutil.rmtree(folder, ignore_errors=True)
        self.unwrapped().save_pretrained(folder)
        manifest = {
            "weights": weights,
            "steps": self.state["step"],
            "stage": done[-1].name,
            "stages": [s.name for s in done],
            "controlnet": self.unwrapped().controlnet is not None,
            "config": configio.to_dict(self.cfg),
            # the recognizer behind the OCR-aware loss ("" in the config = whatever is bundled)
            "ocr_loss_reader": getattr(self.text_loss, "source", None),
            "command": self.command,
            # every leg that trained these weights: steps before, steps, time, command
            "init": self.state.get("init"),
            "legs": self.state["legs"],
            "files": file_table(folder),
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2))


def prefetch(
    stream: Iterator[dict[str, Any]], depth: int = 2
) -> Generator[dict[str, Any], None, None]:
    """Make the next batches in a thread while the model trains on this one (rendering and
    OpenCV release the GIL for much of their work). Order, hence data, is unchanged; closing
    the returned generator stops the thread."""
    items: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in stream:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
        put(done)

    threading.Thread(target=work, daemon=True).start()
    try:
        while True:
            item = items.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def read_losses(path: Path) -> Iterator[dict[str, Any]]:
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                yield json.loads(line)


def plot_losses(src: Path, dst: Path, size: tuple[int, int] = (640, 320)) -> None:
    """A PNG of the training loss (raw in grey, moving average in blue), drawn with Pillow."""
    records = list(read_losses(src))
    w, h = size
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    pad = 40
    draw.rectangle([pad, 10, w - 10, h - pad], outline="black")
    if records:
        steps = np.array([r["step"] for r in records], float)
        loss = np.log10(np.maximum([r["loss"] for r in records], 1e-8))
        k = max(1, len(loss) // 20)
        smooth = np.convolve(loss, np.ones(k) / k, mode="valid")
        lo, hi = float(loss.min()), float(loss.max()) or 1.0
        span_x = max(steps[-1] - steps[0], 1.0)

        def xy(s: float, v: float) -> tuple[float, float]:
            return (
                pad + (s - steps[0]) / span_x * (w - pad - 10),
                (h - pad) - (v - lo) / max(hi - lo, 1e-9) * (h - pad - 10),
            )

        draw.line([xy(s, v) for s, v in zip(steps, loss, strict=True)], fill=(180, 180, 180))
        if len(smooth) > 1:
            draw.line(
                [xy(s, v) for s, v in zip(steps[k - 1 :], smooth, strict=True)],
                fill=(30, 80, 200),
                width=2,
            )
        draw.text((pad, h - pad + 5), f"step {int(steps[0])}", fill="black")
        draw.text((w - 90, h - pad + 5), f"step {int(steps[-1])}", fill="black")
        draw.text((2, 10), f"{10**hi:.3g}", fill="black")
        draw.text((2, h - pad - 12), f"{10**lo:.3g}", fill="black")
    draw.text((pad + 5, 14), "training loss (log scale)", fill="black")
    dst.parent.mkdir(parents=True, exist_ok=True)
    img.save(dst)
