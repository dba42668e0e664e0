"""Helpers shared by the glyph model's tests."""

import pytest

from glyphgen.model.config import TrainConfig, load_train_config
from glyphgen.model.train import Trainer


def tiny_config(out, *overrides) -> TrainConfig:
    """The bundled tiny config (a few hundred thousand parameters) writing to ``out``."""
    return load_train_config("tiny", [f"out={out}", *overrides])


def run_until_crash(trainer: Trainer, monkeypatch, call: int) -> None:
    """Run ``trainer`` and interrupt it at its ``call``-th training step (that step is
    never taken), as Ctrl-C would."""
    calls = {"n": 0}
    step = trainer.training_step

    def crashing(batch):
        calls["n"] += 1
        if calls["n"] == call:
            raise KeyboardInterrupt
        return step(batch)

    monkeypatch.setattr(trainer, "training_step", crashing)
    with pytest.raises(KeyboardInterrupt):
        trainer.run()
