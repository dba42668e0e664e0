"""Training crops: aligned glyph / masks / image, from every source, and typed configs."""

import json

import cv2
import numpy as np
import pytest
from model_helpers import tiny_config
from PIL import Image

from glyphgen.cli import main
from glyphgen.configio import ConfigError
from glyphgen.model.config import DataConfig, ModelConfig
from glyphgen.model.data import batches, window

SMALL = [
    "scene.width=256",
    "scene.height=128",
    "scene.regions=[1,1]",
    "layout.lines=[1,1]",
    "layout.curve_prob=0",
    "text.length=[2,4]",
]


def _check_aligned(batch):
    glyph = batch["glyph"].numpy()[:, 0]
    position = batch["position"].numpy()[:, 0]
    edit = batch["edit"].numpy()[:, 0]
    for g, p, e in zip(glyph, position, edit, strict=True):
        assert g.sum() > 0
        near = cv2.dilate((p > 0).astype(np.uint8), np.ones((5, 5), np.uint8))
        assert (g * near).sum() / g.sum() >= 0.98  # the glyphs lie on the line's polygon
        assert ((p > 0) <= (e > 0)).all()  # and the edit mask covers the polygon


def test_factory_crops_are_aligned_in_rows_and_columns(fonts):
    cfg = ModelConfig(height=32, width=128)
    data = DataConfig(overrides=SMALL, vertical=0.5)
    seen = set()
    for batch in batches(data, cfg, 2, fonts):
        shape = tuple(batch["image"].shape[2:])
        assert shape == ((128, 32) if batch["vertical"] else (32, 128))
        _check_aligned(batch)
        seen.add(batch["vertical"])
        if len(seen) == 2:
            break


def test_factory_batches_replay_from_the_resume_point(fonts):
    cfg = ModelConfig(height=32, width=128)
    data = DataConfig(overrides=SMALL)
    first = next(batches(data, cfg, 2, fonts))
    again = next(batches(data, cfg, 2, fonts))
    assert first["texts"] == again["texts"] and (first["image"] == again["image"]).all()
    later = next(batches(data, cfg, 2, fonts, start=first["next"]))
    assert later["texts"] != first["texts"]


def test_webdataset_shards_from_the_factory(tmp_path, fonts):
    out = tmp_path / "wds"
    args = ["synth", "--preset", "scenes-diffusion", "--num", "4", "--format", "wds"]
    args += ["--out", str(out), "--workers", "1", "--quiet"] + [f"--set={s}" for s in SMALL]
    assert main(args) == 0
    data = DataConfig(source="wds", shards=[str(out / "shards" / "*" / "data.tar")])
    batch = next(batches(data, ModelConfig(height=32, width=128), 2, fonts))
    _check_aligned(batch)


def test_anyword_json_gets_its_glyphs_drawn(tmp_path, fonts):
    img = np.full((100, 200, 3), 230, np.uint8)
    cv2.putText(img, "x", (10, 50), cv2.FONT_HERSHEY_SIMPLEX, 1, (0, 0, 0), 2)
    Image.fromarray(img).save(tmp_path / "a.png")
    doc = {
        "data_root": str(tmp_path),
        "data_list": [
            {
                "img_name": "a.png",
                "caption": "",
                "annotations": [
                    {"polygon": [[20, 30], [180, 30], [180, 70], [20, 70]], "text": "开业大吉"},
                    {"polygon": [[5, 5], [30, 5], [30, 95], [5, 95]], "text": "书店"},
                ],
            }
        ],
    }
    (tmp_path / "any.json").write_text(json.dumps(doc, ensure_ascii=False))
    data = DataConfig(source="anyword", annotations=str(tmp_path / "any.json"), vertical=0.5)
    batch = next(batches(data, ModelConfig(height=32, width=128), 1, fonts))
    _check_aligned(batch)


def test_window_centres_the_line_and_keeps_it_inside():
    poly = np.array([[10, 10], [110, 10], [110, 30], [10, 30]], float)
    _, rect, _ = window(poly, False, 64, 0.5, 256)
    x0, y0, x1, y1 = rect
    assert (y1 - y0) == pytest.approx(32) and (x0 + x1) / 2 == pytest.approx(128)
    long = np.array([[0, 0], [1000, 0], [1000, 20], [0, 20]], float)
    _, (x0, _, x1, _), _ = window(long, False, 64, 0.5, 256)
    assert x0 >= 0 and x1 <= 256  # a long line is shrunk into the window


def test_unknown_config_keys_are_rejected_with_the_valid_ones(tmp_path):
    with pytest.raises(ConfigError, match="valid keys"):
        tiny_config(tmp_path, "model.colour=red")
    with pytest.raises(ConfigError, match="bundled configs"):
        from glyphgen.model.config import load_train_config

        load_train_config("no-such-config")


def test_an_edit_pair_is_learnt_from_a_scene_and_a_reference_showing_a_never_b(fonts):
    """Factory edit pairs (edit.pairs=true): the model sees A's scene outside the edit mask
    and learns B's; its style reference is A's region, as a user gives it, never B's."""
    data = DataConfig(overrides=[*SMALL, "edit.pairs=true"], style_ref_prob=1.0)
    batch = next(batches(data, ModelConfig(height=32, width=128), 4, fonts))
    image, source = batch["image"].numpy(), batch["source"].numpy()
    edit = batch["edit"].numpy() > 0  # (B, 1, H, W)
    assert not np.allclose(image, source)  # A where B is
    assert np.abs(image - source)[~np.broadcast_to(edit, image.shape)].mean() < 0.01
    assert np.allclose(batch["style_ref"].numpy(), source)
    _check_aligned(batch)
