import os

import pytest

# Nothing in the test suite may reach a model hub or dataset hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(scope="session")
def fonts():
    from glyphgen.synth.fonts import FontLibrary

    return FontLibrary.load()
