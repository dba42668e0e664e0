"""What training asks of the model: the forward process, the target and the clean sample
read back from a prediction, for the two objectives a model config can name.

- ``ddpm``: the variance-preserving diffusion of the pipeline's scheduler (its betas and
  ``prediction_type``: noise, v or the clean sample x0);
- ``flow``: rectified flow (Liu et al. 2022; Esser et al. 2024, SD3): x_s = (1 - s) x0 + s e
  on a straight line from the clean sample (s = 0) to noise (s = 1), the model predicting the
  velocity e - x0; sampled by diffusers' ``FlowMatchEulerDiscreteScheduler`` (shift 1).

Both draw an integer step t in [0, 1000) per sample; the UNet sees the timestep the sampler
will give it at that noise level (ddpm: t; flow: 1000 s with s = (t + 1) / 1000, the
scheduler's sigmas running from 1 to 1/1000).
"""

from __future__ import annotations

from typing import Protocol

import torch
from diffusers import DDPMScheduler

from glyphgen.model.losses import diffusion_target, predicted_x0, timestep_weights


class Objective(Protocol):
    num_steps: int

    def noised(
        self, clean: torch.Tensor, noise: torch.Tensor, t: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(the noisy sample, the timestep the UNet is given) for integer steps ``t`` (B,)."""
        ...

    def target(self, clean: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor: ...

    def clean_from(self, noisy: torch.Tensor, pred: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The clean sample the prediction implies (for the OCR-aware loss)."""
        ...

    def weights(self, t: torch.Tensor, weighting: str, gamma: float) -> torch.Tensor:
        """Each sample's weight in the loss, (B,)."""
        ...


class DiffusionObjective:
    def __init__(self, scheduler: DDPMScheduler):
        self.scheduler = scheduler
        self.num_steps = int(scheduler.config.num_train_timesteps)

    def noised(
        self, clean: torch.Tensor, noise: torch.Tensor, t: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.scheduler.add_noise(clean, noise, t), t

    def target(self, clean: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return diffusion_target(self.scheduler, clean, noise, t)

    def clean_from(self, noisy: torch.Tensor, pred: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return predicted_x0(self.scheduler, noisy, pred, t)

    def weights(self, t: torch.Tensor, weighting: str, gamma: float) -> torch.Tensor:
        return timestep_weights(self.scheduler, t, weighting, gamma)


class FlowObjective:
    def __init__(self, num_steps: int = 1000):
        self.num_steps = num_steps

    def sigma(self, t: torch.Tensor) -> torch.Tensor:  # (B, 1, 1, 1) in (0, 1]
        return ((t.float() + 1) / self.num_steps).view(-1, 1, 1, 1)

    def noised(
        self, clean: torch.Tensor, noise: torch.Tensor, t: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.sigma(t).to(clean.dtype)
        return (1 - s) * clean + s * noise, (t + 1).float()

    def target(self, clean: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return noise - clean

    def clean_from(self, noisy: torch.Tensor, pred: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return noisy - self.sigma(t).to(noisy.dtype) * pred

    def weights(self, t: torch.Tensor, weighting: str, gamma: float) -> torch.Tensor:
        if weighting != "uniform":
            raise ValueError(
                f"loss_weighting={weighting!r} is defined for the ddpm objective; flow "
                "trains with uniform weights"
            )
        return torch.ones(t.shape, dtype=torch.float32, device=t.device)


def training_objective(objective: str, scheduler_config: dict) -> Objective:
    """The objective a pipeline was built for (``ModelConfig.objective``)."""
    if objective == "ddpm":
        return DiffusionObjective(DDPMScheduler.from_config(scheduler_config))
    if objective == "flow":
        return FlowObjective(int(scheduler_config.get("num_train_timesteps", 1000)))
    raise ValueError(f"unknown objective {objective!r}; use ddpm or flow")
