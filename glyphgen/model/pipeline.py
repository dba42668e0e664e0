"""``GlyphPipeline``: write given text into line crops, under glyph + position control.

Components (each saved in its own folder by ``save_pretrained``, safetensors only):

- ``unet``: ``UNet2DConditionModel``, the base denoiser;
- ``controlnet``: ``ControlNetModel``, the strong control, fed at pixel resolution with the
  6-channel condition ``[glyph, position mask, masked source RGB, edit mask]``; or None for
  a model trained without it (``model.controlnet: false``, text conditioning only: the
  condition then reaches nothing, and ``save_pretrained`` writes no ``controlnet/``);
  a UNet built with ``model.condition_in_unet`` also takes the same condition beside the
  noisy sample (space-to-depth to the sample's size, as inpainting UNets take their masked
  image), so every layer sees the glyph from the first step of training;
- ``text_encoder``: ``CharTextEncoder`` (characters of the target text + style caption);
- ``style_adapter``: ``StyleAdapter`` (weak control: reference crop and/or attributes);
- ``scheduler``: a diffusers scheduler (DPM-Solver++ by default: good in few steps);
- ``vae``: ``AutoencoderKL`` for a latent base, or None for our pixel-space base, which
  works on ``pixel_unshuffle(image, unshuffle)`` (space-to-depth: lossless, no autoencoder
  to train, and 4x fewer positions for the UNet).

Images are tensors (B, C, H, W): RGB in [-1, 1], masks and glyphs in [0, 1]. H and W must
be multiples of ``size_multiple``.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import (
    AutoencoderKL,
    ControlNetModel,
    DiffusionPipeline,
    FlowMatchEulerDiscreteScheduler,
    SchedulerMixin,
    UNet2DConditionModel,
)
from diffusers.utils import BaseOutput

from glyphgen.model.adapter import StyleAdapter
from glyphgen.model.config import SAMPLING_RULES, check_draft
from glyphgen.model.guidance import Guide, guided_output
from glyphgen.model.known import put_back, sample_region
from glyphgen.model.text_encoder import CharTextEncoder
from glyphgen.safeweights import check_manifest, refuse_pickles

CONDITION_CHANNELS = 6  # glyph, position mask, masked source (3), edit mask
COMPONENT_WEIGHTS = "diffusion_pytorch_model.safetensors"  # what each model component loads


@dataclass
class GlyphPipelineOutput(BaseOutput):
    images: np.ndarray  # (B, H, W, 3) uint8


def make_condition(
    glyph: torch.Tensor,
    position_mask: torch.Tensor,
    source: torch.Tensor | None = None,
    edit_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """(B, 6, H, W) ControlNet input. Without a source the whole crop is to be generated."""
    if source is None:
        source = torch.zeros(glyph.shape[0], 3, *glyph.shape[2:], device=glyph.device)
        edit_mask = torch.ones_like(glyph)
    elif edit_mask is None:
        raise ValueError("a source image needs an edit_mask (1 where the text goes)")
    masked = source * (1 - edit_mask)
    return torch.cat([glyph, position_mask, masked, edit_mask], dim=1)


def check_control_scale(controlnet: ControlNetModel | None, control_scale: float) -> None:
    """The ControlNet's scale is an option of the ControlNet: refused without one."""
    if controlnet is None and control_scale != 1.0:
        raise ValueError(
            f"control_scale={control_scale} needs a ControlNet, and this pipeline has none "
            "(trained with model.controlnet: false); leave control_scale at 1.0"
        )


def condition_channels(unet: Any) -> int:
    """How many channels of condition the UNet takes beside the noisy sample (0: none)."""
    config = getattr(unet, "module", unet).config  # DDP wraps the module on several processes
    return int(config.in_channels) - int(config.out_channels)


def needs_condition(unet: Any, controlnet: ControlNetModel | None) -> bool:
    return controlnet is not None or condition_channels(unet) > 0


