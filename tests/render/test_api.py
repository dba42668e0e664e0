"""The one entry point of a render (``glyphgen.render``): a request checked where it is made,
drawn by a ``Renderer``, its result the one place the JSON comes from."""

import json
import subprocess
import sys

import numpy as np
import pytest

from glyphgen.render import Renderer, RenderError, RenderRequest, Sampling, api


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": 0}, "steps: must be an integer >= 1, got 0"),
        ({"strength": 1.5}, "strength: must be a number in [0, 1], got 1.5"),
        ({"strength": float("nan")}, "strength: must be a finite number"),
        ({"draft": "ink"}, "draft: must be one of glyph, classical, got 'ink'"),
        ({"seed": -1}, "seed: must be an integer in [0, 2**63)"),
    ],
)
def test_sampling_is_refused_by_name_where_it_is_made(kwargs, message):
    with pytest.raises(RenderError) as exc:
        Sampling(**kwargs)
    assert message in str(exc.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"texts": []}, "text: must be a string or a non-empty list"),
        ({"texts": ["一"], "regions": ["10,10,5,40"]}, "x0 < x1"),
        ({"texts": ["一"], "regions": [[0, 0, np.nan, 9]]}, "finite"),
        ({"texts": ["一"], "color": "red"}, 'color: must be "#RRGGBB"'),
        ({"texts": ["一"], "vertical": "yes"}, "vertical: must be true or false"),
    ],
)
def test_a_request_is_refused_by_name_where_it_is_made(kwargs, message):
    with pytest.raises(RenderError) as exc:
        RenderRequest(**kwargs)
    assert message in str(exc.value)


@pytest.fixture
def no_model(monkeypatch):
    monkeypatch.setattr(api, "load_pipeline", lambda w: pytest.fail("the model was loaded"))


def test_a_python_caller_gets_regions_and_the_json_they_write(fonts, tmp_path, no_model):
    background = np.full((120, 400, 3), 230, np.uint8)
    request = RenderRequest(
        ["开业", "大吉"],
        ["20,10,380,50", [20, 60, 380, 100]],
        background=background,
        classical=True,
    )
    result = Renderer(tmp_path / "no-weights", fonts=fonts).render(request)
    assert [r.text for r in result.regions] == ["开业", "大吉"]
    assert result.sampling == Sampling(strength=0.0, draft="classical")
    (top,) = result.regions[0].entries()
    assert top["region"] == 0 and [c["char"] for c in top["chars"]] == ["开", "业"]
    xs, ys = zip(*top["polygon"], strict=True)
    assert 20 <= min(xs) < max(xs) <= 380 and 10 <= min(ys) < max(ys) <= 50
    assert (result.image[10:50, 20:380] < 128).any()  # drawn dark on the light surface
    ann = result.write(tmp_path / "o.png")
    assert json.loads(ann.read_text(encoding="utf-8")) == result.record("o.png")


def test_strength_0_draws_the_glyph_draft_without_the_model(fonts, tmp_path, no_model):
    request = RenderRequest(["北京"], sampling=Sampling(strength=0, draft="glyph"))
    result = Renderer(tmp_path / "no-weights", fonts=fonts).render(request)
    (entry,) = result.regions[0].entries()
    assert entry["text"] == "北京" and len(entry["chars"]) == 2
    assert result.image.min() == 0  # black ink on the light paper


