"""Typed configs of the glyph model and its training, loaded from YAML (unknown keys are
rejected with the valid ones listed). Bundled configs live in ``glyphgen/model/configs``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from glyphgen import cmdline, configio
from glyphgen.paths import data_path

CONFIGS_DIR = Path(__file__).resolve().parent / "configs"
# The shipped model: what render and serve use without --weights
DEFAULT_WEIGHTS = data_path("weights", "glyph-default")
# What render's sampling below strength 1 starts from (glyphgen.model.render.render_regions)
DRAFTS = ("glyph", "classical")
# With ema_decay > 0, a run's last-step weights go beside the average: <weights folder> + RAW
RAW = "-raw"


def check_draft(value: Any) -> str:
    """``value`` if it names a draft; else a ValueError saying which names there are."""
    if value not in DRAFTS:
        raise ValueError(f"must be one of {', '.join(DRAFTS)}, got {value!r}")
    return str(value)


# Each sampling argument's one rule (a ValueError saying what the value must be): render's
# flags and batch lines, glyphgen.render.Sampling, the pipeline and export all use these.
SAMPLING_RULES: dict[str, Callable[[Any], Any]] = {
    "seed": cmdline.seed,
    "steps": cmdline.positive_int,
    "strength": cmdline.unit_interval,  # [0, 1]: 0 is the draft as it is, no model
    "draft": check_draft,
    # OCR-guided sampling's step (glyphgen.model.guidance); 0: unguided
    "guidance": cmdline.unit_interval,
}


@dataclass
class ModelConfig:
    """The model built from scratch (``base: ""``) or attached to a local latent base."""

    base: str = ""  # diffusers folder with unet/ + vae/ (+ text_encoder/); "" = our pixel base
    train_base: bool = True  # False: freeze the base UNet (and VAE), train control + adapter
    # False: no ControlNet branch (the ablation "text conditioning only"): glyph image,
    # position mask and masked source never reach the model (docs/model.md).
    controlnet: bool = True
    # True: the UNet also takes the ControlNet's condition beside the noisy sample (its input
    # convolution widened with zero weights), so the glyph reaches every layer directly
    # rather than through the ControlNet's zero-initialised residuals alone (docs/model.md).
    condition_in_unet: bool = False
    height: int = 64  # crop height of a horizontal line (width of a vertical one), pixels
    width: int = 256  # crop width of a horizontal line at training time
    unshuffle: int = 2  # pixel base: space-to-depth factor (samples are 3*f*f x H/f x W/f)
    block_out_channels: tuple[int, ...] = (32, 64, 128)  # pixel base UNet widths per level
    layers_per_block: int = 1
    attention_head_dim: int = 32
    norm_num_groups: int = 8
    cross_attention_dim: int = 128  # text + style token width (latent base: the UNet's own)
    control_embedding: tuple[int, ...] = (16, 32)  # widths; len - 1 stride-2 steps = space factor
    text_dim: int = 128
    text_layers: int = 2
    max_chars: int = 24
    style_ref_tokens: int = 4
    style_attr_tokens: int = 2
    style_scale: float = 1.0
    # What the UNet predicts: noise, v (Salimans & Ho 2022) or the clean sample x0. x0:
    # fitting one batch on CPU (bench/model_overfit.py), x0 gave legible, clean lines after
    # 150 steps where v still left noise over faint strokes after 300: few-step sampling
    # ends on the model's x0 rather than on a noise estimate it has not learnt yet.
    prediction_type: Literal["epsilon", "v_prediction", "sample"] = "sample"
    # ddpm: variance-preserving diffusion with beta_schedule; flow: rectified flow, the model
    # predicting the velocity noise - x0 (prediction_type v_prediction, sampler euler:
    # diffusers' FlowMatchEulerDiscreteScheduler). glyphgen.model.objectives
    objective: Literal["ddpm", "flow"] = "ddpm"
    beta_schedule: Literal["squaredcos_cap_v2", "scaled_linear", "linear"] = "squaredcos_cap_v2"
    sampler: Literal["dpm++", "ddim", "euler", "unipc"] = "dpm++"  # render's scheduler
    # True: in editing mode the model generates only B's glyph grown and A's ink; the rest of
    # the crop is the photo, in training (mask and loss) and sampling (glyphgen.model.known)
    keep_known: bool = False
    default_steps: int = 8  # render's denoising steps

    def __post_init__(self) -> None:
        if self.keep_known and self.sampler == "unipc":
            raise ValueError(
                "model.keep_known puts the known pixels back after every step, which UniPC's "
                "corrector overwrites: use sampler dpm++, ddim or euler"
            )
        if self.height % 8 or self.width % 8:
            raise ValueError(
                f"height and width must be multiples of 8, got {self.height}x{self.width}"
            )
        if self.objective == "flow" and (
            self.prediction_type != "v_prediction" or self.sampler != "euler"
        ):
            raise ValueError(
                "objective=flow predicts the velocity and samples with Euler: set "
                "model.prediction_type=v_prediction and model.sampler=euler, got "
                f"{self.prediction_type} and {self.sampler}"
            )


@dataclass
class DataConfig:
    """Where a stage's training crops come from."""

    # batches: files of training batches written ahead (glyphgen train --write-batches)
    source: Literal["factory", "wds", "anyword", "batches"] = "factory"
    preset: str = "scenes-diffusion"  # factory: synth preset, then ``overrides``
    overrides: list[str] = field(default_factory=list)  # factory: --set style overrides
    seed: int = 0  # factory: master seed of the scenes
    shards: list[str] = field(default_factory=list)  # wds / batches: files (globs allowed)
    annotations: str = ""  # anyword: AnyWord-3M JSON file
    images: str = ""  # anyword: image folder (default: the JSON's data_root)
    vertical: float = 0.15  # share of batches made of vertical columns
    fill: tuple[float, float] = (0.55, 0.85)  # line height as a fraction of the crop height
    edit_prob: float = 0.7  # batches' samples that get the masked source (editing mode)
    style_ref_prob: float = 0.5  # samples that get a style reference (same style, other text)
    attr_prob: float = 0.5  # samples that get their style attributes
    caption_prob: float = 0.8  # samples that get their style caption