def condition_for_unet(
    condition: torch.Tensor, sample: torch.Tensor, channels: int
) -> torch.Tensor:
    """The condition at the sample's size in ``channels`` channels: space-to-depth for our
    pixel base (lossless), an area average for a latent one (one value per latent cell)."""
    factor = condition.shape[-1] // sample.shape[-1]
    if channels == condition.shape[1] * factor**2:
        return F.pixel_unshuffle(condition, factor)
    if channels == condition.shape[1]:
        return F.adaptive_avg_pool2d(condition, (sample.shape[-2], sample.shape[-1]))
    raise ValueError(
        f"the UNet takes {channels} condition channels; a {condition.shape[1]}-channel "
        f"condition at {factor}x the sample's size gives {condition.shape[1] * factor**2} "
        f"(space-to-depth) or {condition.shape[1]}"
    )


def denoise(
    unet: UNet2DConditionModel,
    controlnet: ControlNetModel | None,
    noisy: torch.Tensor,
    timesteps: torch.Tensor,
    text_states: torch.Tensor,
    style_tokens: torch.Tensor,
    condition: torch.Tensor | None,
    control_scale: float = 1.0,
) -> torch.Tensor:
    """One denoiser evaluation: ControlNet residuals (if there is a ControlNet) into the
    UNet, whose output it returns. Training calls it with its wrapped modules."""
    check_control_scale(controlnet, control_scale)
    if needs_condition(unet, controlnet) and condition is None:
        raise ValueError("this model needs its condition image (make_condition)")
    down = mid = None
    if controlnet is not None:
        down, mid = controlnet(
            noisy,
            timesteps,
            encoder_hidden_states=text_states,
            controlnet_cond=condition,
            conditioning_scale=control_scale,
            return_dict=False,
        )
    unet_in = noisy
    extra = condition_channels(unet)
    if extra:
        assert condition is not None
        unet_in = torch.cat([noisy, condition_for_unet(condition, noisy, extra).to(noisy)], 1)
    return unet(
        unet_in,
        timesteps,
        encoder_hidden_states=(text_states, [style_tokens]),  # text, then the adapter's tokens
        down_block_additional_residuals=down,
        mid_block_additional_residual=mid,
    ).sample


def glyph_draft(glyph: torch.Tensor, source: torch.Tensor | None) -> torch.Tensor:
    """The source (mid grey where there is none) with the glyph inked in black or white,
    whichever differs more from the source's mean under the glyph: (B, 3, H, W) in [-1, 1]."""
    if source is None:
        source = torch.zeros(glyph.shape[0], 3, *glyph.shape[2:])
    source = source.to(glyph.dtype)
    ink_area = glyph.sum(dim=(1, 2, 3)).clamp(min=1)
    under = (source.mean(dim=1, keepdim=True) * glyph).sum(dim=(1, 2, 3)) / ink_area
    ink = torch.where(under > 0, -1.0, 1.0)[:, None, None, None]
    return source * (1 - glyph) + ink * glyph


