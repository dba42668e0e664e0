"""Fixtures for the glyph model's tests: a tiny model trained 6 steps, once per session."""

import pytest
from model_helpers import tiny_config


@pytest.fixture(scope="session")
def trained(tmp_path_factory, fonts):
    """(Trainer, weights folder) of a 4 + 2 step, two-stage run on factory scenes."""
    from glyphgen.model.train import Trainer

    out = tmp_path_factory.mktemp("tiny-model")
    trainer = Trainer(tiny_config(out), fonts=fonts, progress=False, command="pytest")
    weights = trainer.run()
    return trainer, weights
