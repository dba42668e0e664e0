"""Fixtures for the glyph model's tests: a tiny model trained 6 steps, once per session."""

import pytest
import torch

from glyphgen.cli import main

# Tiny models gain nothing from a second thread, and two OpenMP threads on a machine
# whose other core is busy wait on each other (seen here: 141 s instead of 28 s).
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """The weights folder of ``glyphgen train --config tiny``: 4 + 2 steps, two stages, on
    scenes the factory renders on the fly."""
    out = tmp_path_factory.mktemp("tiny-model")
    assert main(["train", "--config", "tiny", "--out", str(out), "--quiet"]) == 0
    return out / "weights"
