import os

import pytest

# Nothing in the test suite may reach a model hub or dataset hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(scope="session")
def fonts():
    from glyphgen.typeset.fonts import FontLibrary

    return FontLibrary.load()


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """The weights folder of ``glyphgen train --config tiny`` (model and web tests): 4 + 2
    steps, two stages, on scenes the factory renders on the fly."""
    from glyphgen.cli import main

    out = tmp_path_factory.mktemp("tiny-model")
    assert main(["train", "--config", "tiny", "--out", str(out), "--quiet"]) == 0
    return out / "weights"
