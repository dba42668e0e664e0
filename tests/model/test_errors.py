"""Loud, precise errors for bad render input and missing weights."""

import numpy as np
import pytest
from PIL import Image

from glyphgen.cli import main
from glyphgen.render import api
from glyphgen.render.regions import RenderError, parse_region


def test_no_weights_says_where_they_go_and_how_to_get_them(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(api, "DEFAULT_WEIGHTS", tmp_path / "nothing")
    assert main(["render", "--text", "宁静致远", "--out", str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "nothing") in err and "glyphgen train" in err and "--weights" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--text", " "], "text is empty"),
        (["--text", "北京\U000e01ef"], "U+E01EF"),
        (["--text", "北京", "--region", "0,0,900,40"], "outside the 120x300"),
        (["--text", "北京", "--region", "10,10,5,40"], "x0 < x1"),
        (["--text", "北京", "--text", "上海"], "as many regions"),
    ],
)
def test_bad_input_is_refused_before_generating(trained, tmp_path, capsys, args, message):
    weights = trained
    bg = tmp_path / "bg.png"
    Image.fromarray(np.zeros((300, 120, 3), np.uint8)).save(bg)
    argv = [
        "render",
        "--weights",
        str(weights),
        "--background",
        str(bg),
        "--out",
        str(tmp_path / "o.png"),
    ]
    assert main(argv + args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()


def test_region_forms():
    box = parse_region("1,2,11,7")
    assert box.tolist() == [[1, 2], [11, 2], [11, 7], [1, 7]]
    quad = parse_region("0,0,10,1,10,6,0,5")
    assert quad.shape == (4, 2)
    with pytest.raises(RenderError, match="8 numbers"):
        parse_region("1,2,3")
