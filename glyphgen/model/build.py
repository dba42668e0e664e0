"""Build a ``GlyphPipeline`` from a ``ModelConfig``: our small pixel-space base from
scratch, or ControlNet + adapter + text encoder attached to a local latent base folder.

Sizes follow the CPU measurements in /work/shared/ANCHORS.md: attention only at the
lowest level (a 64x256 crop is 32x128 after space-to-depth, 8x32 = 256 tokens at the
bottom), small widths, a few-step sampler.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    ControlNetModel,
    DDIMScheduler,
    DPMSolverMultistepScheduler,
    EulerDiscreteScheduler,
    FlowMatchEulerDiscreteScheduler,
    SchedulerMixin,
    UNet2DConditionModel,
    UniPCMultistepScheduler,
)

from glyphgen.model.adapter import StyleAdapter, cross_attention_layers
from glyphgen.model.config import ModelConfig
from glyphgen.model.pipeline import COMPONENT_WEIGHTS, CONDITION_CHANNELS, GlyphPipeline
from glyphgen.model.text_encoder import CharTextEncoder
from glyphgen.safeweights import refuse_pickles

log = logging.getLogger(__name__)

_SAMPLERS: dict[str, type[SchedulerMixin]] = {
    "dpm++": DPMSolverMultistepScheduler,
    "ddim": DDIMScheduler,
    "euler": EulerDiscreteScheduler,
    "unipc": UniPCMultistepScheduler,
}


def make_scheduler(cfg: ModelConfig) -> SchedulerMixin:
    """The sampling scheduler; "trailing" spacing starts few-step sampling at pure noise
    (Lin et al. 2023, "Common Diffusion Noise Schedules and Sample Steps are Flawed")."""
    if cfg.objective == "flow":
        return FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=1.0)
    if cfg.sampler not in _SAMPLERS:
        raise ValueError(f"unknown sampler {cfg.sampler!r}; use one of {sorted(_SAMPLERS)}")
    return _SAMPLERS[cfg.sampler](
        num_train_timesteps=1000,
        beta_schedule=cfg.beta_schedule,
        prediction_type=cfg.prediction_type,
        timestep_spacing="trailing",
    )


def pixel_unet(cfg: ModelConfig) -> UNet2DConditionModel:
    channels = 3 * cfg.unshuffle**2
    levels = len(cfg.block_out_channels)
    return UNet2DConditionModel(
        sample_size=(cfg.height // cfg.unshuffle, cfg.width // cfg.unshuffle),
        in_channels=channels,
        out_channels=channels,
        block_out_channels=cfg.block_out_channels,
        layers_per_block=cfg.layers_per_block,
        # attention only at the lowest level, where tokens are few
        down_block_types=("DownBlock2D",) * (levels - 1) + ("CrossAttnDownBlock2D",),
        up_block_types=("CrossAttnUpBlock2D",) + ("UpBlock2D",) * (levels - 1),
        mid_block_type="UNetMidBlock2DCrossAttn",
        cross_attention_dim=cfg.cross_attention_dim,
        attention_head_dim=cfg.attention_head_dim,
        norm_num_groups=cfg.norm_num_groups,
    )


def control_embedding_for(cfg: ModelConfig, space_factor: int) -> tuple[int, ...]:
    """Conditioning-embedding widths that bring a pixel-size condition to the sample size:
    ControlNet downsamples once per extra entry (ANCHORS: pixel space needs length 1)."""
    steps = int(math.log2(space_factor))
    if 2**steps != space_factor:
        raise ValueError(f"space factor {space_factor} is not a power of two")
    widths = list(cfg.control_embedding)
    if len(widths) < steps + 1:
        widths += [widths[-1] * 2 ** (k + 1) for k in range(steps + 1 - len(widths))]
    return tuple(widths[: steps + 1])


def build_pipeline(cfg: ModelConfig) -> GlyphPipeline:
    """A new pipeline from ``cfg``: random weights, except a latent base's UNet and VAE."""
    vae = None
    if cfg.base:
        unet, vae, text_encoder = _load_base(Path(cfg.base), cfg)
        factor = 2 ** (len(vae.config.block_out_channels) - 1)
    else:
        if cfg.unshuffle < 1 or cfg.unshuffle & (cfg.unshuffle - 1):
            raise ValueError(f"model.unshuffle must be a power of two, got {cfg.unshuffle}")
        unet = pixel_unet(cfg)
        factor = cfg.unshuffle
        text_encoder = _text_encoder(cfg, cfg.cross_attention_dim)
    # ControlNet copies the base's encoder and starts with zero output convolutions, so it
    # changes nothing until trained (Zhang et al. 2023, section 3.1). Without one (the
    # ablation), the same UNet learns from the text and style tokens alone.
    controlnet = None
    if cfg.controlnet:
        controlnet = ControlNetModel.from_unet(
            unet,
            conditioning_embedding_out_channels=control_embedding_for(cfg, factor),
            conditioning_channels=CONDITION_CHANNELS,
        )
    if cfg.condition_in_unet:
        # after the ControlNet is copied from it: the ControlNet still takes the sample alone
        extra = CONDITION_CHANNELS * (factor**2 if vae is None else 1)
        widen_conv_in(unet, extra)
    adapter = StyleAdapter(
        layers=tuple(cross_attention_layers(unet)),
        cross_attention_dim=unet.config.cross_attention_dim,
        ref_tokens=cfg.style_ref_tokens,
        attr_tokens=cfg.style_attr_tokens,
        scale=cfg.style_scale,
    )
    pipe = GlyphPipeline(
        unet=unet,
        controlnet=controlnet,
        text_encoder=text_encoder,
        style_adapter=adapter,
        scheduler=make_scheduler(cfg),
        vae=vae,
        unshuffle=cfg.unshuffle,
        default_steps=cfg.default_steps,
        crop_height=cfg.height,
        keep_known=cfg.keep_known,
    )
    # as from_pretrained leaves them: the trainer switches to train() itself
    for module in (pipe.unet, pipe.controlnet, pipe.text_encoder, pipe.style_adapter, pipe.vae):
        if module is not None:
            module.eval()
    return pipe