def test_strength_0_loads_no_model_with_the_weights_default_draft(tmp_path):
    """The draft left to the weights is read from their model_index.json; torch is never
    imported (the model took 20 s to load here, for nothing)."""
    out = tmp_path / "o.png"
    code = (
        "import sys\nfrom glyphgen.cli import main\n"
        f"code = main(['render', '--text', '北京', '--strength', '0', '--out', {str(out)!r}])\n"
        "print(code, 'torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split()[-2:] == ["0", "False"], done.stderr
    record = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert len(record["texts"][0]["chars"]) == 2


def test_the_classical_path_writes_what_the_model_path_writes(fonts, tmp_path):
    """The same keys per line, and the line's own polygon (where its glyphs stand), not the
    whole region."""
    request = RenderRequest(["北京"], ["10,10,390,70"], classical=True)
    (entry,) = Renderer(tmp_path, fonts=fonts).render(request).regions[0].entries()
    assert set(entry) == {"text", "polygon", "direction", "chars", "region", "style"}
    xs = [x for x, _ in entry["polygon"]]
    assert max(xs) - min(xs) < 200  # two characters 60 px tall, not the 380 px region


def _sign(fonts):
    """北京大学 in Noto Serif on paper, as the factory draws a line: (image, its quad)."""
    from glyphgen.synth.style import composite
    from glyphgen.typeset import geometry as geo
    from glyphgen.typeset.layout import layout_block, paint
    from glyphgen.typeset.line import glyph_cache

    block = layout_block(
        ["北京大学"], [["noto-serif-sc"] * 4], 56, False, 0.05, 0, "start", glyph_cache(fonts)
    )
    h = geo.translation(20, 20)
    image = np.full((100, 300, 3), 235, np.float32)
    composite(image, paint(block, h, (300, 100)), {"color": [120, 20, 20]})
    return np.round(image).astype(np.uint8), geo.apply(h, block.lines[0].polygon)


def test_the_classical_edit_records_the_old_texts_style(fonts, tmp_path):
    image, quad = _sign(fonts)
    request = RenderRequest(["上海东路"], [quad], image, classical=True, old_text="北京大学")
    result = Renderer(tmp_path, fonts=fonts).render(request)
    style = result.regions[0].style
    assert style is not None and style["face"] == "noto-serif-sc"
    (entry,) = result.record("out.png")["texts"]
    assert entry["style"]["fill"] == style["fill"]
    off = Renderer(tmp_path, fonts=fonts).render(
        RenderRequest(["上海东路"], [quad], image, classical=True, font="off")
    )
    assert off.regions[0].style["face"] == fonts.canonical().id


def test_a_font_file_or_face_id_is_drawn_in_and_a_bad_one_is_refused(fonts, tmp_path):
    from glyphgen.typeset.fonts import bundled_fonts_dir

    image, quad = _sign(fonts)
    renderer = Renderer(tmp_path, fonts=fonts)
    wenkai = bundled_fonts_dir() / "wenkai.ttf"  # held out: not in the train library
    by_file = renderer.render(
        RenderRequest(["上海东路"], [quad], image, classical=True, font=str(wenkai))
    )
    assert by_file.regions[0].style["face"] == "wenkai"
    by_id = renderer.render(
        RenderRequest(["上海东路"], [quad], image, classical=True, font="arphic-ukai")
    )
    assert by_id.regions[0].style["face"] == "arphic-ukai"
    with pytest.raises(RenderError, match="font: no face 'nope'; give auto, off"):
        renderer.render(RenderRequest(["上海"], [quad], image, classical=True, font="nope"))
    with pytest.raises(RenderError, match=r"font: font file .*missing\.ttf does not exist"):
        renderer.render(
            RenderRequest(
                ["上海"], [quad], image, classical=True, font=str(tmp_path / "missing.ttf")
            )
        )
    with pytest.raises(RenderError, match="old_text: 2 given for 1 region"):
        RenderRequest(["上海"], [quad], image, old_text=["一", "二"])


def test_the_render_command_takes_font_and_old_text(fonts, tmp_path):
    from PIL import Image

    image, quad = _sign(fonts)
    Image.fromarray(image).save(tmp_path / "sign.png")
    x0, y0 = quad.min(axis=0)
    x1, y1 = quad.max(axis=0)
    box = f"{x0:.0f},{y0:.0f},{x1:.0f},{y1:.0f}"
    base = [sys.executable, "-m", "glyphgen", "render", "--classical", "--text", "上海东路"]
    base += ["--background", str(tmp_path / "sign.png"), "--region", box]
    done = subprocess.run(
        [*base, "--old-text", "北京大学", "--out", str(tmp_path / "a.png")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    record = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert record["texts"][0]["style"]["face"] == "noto-serif-sc"
    bad = subprocess.run(
        [*base, "--font", "nope", "--out", str(tmp_path / "b.png")], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "font: no face 'nope'" in bad.stderr
