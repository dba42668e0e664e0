"""`glyphgen render`'s numbers and its --batch mode.

Numbers are refused by argparse, by name, before anything loads; a batch file renders every
good line with one pipeline, reports each bad line by its number, and exits 1 if any failed.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from glyphgen.cli import main
from glyphgen.render import api
from glyphgen.render.jobs import job_from_record, read_batch
from glyphgen.render.regions import RenderError
from glyphgen.render.request import Sampling


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--steps", "0", "must be an integer >= 1, got '0'"),
        ("--steps", "-3", "must be an integer >= 1, got '-3'"),
        ("--steps", "2.5", "must be an integer, got '2.5'"),
        ("--strength", "1.5", "must be a number in [0, 1], got '1.5'"),
        ("--strength", "-0.1", "must be a number in [0, 1]"),
        ("--strength", "nan", "must be a finite number"),
        ("--seed", "-1", "must be an integer in [0, 2**63)"),
        ("--seed", str(2**63), "must be an integer in [0, 2**63)"),
        ("--color", "#c0000", 'must be "#RRGGBB" or "R,G,B"'),
        ("--color", "256,0,0", 'must be "#RRGGBB" or "R,G,B"'),
        ("--color", "red", 'must be "#RRGGBB" or "R,G,B"'),
    ],
)
def test_bad_numbers_are_refused_by_name(tmp_path, capsys, flag, value, message):
    out = tmp_path / "o.png"
    with pytest.raises(SystemExit) as exit_:
        main(["render", "--text", "北京", flag, value, "--out", str(out)])
    assert exit_.value.code == 2
    assert f"argument {flag}: {message}" in capsys.readouterr().err
    assert not out.exists()


def test_help_shows_the_shipped_defaults(capsys):
    from glyphgen.paths import data_path

    index = json.loads(data_path("weights", "glyph-default", "model_index.json").read_text())
    with pytest.raises(SystemExit):
        main(["render", "--help"])
    help_ = " ".join(capsys.readouterr().out.split())
    assert f"default_steps, {index['default_steps']} for the shipped weights" in help_


def test_the_pipeline_refuses_steps_outside_its_schedule(trained):
    import torch

    from glyphgen.model.pipeline import GlyphPipeline

    pipe = GlyphPipeline.from_pretrained(trained)
    glyph = torch.zeros(1, 1, 64, 256)
    for steps in (0, -3, 1001):
        with pytest.raises(ValueError, match=r"steps must be in \[1, 1000\]"):
            pipe(["字"], glyph, glyph, num_inference_steps=steps)


# -- batch lines ---------------------------------------------------------------------------
BASE = Path("/batch")  # the batch file's folder


def job(record, defaults=None):
    return job_from_record(record, BASE, defaults or Sampling())


def test_a_line_names_its_flags_and_paths_are_relative_to_the_file():
    j = job({"text": "北京", "out": "o/a.png", "background": "bg.jpg", "style_ref": "s.png"})
    r = j.request
    assert (r.texts, j.out, r.background, r.style_ref) == (
        ("北京",),
        BASE / "o/a.png",
        BASE / "bg.jpg",
        BASE / "s.png",
    )
    assert r.regions == () and not r.vertical


def test_a_colour_is_hex_a_flags_string_or_a_json_list():
    for value in ("#c00000", "C00000", "192, 0,0", [192, 0, 0]):
        assert job({"text": "一", "out": "a.png", "color": value}).request.color == (192, 0, 0), (
            value
        )
    assert job({"text": "一", "out": "a.png"}).request.color is None


def test_regions_as_the_flags_string_a_box_or_points():
    box = [[1, 2], [11, 2], [11, 7], [1, 7]]
    for record in (
        {"region": "1,2,11,7"},
        {"region": ["1,2,11,7"]},
        {"box": [1, 2, 11, 7]},
        {"box": [[1, 2, 11, 7]]},
        {"points": box},
        {"points": [box]},
    ):
        (polygon,) = job({"text": "一", "out": "a.png", **record}).request.regions
        assert polygon.tolist() == box, record
    two = job({"text": ["一", "二"], "out": "a.png", "box": [[0, 0, 9, 9], [0, 10, 9, 19]]})
    assert len(two.request.regions) == 2 and two.request.texts == ("一", "二")


def test_sampling_defaults_come_from_the_flags_unless_the_line_sets_them():
    flags = Sampling(seed=5, steps=4, strength=None)
    j = job({"text": "一", "out": "a.png", "steps": 2, "strength": 0.5}, flags)
    assert j.request.sampling == Sampling(seed=5, steps=2, strength=0.5)
    j = job({"text": "一", "out": "a.png", "draft": "glyph"}, flags)
    assert j.request.sampling == Sampling(seed=5, steps=4, strength=None, draft="glyph")


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"out": "a.png"}, 'no "text"'),
        ({"text": "一"}, 'no "out"'),
        ({"text": "一", "out": "a.png", "colour": 1}, "unknown key(s) colour; valid keys: text"),
        ({"text": "一", "out": "a.png", "steps": 0}, "steps: must be an integer >= 1, got 0"),
        ({"text": "一", "out": "a.png", "steps": True}, "steps: must be an integer"),
        ({"text": "一", "out": "a.png", "strength": 2}, "strength: must be a number in [0, 1]"),
        ({"text": "一", "out": "a.png", "seed": -1}, "seed: must be an integer in [0, 2**63)"),
        ({"text": "一", "out": "a.png", "draft": "ink"}, "draft: must be one of glyph, classical"),
        ({"text": "一", "out": "a.png", "vertical": "yes"}, "vertical: must be true or false"),
        ({"text": "一", "out": "a.png", "color": [0, 0]}, 'color: must be "#RRGGBB"'),
        ({"text": "一", "out": "a.png", "color": [0, 0, True]}, 'color: must be "#RRGGBB"'),
        ({"text": [], "out": "a.png"}, "text: must be a string or a non-empty list"),
        ({"text": "一", "out": 3}, "out: must be a path"),
        ({"text": "一", "out": "a.png", "box": [0, 0, 9]}, "is not [x0, y0, x1, y1]"),
        ({"text": "一", "out": "a.png", "box": [9, 0, 0, 9]}, "x0 < x1"),
        ({"text": "一", "out": "a.png", "points": [[0, 0], [1, 1]]}, "is not 4 points"),
        ({"text": "一", "out": "a.png", "box": [0, 0, "9", 9]}, "other than numbers"),
        ({"text": "一", "out": "a.png", "box": [0, 0, 9, 9], "region": "0,0,9,9"}, "not region"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_a_bad_line_is_refused_by_name(record, message):
    with pytest.raises(ValueError) as exc:
        job(record)
    assert message in str(exc.value)


def test_read_batch_numbers_lines_and_refuses_shared_outputs(tmp_path):
    path = tmp_path / "edits.jsonl"
    lines = [
        '{"text": "一", "out": "a.png"}',
        "",
        "not json",
        '{"text": "二", "out": "a.png"}',
        '{"text": "三", "out": "b.png", "box": [0, 0, 9]}',
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    jobs = read_batch(path, Sampling())
    assert [n for n, _ in jobs] == [1, 3, 4, 5]
    assert jobs[0][1].out == tmp_path / "a.png"
    errors = [str(j) for _, j in jobs[1:]]
    assert "not JSON" in errors[0]
    assert "is line 1's too" in errors[1]
    assert isinstance(jobs[3][1], RenderError)


# -- batch end to end ----------------------------------------------------------------------
def test_a_batch_renders_the_good_lines_with_one_pipeline(trained, tmp_path, capsys, monkeypatch):
    Image.fromarray(np.full((120, 300, 3), 200, np.uint8)).save(tmp_path / "bg.png")
    lines = [
        {"text": "北京", "out": "out/a.png", "background": "bg.png", "box": [20, 30, 280, 90]},
        {"text": "北京", "out": "out/b.png", "steps": -3},
        {"text": "北京\U000e01ef", "out": "out/c.png"},
        {"text": "上海", "out": "out/d.png", "background": "missing.png"},
        {"text": ["一", "二"], "out": "out/e.png", "box": [[0, 0, 60, 30], [0, 40, 60, 70]]},
    ]
    batch = tmp_path / "edits.jsonl"
    batch.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines))
    loads = []
    load = api.load_pipeline
    monkeypatch.setattr(api, "load_pipeline", lambda w: loads.append(w) or load(w))

    code = main(["render", "--weights", str(trained), "--batch", str(batch), "--steps", "1"])

    assert code == 1
    assert len(loads) == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "a.json",
        "a.png",
        "e.json",
        "e.png",
    ]
    record = json.loads((tmp_path / "out" / "e.json").read_text())
    assert [t["text"] for t in record["texts"]] == ["一", "二"]
    captured = capsys.readouterr()
    err = captured.err
    assert f"{batch} line 2: steps: must be an integer >= 1, got -3" in err
    assert f"{batch} line 3: region 0: no font covers" in err
    assert f"{batch} line 4: image background {tmp_path / 'missing.png'} does not exist" in err
    assert "2 of 5 job(s) rendered, 3 failed" in captured.out


def test_a_clean_batch_exits_0_and_per_image_flags_are_refused(trained, tmp_path, capsys):
    batch = tmp_path / "edits.jsonl"
    batch.write_text('{"text": "北京", "out": "a.png"}\n', encoding="utf-8")
    argv = ["render", "--weights", str(trained), "--batch", str(batch), "--steps", "1"]
    assert main([*argv, "--text", "上海", "--vertical"]) == 2
    assert "--text, --vertical cannot go with --batch" in capsys.readouterr().err
    assert main(argv) == 0
    assert (tmp_path / "a.png").is_file() and (tmp_path / "a.json").is_file()


def _shop_sign(path: Path) -> Image.Image:
    """A red sign reading 新年快乐 in yellow at (70, 45), 64 px; saved to ``path``."""
    from PIL import ImageDraw, ImageFont

    from glyphgen.paths import data_path

    shop = Image.new("RGB", (400, 160), (200, 40, 40))
    font = ImageFont.truetype(str(data_path("fonts", "wenkai.ttf")), 64)
    ImageDraw.Draw(shop).text((70, 45), "新年快乐", font=font, fill=(250, 220, 60))
    shop.save(path)
    return shop


def test_classical_replaces_the_old_text_without_loading_a_model(tmp_path, monkeypatch):
    """--classical needs no weights: the old yellow text is gone, the new one is drawn in its
    colour inside the region, and the annotation says what was drawn where."""
    shop = _shop_sign(tmp_path / "shop.png")
    monkeypatch.setattr(api, "load_pipeline", lambda w: pytest.fail("--classical loaded the model"))
    out = tmp_path / "edited.png"
    args = ["render", "--classical", "--background", str(tmp_path / "shop.png")]
    args += ["--region", "60,40,340,120", "--text", "开业大吉", "--out", str(out)]
    args += ["--weights", str(tmp_path / "no-weights")]
    assert main(args) == 0
    edited = np.asarray(Image.open(out).convert("RGB")).astype(int)
    before = np.asarray(shop).astype(int)
    outside = np.ones(edited.shape[:2], bool)
    outside[40:120, 60:340] = False
    assert (edited[outside] == before[outside]).all()
    yellow = (np.abs(edited - (250, 220, 60)).max(axis=2) < 40)[40:120, 60:340]
    assert yellow.sum() > 500  # B, in A's colour
    old_yellow = (np.abs(before - (250, 220, 60)).max(axis=2) < 40)[40:120, 60:340]
    assert (yellow != old_yellow).sum() > 500  # and not A's strokes left as they were
    record = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert [t["text"] for t in record["texts"]] == ["开业大吉"]


def test_a_given_colour_decides_the_classical_edits_colour(tmp_path):
    """--color overrides the old text's colour: the new text is blue, not A's yellow."""
    _shop_sign(tmp_path / "shop.png")
    out = tmp_path / "blue.png"
    args = ["render", "--classical", "--background", str(tmp_path / "shop.png")]
    args += ["--region", "60,40,340,120", "--text", "开业大吉", "--color", "#1040e0"]
    assert main([*args, "--out", str(out)]) == 0
    edited = np.asarray(Image.open(out).convert("RGB")).astype(int)[40:120, 60:340]
    blue = np.abs(edited - (16, 64, 224)).max(axis=2) < 40
    yellow = np.abs(edited - (250, 220, 60)).max(axis=2) < 40
    assert blue.sum() > 500 and yellow.sum() < 50


def test_known_colours_reach_the_model_as_its_style_attributes(trained, fonts, monkeypatch):
    """As in training (glyphgen.model.data): fill r, g, b in [0, 1], stroke and shadow
    flags. A given colour wins over the style reference's; with neither, none are given."""
    import torch

    from glyphgen.edit.classical import TextColours
    from glyphgen.model.pipeline import GlyphPipeline
    from glyphgen.model.render import RegionRequest, render_regions
    from glyphgen.render.regions import parse_region

    pipe = GlyphPipeline.from_pretrained(trained)
    pipe.set_progress_bar_config(disable=True)
    seen = []
    call = GlyphPipeline.__call__

    def spy(self, *args, **kwargs):
        seen.append(kwargs.get("style_attributes"))
        return call(self, *args, **kwargs)

    monkeypatch.setattr(GlyphPipeline, "__call__", spy)
    canvas = np.full((96, 320, 3), 128, np.uint8)
    request = [RegionRequest("北京", parse_region("20,20,300,76"))]
    reference = np.full((48, 160, 3), 240, np.uint8)
    reference[12:36, 20:140] = (200, 20, 20)  # a red bar on white: the reference's "text"
    for kwargs in (
        {"colours": TextColours((0, 51, 255))},
        {"colours": TextColours((0, 51, 255)), "style_ref": reference},
        {"style_ref": reference},
        {},
    ):
        render_regions(pipe, canvas, request, fonts, steps=1, **kwargs)
    given, given_over_ref, from_ref, none = seen
    assert torch.allclose(given, torch.tensor([[0.0, 0.2, 1.0, 0.0, 0.0]]))
    assert torch.equal(given_over_ref, given)
    assert from_ref[0, 0] > 0.6 and from_ref[0, 1:3].max() < 0.2  # red, from the reference
    assert none is None