def widen_conv_in(unet: UNet2DConditionModel, extra: int) -> None:
    """Give the UNet ``extra`` more input channels, with zero weights: it computes what it
    did before until training teaches it to use them (as inpainting UNets are grown from
    text-to-image ones)."""
    old = unet.conv_in
    new = torch.nn.Conv2d(
        old.in_channels + extra, old.out_channels, old.kernel_size, padding=old.padding
    )
    with torch.no_grad():
        new.weight.copy_(widened(old.weight, new.weight.shape))
        if old.bias is not None and new.bias is not None:
            new.bias.copy_(old.bias)
    unet.conv_in = new
    unet.register_to_config(in_channels=old.in_channels + extra)


def widened(weight: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """A convolution's ``weight`` padded with zero input channels to ``shape``."""
    if weight.shape[0] != shape[0] or weight.shape[2:] != shape[2:] or weight.shape[1] > shape[1]:
        raise ValueError(f"cannot widen a {tuple(weight.shape)} weight to {tuple(shape)}")
    out = torch.zeros(shape, dtype=weight.dtype)
    out[:, : weight.shape[1]] = weight
    return out


def _text_encoder(cfg: ModelConfig, out_dim: int) -> CharTextEncoder:
    return CharTextEncoder(
        dim=cfg.text_dim, out_dim=out_dim, layers=cfg.text_layers, max_chars=cfg.max_chars
    )


def _load_base(
    folder: Path, cfg: ModelConfig
) -> tuple[UNet2DConditionModel, AutoencoderKL, CharTextEncoder]:
    """UNet + VAE of a local diffusers folder; its text encoder if it is a CharTextEncoder,
    else a new one projecting to the UNet's cross-attention width (a CLIP encoder cannot
    spell Chinese, and nothing can be downloaded to tokenize for it)."""
    for part in ("unet", "vae"):
        if not (folder / part / "config.json").is_file():
            raise FileNotFoundError(
                f"model.base {folder} has no {part}/config.json; expected a diffusers folder "
                "with unet/ (UNet2DConditionModel) and vae/ (AutoencoderKL)"
            )
    refuse_pickles(folder / "unet", COMPONENT_WEIGHTS)
    refuse_pickles(folder / "vae", COMPONENT_WEIGHTS)
    unet = UNet2DConditionModel.from_pretrained(
        folder / "unet", local_files_only=True, use_safetensors=True
    )
    vae = AutoencoderKL.from_pretrained(folder / "vae", local_files_only=True, use_safetensors=True)
    te_config = folder / "text_encoder" / "config.json"
    if (
        te_config.is_file()
        and json.loads(te_config.read_text())["_class_name"] == "CharTextEncoder"
    ):
        refuse_pickles(folder / "text_encoder", COMPONENT_WEIGHTS)
        text_encoder = CharTextEncoder.from_pretrained(
            folder / "text_encoder", local_files_only=True, use_safetensors=True
        )
        if text_encoder.config.out_dim != unet.config.cross_attention_dim:
            raise ValueError(
                f"{folder}/text_encoder gives {text_encoder.config.out_dim}-wide states but the "
                f"UNet's cross_attention_dim is {unet.config.cross_attention_dim}"
            )
    else:
        log.warning(
            "%s: no CharTextEncoder in text_encoder/; training a new character encoder", folder
        )
        text_encoder = _text_encoder(cfg, unet.config.cross_attention_dim)
    if unet.config.out_channels != vae.config.latent_channels:
        raise ValueError(
            f"{folder}: the UNet makes {unet.config.out_channels} channels but the VAE makes "
            f"{vae.config.latent_channels}"
        )
    return unet, vae, text_encoder
