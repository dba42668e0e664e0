"""Helpers shared by the glyph model's tests."""

from glyphgen.model.config import TrainConfig, load_train_config


def tiny_config(out, *overrides) -> TrainConfig:
    """The bundled tiny config (a few hundred thousand parameters) writing to ``out``."""
    return load_train_config("tiny", [f"out={out}", *overrides])
