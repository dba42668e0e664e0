"""glyphgen render: line breaks make lines, other control characters and sizes past the
bounds are refused by name (exit 2) before anything is drawn, and it says what it is doing."""

import json

import numpy as np
import pytest

from glyphgen.cli import main
from glyphgen.limits import MAX_LINES_PER_REGION, MAX_REGIONS, MAX_TEXT_LENGTH, MIN_CHAR_PX
from glyphgen.render import RenderRequest

POEM = "春眠不觉晓\n处处闻啼鸟"


def render(tmp_path, *args):
    """``glyphgen render --classical ARGS --out tmp/o.png`` (no model): exit code."""
    return main(["render", "--classical", *args, "--out", str(tmp_path / "o.png")])


def lines_of(tmp_path):
    return json.loads((tmp_path / "o.json").read_text(encoding="utf-8"))["texts"]


def box(polygon):
    xs, ys = zip(*polygon, strict=True)
    return min(xs), min(ys), max(xs), max(ys)


def test_a_line_break_makes_two_lines_in_the_region(tmp_path):
    assert render(tmp_path, "--text", POEM, "--region", "20,20,380,140") == 0
    first, second = lines_of(tmp_path)
    assert (first["text"], second["text"]) == ("春眠不觉晓", "处处闻啼鸟")
    assert first["region"] == second["region"] == 0
    x0, y0, x1, y1 = box(first["polygon"])
    assert x0 >= 20 and x1 <= 380 and y0 >= 20 and y1 <= 80  # the top half
    x0, y0, x1, y1 = box(second["polygon"])
    assert x0 >= 20 and x1 <= 380 and y0 >= 80 and y1 <= 140  # the bottom half
    assert y1 - y0 > 50  # as large as its band allows: 60 px, not 30 (one line squeezed)
    assert [len(line["chars"]) for line in (first, second)] == [5, 5]


def test_columns_read_right_to_left(tmp_path):
    assert render(tmp_path, "--text", POEM, "--vertical", "--region", "20,20,140,380") == 0
    first, second = lines_of(tmp_path)
    assert box(first["polygon"])[0] >= 80 and box(second["polygon"])[2] <= 80


def test_lines_on_a_plain_canvas_each_as_large_as_the_other(tmp_path):
    assert render(tmp_path, "--text", "一二三四\n五") == 0
    first, second = lines_of(tmp_path)
    h1, h2 = (box(line["polygon"])[3] - box(line["polygon"])[1] for line in (first, second))
    assert abs(h1 - h2) < 1 and box(second["polygon"])[1] >= box(first["polygon"])[3] - 1


def test_a_crlf_and_breaks_at_the_ends_are_taken_as_lines(tmp_path):
    assert RenderRequest(["\n春眠\r\n处处\n"]).texts == ("春眠\n处处",)


@pytest.mark.parametrize(
    ("char", "named"),
    [
        ("\t", "U+0009 (a tab)"),
        ("\r", "U+000D (a carriage return)"),
        ("\x00", "U+0000 (a NUL)"),
        ("\x1b", "U+001B (an escape)"),
        ("\u2028", "U+2028 (a line separator)"),
        ("\x07", "U+0007 (a control character)"),
    ],
)
def test_other_control_characters_are_refused_by_name(tmp_path, capsys, char, named):
    assert render(tmp_path, "--text", f"春眠{char}处处") == 2
    assert named in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()


def test_a_blank_line_inside_a_text_is_refused(tmp_path, capsys):
    assert render(tmp_path, "--text", "春眠\n \n处处") == 2
    assert "region 0, line 2 of 3 is empty" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--text", "春" * 5000], f"5000 characters; at most {MAX_TEXT_LENGTH} in a line"),
        (
            ["--text", "\n".join("春" * (MAX_LINES_PER_REGION + 1))],
            f"at most {MAX_LINES_PER_REGION} in one region",
        ),
        (
            [
                "--text",
                "春",
                *[a for k in range(MAX_REGIONS + 1) for a in ("--region", f"0,{k},9,{k + 1}")],
            ],
            f"at most {MAX_REGIONS} regions in one render",
        ),
    ],
)
def test_sizes_past_the_bounds_are_refused_by_name(tmp_path, capsys, args, message):
    assert render(tmp_path, *args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()


def test_a_text_too_small_to_read_is_refused_with_the_size_it_needs(tmp_path, capsys):
    """200 characters in a 290x50 box would be 1.4 px each: a dotted line, not text."""
    background = tmp_path / "bg.png"
    from PIL import Image

    Image.fromarray(np.full((100, 400, 3), 240, np.uint8)).save(background)
    args = ["--background", str(background), "--region", "10,10,300,60", "--text", "春" * 200]
    assert render(tmp_path, *args) == 2
    err = capsys.readouterr().err
    assert "200 characters in 1 line(s) of a 290x50 px region would be 1.4 px each" in err
    assert f"under the {MIN_CHAR_PX} px" in err and "at least 2100x50 px" in err
    assert not (tmp_path / "o.png").exists()


def test_progress_lines_on_stderr_unless_quiet(tmp_path, capsys):
    assert render(tmp_path, "--text", POEM, "--text", "夜来", *["--region", "0,0,200,80"] * 2) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "glyphgen render: region 1 of 2, line 1 of 2",
        "glyphgen render: region 1 of 2, line 2 of 2",
        "glyphgen render: region 2 of 2",
    ]
    assert render(tmp_path, "--text", POEM, "--quiet") == 0
    assert capsys.readouterr().err == ""


def test_the_model_draws_each_line_and_says_it_is_loading(trained, tmp_path, capsys):
    out = tmp_path / "o.png"
    argv = ["render", "--weights", str(trained), "--steps", "1", "--strength", "1"]
    assert main([*argv, "--text", POEM, "--region", "4,4,300,124", "--out", str(out)]) == 0
    assert f"glyphgen render: loading the glyph model from {trained}" in capsys.readouterr().err
    texts = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))["texts"]
    assert [t["text"] for t in texts] == POEM.split("\n")
    # the region's halves meet at y = 64
    assert box(texts[0]["polygon"])[3] <= 64.5 and box(texts[1]["polygon"])[1] >= 63.5


def test_a_missing_font_folder_is_a_named_error(tmp_path, capsys):
    assert render(tmp_path, "--text", "北京", "--font-dir", str(tmp_path / "missing")) == 2
    assert f"--font-dir: font folder {tmp_path / 'missing'} does not exist" in (
        capsys.readouterr().err
    )


def test_a_character_no_font_has_is_named_with_the_flag_that_adds_fonts(tmp_path, capsys):
    assert render(tmp_path, "--text", "开业😀") == 2
    err = capsys.readouterr().err
    assert "no font covers '😀' (U+1F600)" in err and "--font-dir FOLDER" in err
