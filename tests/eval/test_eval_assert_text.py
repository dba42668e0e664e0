"""``assert_text`` with the real judge on a factory line: passes, fails with target vs read."""

import json

import numpy as np
import pytest
from eval_helpers import factory
from PIL import Image

from glyphgen.eval import assert_text, read_text
from glyphgen.paths import REPO_ROOT
from glyphgen.typeset.charsets import gb2312_level2


@pytest.fixture(scope="module")
def line(tmp_path_factory):
    """(image path, its text, its polygon) of one clean factory line: 咖啡馆."""
    out = factory(
        tmp_path_factory.mktemp("line"),
        config=REPO_ROOT / "bench" / "sets" / "ceiling_lines.yaml",
        overrides=["num=1", "seed=7"],
    )
    rec = json.loads((out / "labels.jsonl").read_text(encoding="utf-8").splitlines()[0])
    region = rec["texts"][0]
    assert region["text"] == "咖啡馆"
    return out / rec["image"], region["text"], region["polygon"]


def test_passes_when_the_image_says_it(line, judge):
    path, text, polygon = line
    check = assert_text(path, text, region=polygon, backend=judge)
    assert check.read == text and check.score.exact and check.confidence > 0.9
    # a PIL image, a uint8 array, a box, the whole image
    xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
    box = (min(xs), min(ys), max(xs), max(ys))
    assert_text(Image.open(path), text, region=box, backend=judge)
    assert_text(np.asarray(Image.open(path).convert("RGB")), text, backend=judge)
    assert read_text(path, polygon, backend=judge)[0] == text
    # full-width / spacing differences are normalized away, as in the evaluator
    assert_text(path, "咖 啡 馆", region=polygon, backend=judge)


def test_failure_shows_expected_and_read(line, judge):
    path, _, polygon = line
    with pytest.raises(AssertionError) as err:
        assert_text(path, "咖啡店", region=polygon, backend=judge)
    message = str(err.value)
    assert "expected: 咖啡店" in message
    assert "read:     咖啡馆" in message
    assert "differs:  店 -> 馆 (position 3)" in message
    assert "exact match required" in message

    with pytest.raises(AssertionError, match=r"ratio 0\.6667 < min_ratio 0\.9"):
        assert_text(path, "咖啡店", region=polygon, min_ratio=0.9, backend=judge)
    check = assert_text(path, "咖啡店", region=polygon, min_ratio=0.6, backend=judge)
    assert check.score.ratio == pytest.approx(2 / 3)


def test_a_target_the_judge_cannot_output_is_a_usage_error(line, judge):
    path, _, polygon = line
    unreadable = next(c for c in gb2312_level2() if c not in judge.charset())
    with pytest.raises(ValueError, match="cannot output"):
        assert_text(path, "咖啡" + unreadable, region=polygon, backend=judge)
    with pytest.raises(ValueError, match="region must be"):
        assert_text(path, "咖啡馆", region=[1, 2, 3], backend=judge)
    with pytest.raises(ValueError, match="does not exist"):
        assert_text(path.parent / "missing.png", "咖啡馆", backend=judge)
