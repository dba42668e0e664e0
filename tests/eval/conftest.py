"""Fixtures for the evaluator's tests (helpers live in eval_helpers.py)."""

import pytest


@pytest.fixture(scope="session")
def judge():
    """The real PP-OCRv4 judge, loaded once (about 1 s)."""
    from glyphgen.eval.backends import create_backend

    return create_backend("rapidocr")