@dataclass
class StageConfig:
    name: str = "stage1"
    steps: int = 1000
    batch_size: int = 16
    lr: float = 2e-4
    warmup: int = 100  # linear warmup steps, then cosine decay to lr/10
    data: DataConfig = field(default_factory=DataConfig)


@dataclass
class OcrLossConfig:
    """Text-perceptual loss of a recognizer on the predicted clean crop (AnyText, sec. 3.4)."""

    weight: float = 0.0  # 0 = off
    max_timestep: int = 400  # applied where t <= this: x0 is meaningful only at low noise
    # applied on every k-th step only (by the global step, so a resumed run is unchanged)
    every: int = 1
    recognizer: str = "reader"  # "reader": glyphgen.reader's TextPerceptualLoss
    weights: str = (
        ""  # the recognizer's folder; "" = its bundled model (glyphgen/data/weights/reader)
    )

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError(f"ocr_loss.every must be at least 1 (every step), got {self.every}")


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    stages: list[StageConfig] = field(default_factory=lambda: [StageConfig()])
    ocr_loss: OcrLossConfig = field(default_factory=OcrLossConfig)
    text_weight: float = 2.0  # extra weight of the diffusion loss inside the edit mask
    # each sample's diffusion loss by its timestep: uniform, or min_snr (Min-SNR-gamma,
    # glyphgen.model.losses.timestep_weights) with snr_gamma
    loss_weighting: Literal["uniform", "min_snr"] = "uniform"
    snr_gamma: float = 5.0
    seed: int = 0
    out: str = "out/model"  # checkpoints, logs, samples, final weights
    checkpoint_every: int = 200  # steps; the latest checkpoint is kept for resuming
    sample_every: int = 200  # steps between sample grids
    log_every: int = 10
    grad_clip: float = 1.0
    # > 0: keep an exponential moving average of the trained weights (glyphgen.model.ema) at
    # this decay; <out>/weights (and weights-<stage>) then hold the average and
    # <out>/weights-raw (weights-<stage>-raw) the last step's. 0.995 averages ~200 steps.
    ema_decay: float = 0.0
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"
    num_threads: int = 0  # torch CPU threads; 0 = torch's default
    # A trained pipeline folder (a run's weights, or an export such as weights/glyph-default)
    # a NEW run starts from instead of random weights; its model config must be this one's.
    # A run folder holding a checkpoint resumes from it and ignores this.
    init: str = ""

    def __post_init__(self) -> None:
        if not self.stages:
            raise ValueError("stages must list at least one stage")
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError(f"stage names must be unique, got {names}")


def config_names() -> list[str]:
    return sorted(p.stem for p in CONFIGS_DIR.glob("*.yaml"))


def load_train_config(
    path: Path | str | None = None,
    overrides: list[str] | None = None,
    flags: dict[str, Any] | None = None,
) -> TrainConfig:
    """Defaults < a YAML file (or a bundled config's name) < ``--set key=value`` overrides <
    ``flags`` (explicit CLI flags, e.g. ``--out``)."""
    files: list[Path] = []
    if path is not None:
        file = Path(path)
        if not file.exists() and (CONFIGS_DIR / f"{path}.yaml").exists():
            file = CONFIGS_DIR / f"{path}.yaml"
        if not file.exists():
            raise configio.ConfigError(
                f"no config file {path}; bundled configs: {config_names()} (in {CONFIGS_DIR})"
            )
        files.append(file)
    return configio.load(TrainConfig, files, overrides, flags)
