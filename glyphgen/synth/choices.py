"""Random choices of one sample, drawn once and recorded, or replayed from a record.

As in SynthTIGER: every parameter a sample uses goes through ``Choices.get``; a value
already present in the recorded meta is used instead of drawn, so a sample can be rebuilt
exactly from its metadata. Array-valued randomness (noise fields) is derived from recorded
integer seeds, so the record stays small.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def _plain(value: Any) -> Any:
    """JSON-safe python values (numpy scalars and arrays become python numbers and lists)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class Choices:
    def __init__(self, rng: np.random.Generator, recorded: dict[str, Any] | None = None):
        self.rng = rng
        self.recorded = recorded or {}
        self.meta: dict[str, Any] = {}

    def get(self, key: str, draw: Callable[[np.random.Generator], Any]) -> Any:
        value = self.recorded[key] if key in self.recorded else _plain(draw(self.rng))
        self.meta[key] = value
        return value

    def uniform(self, key: str, bounds: tuple[float, float]) -> float:
        lo, hi = bounds
        return float(self.get(key, lambda r: r.uniform(lo, hi) if hi > lo else lo))

    def integer(self, key: str, bounds: tuple[int, int]) -> int:
        lo, hi = bounds
        return int(self.get(key, lambda r: r.integers(lo, hi + 1)))

    def chance(self, key: str, p: float) -> bool:
        return bool(self.get(key, lambda r: bool(p > 0 and r.random() < p)))

    def seed(self, key: str) -> int:
        return int(self.get(key, lambda r: r.integers(2**31)))

    def pick(self, key: str, weights: dict[str, float]) -> str:
        names = [k for k, w in weights.items() if w > 0]
        if not names:
            raise ValueError(f"{key}: no option has a positive weight in {weights}")
        p = np.array([weights[k] for k in names], dtype=np.float64)
        return str(self.get(key, lambda r: names[int(r.choice(len(names), p=p / p.sum()))]))

    def child(self, key: str) -> Choices:
        """Choices of a part (a region, a line), recorded under ``key``."""
        sub = Choices(self.rng, self.recorded.get(key))
        self.meta[key] = sub.meta
        return sub
