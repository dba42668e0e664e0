"""An exponential moving average of the weights a run trains (EMA weights).

Diffusion models are usually sampled from an average of their recent weights rather than
the last step's, which carry that step's noise (Ho et al. 2020; Karras et al. 2024). After
each optimizer step every floating-point tensor of the trained modules moves toward the
model: ``ema = d * ema + (1 - d) * weight``, with ``d = min(decay, (1 + n) / (10 + n))``
after ``n`` updates, so the first updates follow the model closely instead of keeping the
starting weights for hundreds of steps. The average lives beside the model (fp32, CPU) and
goes into the model only to save it (``swapped_in``); the checkpoint holds it, so a resumed
run averages exactly as the run that never stopped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

UPDATES_KEY = "__updates__"  # the number of updates so far, stored with the averages


class EmaWeights:
    def __init__(self, modules: Mapping[str, torch.nn.Module], decay: float):
        if not 0 < decay < 1:
            raise ValueError(f"ema_decay must be between 0 and 1 (0 turns EMA off), got {decay}")
        self.decay = decay
        self.updates = 0
        self.average = {
            key: value.detach().float().cpu().clone() for key, value in _tensors(modules)
        }

    def rate(self) -> float:
        """The decay of the next update."""
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, modules: Mapping[str, torch.nn.Module]) -> None:
        d = self.rate()
        for key, value in _tensors(modules):
            self.average[key].mul_(d).add_(value.detach().float().cpu(), alpha=1 - d)
        self.updates += 1

    @contextmanager
    def swapped_in(self, modules: Mapping[str, torch.nn.Module]) -> Iterator[None]:
        """The averages in the modules for the ``with`` block, their own weights after it."""
        own = {
            name: {k: v.clone() for k, v in m.state_dict().items()} for name, m in modules.items()
        }
        try:
            for name, module in modules.items():
                state = module.state_dict()
                for k in state:
                    if f"{name}.{k}" in self.average:
                        state[k] = self.average[f"{name}.{k}"].to(state[k].dtype)
                module.load_state_dict(state)
            yield
        finally:
            for name, module in modules.items():
                module.load_state_dict(own[name])

    def save(self, path: Path) -> None:
        save_file({**self.average, UPDATES_KEY: torch.tensor([self.updates])}, str(path))

    def load(self, path: Path) -> None:
        """The averages a checkpoint saved; they must be of these modules."""
        saved = load_file(str(path))
        updates = int(saved.pop(UPDATES_KEY)[0])
        if saved.keys() != self.average.keys():
            differ = sorted(saved.keys() ^ self.average.keys())[:5]
            raise ValueError(f"{path} holds averages of other weights (e.g. {differ})")
        self.average, self.updates = saved, updates


def _tensors(modules: Mapping[str, torch.nn.Module]) -> Iterator[tuple[str, torch.Tensor]]:
    """Every floating-point tensor of the modules' state, named ``module.key``."""
    for name, module in modules.items():
        for key, value in module.state_dict().items():
            if value.is_floating_point():
                yield f"{name}.{key}", value
