"""Edit pairs: the same scene with text A and with text B, identical everywhere but the ink."""

import json
import tarfile

import cv2
import numpy as np
import pytest

from glyphgen.synth.config import load_config
from glyphgen.synth.render import Renderer
from glyphgen.synth.runner import run

# Every style and effect an edit pair must carry over, on often.
HEAVY = [
    "style.stroke_prob=0.5",
    "style.shadow_prob=0.5",
    "effects.blur_prob=0.5",
    "effects.noise_prob=0.5",
    "effects.light_prob=0.5",
    "layout.perspective_prob=0.5",
    "edit.blank_prob=0",
]


def _near_line(sample, margin: int) -> np.ndarray:
    """The edited line's polygon, dilated by ``margin`` px: where its ink (stroke, shadow,
    blur included) may land."""
    mask = np.zeros((sample.height, sample.width), np.uint8)
    points = np.round(np.array(sample.lines[0].polygon)).astype(np.int32)
    cv2.fillPoly(mask, [points], 1)
    return cv2.dilate(mask, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)) > 0


@pytest.fixture(scope="module")
def pairs(fonts):
    renderer = Renderer(load_config(preset="edits", overrides=HEAVY), fonts)
    out = [renderer.render(i) for i in range(8)]
    return [p for p in out if p is not None]


def test_a_pair_differs_only_inside_the_two_text_masks(pairs):
    assert len(pairs) >= 6
    for pair in pairs:
        e = pair.edit
        assert e.text_a and len(e.text_a) == len(pair.lines[0].text)
        assert not set(e.text_a) & set(pair.lines[0].text)
        inked = (e.mask_a > 0) | (e.mask_b > 0)
        assert (e.source[~inked] == pair.image[~inked]).all()
        # The masks are the text's ink, not a background or effect that drifted between the
        # two drawings: both are non-empty and lie near the line (stroke, shadow, blur).
        margin = int(0.2 * pair.lines[0].size) + 8
        near = _near_line(pair, margin)
        for mask in (e.mask_a, e.mask_b):
            assert (mask > 0).sum() > 50
            assert not ((mask > 0) & ~near).any()


def test_a_pair_replays_from_its_record(pairs, fonts):
    # Another seed: everything comes from the record.
    other = Renderer(load_config(preset="edits", overrides=[*HEAVY, "seed=7"]), fonts)
    for pair in pairs[:3]:
        again = other.render(pair.index, recorded=pair.meta)
        assert again.image_bytes == pair.image_bytes
        assert again.edit_pngs == pair.edit_pngs
        assert again.edit.text_a == pair.edit.text_a


def test_blank_pairs_start_from_the_empty_scene(fonts):
    renderer = Renderer(load_config(preset="edits", overrides=["edit.blank_prob=1"]), fonts)
    pair = renderer.render(3)
    e = pair.edit
    assert e.text_a == "" and not e.mask_a.any()
    outside = e.mask_b == 0
    assert (e.source[outside] == pair.image[outside]).all()
    assert (e.source[~outside] != pair.image[~outside]).any(axis=1).all()


def test_pairs_are_written_for_training_and_benchmarks(tmp_path):
    cfg = load_config(preset="edits", extra={"num": 3}, overrides=["output.shard_size=3"])
    run(cfg, tmp_path, workers=1)
    records = [json.loads(line) for line in (tmp_path / "labels.jsonl").open(encoding="utf-8")]
    assert len(records) == 3
    for rec in records:
        edit = rec["edit"]
        assert edit["text_b"] == rec["texts"][0]["text"]
        assert set(edit["style"]) >= {"fill"}
        for name in ("source", "mask_a", "mask_b", "style_ref"):
            assert (tmp_path / edit[name]).is_file()
    with tarfile.open(tmp_path / "shards/00000/data.tar") as tar:
        names = tar.getnames()
    for suffix in ("png", "json", "glyph.png", "mask.png", "source.png", "mask_b.png"):
        assert f"000000000.{suffix}" in names


def test_edit_pairs_need_scenes():
    with pytest.raises(ValueError, match="kind: scene"):
        load_config(preset="lines", overrides=["edit.pairs=true"])