class GlyphPipeline(DiffusionPipeline):
    model_cpu_offload_seq = "text_encoder->style_adapter->controlnet->unet->vae"
    _optional_components: ClassVar[list[str]] = ["vae", "controlnet"]

    def __init__(
        self,
        unet: UNet2DConditionModel,
        controlnet: ControlNetModel | None,
        text_encoder: CharTextEncoder,
        style_adapter: StyleAdapter,
        scheduler: SchedulerMixin,
        vae: AutoencoderKL | None = None,
        unshuffle: int = 2,  # pixel space: space-to-depth factor (ignored with a vae)
        default_steps: int = 8,  # denoising steps when the caller gives none
        crop_height: int = 64,  # pixels across a line crop (its height; a column's width)
        default_strength: float = 1.0,  # when the caller gives none (see ``__call__``)
        default_draft: str = "glyph",  # render's draft when the caller gives none (DRAFTS)
        keep_known: bool = False,  # outside edit_mask the sample is the source (model.known)
    ):
        super().__init__()
        self.register_modules(
            unet=unet,
            controlnet=controlnet,
            text_encoder=text_encoder,
            style_adapter=style_adapter,
            scheduler=scheduler,
            vae=vae,
        )
        self.register_to_config(
            unshuffle=unshuffle,
            default_steps=default_steps,
            crop_height=crop_height,
            default_strength=default_strength,
            default_draft=default_draft,
            keep_known=keep_known,
        )
        style_adapter.attach(unet)

    # -- the sample space: pixels (space-to-depth) or a VAE's latents ------------------------
    @property
    def space_factor(self) -> int:
        """Image pixels per sample position, along each side."""
        if self.vae is not None:
            return 2 ** (len(self.vae.config.block_out_channels) - 1)
        return int(self.config.unshuffle)

    @property
    def size_multiple(self) -> int:
        """H and W of a crop must be multiples of this (the UNet halves the sample per level)."""
        return self.space_factor * 2 ** (len(self.unet.config.block_out_channels) - 1)

    def encode_images(self, images: torch.Tensor, generator: torch.Generator | None = None):
        if self.vae is not None:
            latents = self.vae.encode(images).latent_dist.sample(generator)
            return latents * self.vae.config.scaling_factor
        return F.pixel_unshuffle(images, self.space_factor)

    def decode_samples(self, samples: torch.Tensor) -> torch.Tensor:
        if self.vae is not None:
            return self.vae.decode(samples / self.vae.config.scaling_factor).sample
        return F.pixel_shuffle(samples, self.space_factor)

    # -- one denoiser evaluation, shared by training and sampling ----------------------------
    def predict(
        self,
        noisy: torch.Tensor,
        timesteps: torch.Tensor,
        text_states: torch.Tensor,
        style_tokens: torch.Tensor,
        condition: torch.Tensor | None,
        control_scale: float = 1.0,
    ) -> torch.Tensor:
        """The UNet's output (noise, v or x0 per the scheduler's prediction_type)."""
        return denoise(
            self.unet,
            self.controlnet,
            noisy,
            timesteps,
            text_states,
            style_tokens,
            condition,
            control_scale,
        )

    def check_size(self, height: int, width: int) -> None:
        m = self.size_multiple
        if height % m or width % m:
            raise ValueError(
                f"crop size {height}x{width} is not a multiple of {m}; "
                f"use {math.ceil(height / m) * m}x{math.ceil(width / m) * m}"
            )

    def resolve_steps(self, steps: int | None = None) -> int:
        """The number of denoising steps sampling will take when asked for ``steps`` (None:
        the pipeline's ``default_steps``): from 1 to the scheduler's training timesteps."""
        if steps is None:
            return int(self.config.default_steps)
        most = int(self.scheduler.config.num_train_timesteps)
        if not 1 <= steps <= most:
            raise ValueError(f"steps must be in [1, {most}] for this model, got {steps}")
        return steps

    def resolve_strength(self, strength: float | None = None) -> float:
        """The strength sampling will use when asked for ``strength`` (None: the pipeline's
        ``default_strength``, 1 where it has none)."""
        if strength is None:
            strength = float(self.config.get("default_strength", 1.0))
        try:
            return float(SAMPLING_RULES["strength"](strength))
        except ValueError as exc:
            raise ValueError(f"strength {exc}") from None

    def resolve_draft(self, draft: str | None = None) -> str:
        """The draft ``render_regions`` starts from when asked for ``draft`` (None: the
        pipeline's ``default_draft``, "glyph" where it has none)."""
        if draft is None:
            draft = str(self.config.get("default_draft", "glyph"))
        try:
            return check_draft(draft)
        except ValueError as exc:
            raise ValueError(f"draft {exc}") from None

    @torch.no_grad()
    def __call__(
        self,
        texts: Sequence[str],
        glyph: torch.Tensor,
        position_mask: torch.Tensor,
        source: torch.Tensor | None = None,
        edit_mask: torch.Tensor | None = None,
        captions: Sequence[str] | None = None,
        style_ref: torch.Tensor | None = None,
        style_attributes: torch.Tensor | None = None,
        num_inference_steps: int | None = None,
        generator: torch.Generator | None = None,
        control_scale: float = 1.0,
        strength: float | None = None,
        draft: torch.Tensor | None = None,
        guide: Guide | None = None,
        output_type: str = "np",
    ) -> GlyphPipelineOutput | torch.Tensor:
        """Generate crops carrying ``texts`` where ``glyph`` draws them.

        glyph, position_mask, edit_mask: (B, 1, H, W) in [0, 1]; source, style_ref:
        (B, 3, H, W) / (B, 3, h, w) in [-1, 1]; style_attributes: (B, 5).
        strength: 1 starts from pure noise; below 1 (SDEdit, Meng et al. 2022) sampling
        starts that far into the schedule from a draft, the source with the glyph inked in
        black or white (whichever contrasts more), so the model refines a legible layout
        instead of drawing from nothing; 0 returns the draft itself (no denoising: the
        baseline the model must improve on). A model without ControlNet gets glyph
        information only this way, through the draft (the ablation row that tells what the
        ControlNet branch adds to it); at 1 only texts, captions and style reach it, and
        glyph just gives the crop's size.
        draft: (B, 3, H, W) in [-1, 1], the image sampling starts from below strength 1
        instead of the glyph draft (``glyphgen.model.render`` passes the classical edit).
        guide: steers every step's predicted clean crop (``glyphgen.model.guidance``: OCR-
        guided sampling); diffusion (ddpm) models only.
        output_type: "np" (uint8 images in ``.images``) or "pt" (a [-1, 1] tensor).
        """
        if output_type not in ("np", "pt"):
            raise ValueError(f"unknown output_type {output_type!r}; use 'np' or 'pt'")
        check_control_scale(self.controlnet, control_scale)
        if guide is not None and isinstance(self.scheduler, FlowMatchEulerDiscreteScheduler):
            raise ValueError(
                "guided sampling reads the clean crop a diffusion model predicts; this is a "
                "flow model (model.objective: flow): sample it without guidance"
            )
        batch, _, height, width = glyph.shape
        if len(texts) != batch:
            raise ValueError(f"{len(texts)} texts for a batch of {batch} glyph images")
        self.check_size(height, width)
        steps = self.resolve_steps(num_inference_steps)
        strength = self.resolve_strength(strength)
        device = self.unet.device
        # 1) conditions: text tokens, style tokens, the condition image (if anything takes it)
        text_states = self.text_encoder.encode(texts, captions)
        style_tokens = self.style_adapter(batch, style_ref, style_attributes)
        condition = None
        if needs_condition(self.unet, self.controlnet):
            condition = make_condition(glyph, position_mask, source, edit_mask).to(device)
        # 2) start from noise of the sample space's shape
        f = self.space_factor
        channels = self.unet.config.out_channels
        sample = torch.randn(
            (batch, channels, height // f, width // f), generator=generator, device=device
        )
        self.scheduler.set_timesteps(steps, device=device)
        timesteps = self.scheduler.timesteps
        if draft is not None and draft.shape != (batch, 3, height, width):
            raise ValueError(f"draft is {tuple(draft.shape)}; expected {(batch, 3, height, width)}")
        if strength < 1:
            start = self.encode_images(
                (glyph_draft(glyph, source) if draft is None else draft).to(device)
            )
        if strength == 0:
            timesteps = timesteps[:0]
            sample = start
        elif strength < 1:
            skip = min(steps - 1, round(steps * (1 - strength)))
            timesteps = timesteps[skip:]
            if hasattr(self.scheduler, "set_begin_index"):  # DDIM steps by the timestep alone
                self.scheduler.set_begin_index(skip)
            first = timesteps[:1].expand(batch)
            if isinstance(self.scheduler, FlowMatchEulerDiscreteScheduler):
                sample = self.scheduler.scale_noise(start, first, sample)
            else:
                sample = self.scheduler.add_noise(start, sample, first)
        else:  # (flow: sigma 1 is pure noise)
            sample = sample * getattr(self.scheduler, "init_noise_sigma", 1.0)
        # keep what is known: outside the edit mask the sample follows the source
        kept: tuple[torch.Tensor, torch.Tensor] | None = None  # (known sample, region)
        if self.config.get("keep_known", False) and source is not None and edit_mask is not None:
            known = self.encode_images(source.to(device), generator)
            kept = (known, sample_region(edit_mask.to(device), sample))
        # 3) denoise (the generator reaches the samplers that draw noise; UniPC takes none)
        takes = inspect.signature(self.scheduler.step).parameters
        step_kwargs = {"generator": generator} if "generator" in takes else {}
        for i, t in enumerate(timesteps):
            scale = getattr(self.scheduler, "scale_model_input", None)
            model_in = sample if scale is None else scale(sample, t)
            out = self.predict(
                model_in,
                t.expand(batch),
                text_states,
                style_tokens,
                condition,
                control_scale,
            )
            if guide is not None:
                out = guided_output(
                    self.scheduler,
                    model_in,
                    out,
                    t.expand(batch),
                    guide,
                    self.decode_samples,
                    lambda images: self.encode_images(images, generator),
                )
            sample = self.scheduler.step(out, t, sample, **step_kwargs).prev_sample
            if kept is not None and i + 1 < len(timesteps):
                sample = put_back(self.scheduler, sample, *kept, timesteps[i + 1], generator)
        if kept is not None:  # the known pixels exactly, whatever the steps
            sample = put_back(self.scheduler, sample, *kept, None, generator)
        images = self.decode_samples(sample).clamp(-1, 1)
        if output_type == "pt":
            return images
        arr = ((images + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        return GlyphPipelineOutput(images=arr)

    # -- saving: the adapter's processors belong to the adapter, not to the UNet --------------
    @contextlib.contextmanager
    def _adapter_detached(self) -> Iterator[None]:
        StyleAdapter.detach(self.unet)
        try:
            yield
        finally:
            self.style_adapter.attach(self.unet)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs) -> Any:
        """diffusers' loader, safetensors only: a local folder holding a pickle file (at any
        depth) is refused before anything is read, and no component falls back to a pickle
        ("Defaulting to unsafe serialization"); files whose sha256 differs from the folder's
        manifest are refused (``glyphgen.safeweights.check_manifest``). Typed ``Any``, as
        diffusers' own (decorated) loader reads to mypy, so callers' checks stay as they were."""
        if kwargs.get("use_safetensors") is False:
            raise ValueError("glyphgen loads only safetensors weights (use_safetensors)")
        refuse_pickles(os.fspath(pretrained_model_name_or_path), COMPONENT_WEIGHTS)
        check_manifest(os.fspath(pretrained_model_name_or_path))
        return super().from_pretrained(
            pretrained_model_name_or_path, **{**kwargs, "use_safetensors": True}
        )

    def save_pretrained(self, save_directory: str | os.PathLike, **kwargs) -> None:
        if kwargs.get("safe_serialization") is False:
            raise ValueError("glyphgen saves weights as safetensors only")
        with self._adapter_detached():
            super().save_pretrained(save_directory, safe_serialization=True, **kwargs)

    def unet_state_dict(self) -> dict[str, torch.Tensor]:
        """The UNet's own weights, without the adapter's processors (for checkpoints)."""
        with self._adapter_detached():
            return {k: v.detach().clone() for k, v in self.unet.state_dict().items()}
