"""The glyph model reads images through glyphgen.images.open_image: a bad one is a named,
one-line refusal, never a traceback or a silently grey-padded picture."""

import io
import json

import numpy as np
import pytest
from PIL import Image

from glyphgen.cli import main
from glyphgen.images import ImageRefused
from glyphgen.model.data import anyword_scenes


def _truncated_jpeg(path):
    """The first half of a noisy 64x64 JPEG: PIL opens it, decoding runs out of data."""
    buf = io.BytesIO()
    noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(buf, format="JPEG")
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    return path


@pytest.mark.parametrize("flag", ["--background", "--style-ref"])
def test_a_truncated_render_input_is_a_one_line_error(tmp_path, capsys, flag):
    weights = tmp_path / "weights"  # never loaded: inputs are checked first
    weights.mkdir()
    (weights / "model_index.json").write_text("{}")
    good = tmp_path / "good.png"
    Image.new("RGB", (256, 64), (240, 240, 240)).save(good)
    cut = _truncated_jpeg(tmp_path / "cut.jpg")
    inputs = {"--background": good, "--style-ref": good, flag: cut}
    argv = ["render", "--weights", str(weights), "--text", "北京", "--out", str(tmp_path / "o.png")]
    assert main([*argv, *(str(v) for kv in inputs.items() for v in kv)]) == 2
    err = capsys.readouterr().err
    assert f"{cut} cannot be decoded" in err and "truncated" in err


def test_a_truncated_anyword_image_is_refused_by_name(tmp_path):
    _truncated_jpeg(tmp_path / "a.jpg")
    polygon = [[2, 2], [60, 2], [60, 20], [2, 20]]
    doc = {
        "data_list": [{"img_name": "a.jpg", "annotations": [{"polygon": polygon, "text": "书"}]}]
    }
    (tmp_path / "any.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ImageRefused, match=f"image {tmp_path / 'a.jpg'} cannot be decoded") as info:
        next(anyword_scenes(str(tmp_path / "any.json"), str(tmp_path)))
    assert info.value.kind == "truncated"
