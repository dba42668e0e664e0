"""The try-it page: request checks, the HTTP API on a tiny trained model, and the page
itself in headless Chromium (drag, type, render, screenshot)."""

import base64
import io
import json
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image, ImageFile

from glyphgen.paths import data_path
from glyphgen.web.browser import find_chromium
from glyphgen.web.server import serve
from glyphgen.web.studio import (
    AskError,
    Studio,
    decode_image,
    parse_ask,
    preset_backgrounds,
    weights_label,
)


@pytest.fixture(scope="module")
def studio(trained):
    return Studio(trained)


@pytest.fixture(scope="module")
def server(studio):
    srv = serve(studio, port=0)
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def post(url, payload, raw=None):
    data = raw if raw is not None else json.dumps(payload).encode()
    req = urllib.request.Request(url + "/api/render", data=data, method="POST")
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=120) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def png(data_url):
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))))


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"box": [10, 10, 200, 60]}, "text:"),
        ({"text": "  ", "box": [10, 10, 200, 60]}, "text:"),
        ({"text": "字" * 25, "box": [10, 10, 200, 60]}, "at most 24"),
        # the page draws and judges one line: a line break would leave line 2 unjudged
        ({"text": "开业\n大吉", "box": [10, 10, 200, 60]}, "one line only"),
        ({"text": "开\t业", "box": [10, 10, 200, 60]}, "U\\+0009"),
        ({"text": "开业", "box": [10, 10, 200]}, "box:"),
        ({"text": "开业", "box": [10, 10, 700, 60]}, "outside the 640x360"),
        ({"text": "开业", "box": [10, 10, 15, 60]}, "at least 12 pixels"),
        ({"text": "开业", "box": [10, 10, 200, 60], "seed": -1}, "seed:"),
        ({"text": "开业", "box": [10, 10, 200, 60], "seed": 2**70}, "seed:"),
        ({"text": "开业", "box": [10, 10, 200, 60], "vertical": "no"}, "vertical:"),
        ({"text": "开业", "box": [10, 10, float("nan"), 60]}, "not finite"),
        ({"text": "开业", "box": [10, 10, 200, float("inf")]}, "not finite"),
        # 640x12 is 53:1: the model's crop would be 53 times its height (34 s at 170:1)
        ({"text": "开业", "box": [0, 0, 640, 12]}, "at most 24:1"),
        ({"text": "开业", "box": [0, 0, 13, 340]}, "at most 24:1"),
        ({"text": "开业", "box": [10, 10, 200, 60], "color": "red"}, "color: 'red' is not"),
        ({"text": "开业", "box": [10, 10, 200, 60], "color": [255, 0]}, "color: .* is not"),
        ({"text": "开业", "box": [10, 10, 200, 60], "color": 255}, "color: 255 is not"),
        ({"text": "开业", "box": [10, 10, 200, 60], "color": "#" * 10**5}, r"^color: .{,200}$"),
    ],
)
def test_bad_requests_name_the_field_and_the_fix(payload, field):
    with pytest.raises(AskError, match=field):
        parse_ask(payload, (640, 360))


def test_a_dragged_box_is_ordered_and_kept():
    ask = parse_ask({"text": " 开业 ", "box": [200, 60, 10, 10], "vertical": True}, (640, 360))
    assert ask.text == "开业" and ask.box == (10, 10, 200, 60) and ask.vertical


def test_a_colour_is_optional_and_read_as_the_command_line_reads_it():
    ask = {"text": "开业", "box": [10, 10, 200, 60]}
    assert parse_ask(ask, (640, 360)).colour is None
    assert parse_ask({**ask, "color": ""}, (640, 360)).colour is None  # the page's "auto"
    assert parse_ask({**ask, "color": "#C00010"}, (640, 360)).colour == (192, 0, 16)
    assert parse_ask({**ask, "color": [1, 2, 3]}, (640, 360)).colour == (1, 2, 3)


@pytest.fixture
def colours_seen(monkeypatch):
    """The ``colours`` of every ``render_regions`` call from here on (the studio, and the
    server's threads, run in this process); the calls themselves go through."""
    import glyphgen.model.render as render

    seen = []
    real = render.render_regions

    def spy(*args, **kwargs):
        seen.append(kwargs.get("colours"))
        return real(*args, **kwargs)

    monkeypatch.setattr(render, "render_regions", spy)
    return seen


def test_a_chosen_colour_reaches_the_model_and_the_draft(studio, colours_seen):
    # one draw each (verification would draw again, with the same colours)
    payload = {"background": "preset:paper", "box": [160, 120, 480, 200], "text": "开业"}
    payload["verify"] = False
    studio.render(payload)
    studio.render({**payload, "color": "#c00000"})
    first, second = colours_seen
    assert first is None  # left to the old text (none here) and the model
    assert second is not None and second.text == (192, 0, 0)


def test_a_box_up_to_24_to_1_is_taken():
    assert parse_ask({"text": "开业", "box": [0, 0, 480, 20]}, (640, 360)).box == (0, 0, 480, 20)


def test_an_upload_over_the_pixel_limit_is_refused_before_decoding(monkeypatch):
    buf = io.BytesIO()
    Image.new("1", (2100, 2100)).save(buf, format="PNG")
    data = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()

    def decoded(*args):
        raise AssertionError("the pixels were decoded before the size was checked")

    monkeypatch.setattr(ImageFile.ImageFile, "load", decoded)
    with pytest.raises(AskError, match=r"2100x2100.*at most 2048x2048"):
        decode_image(data)


def test_the_page_names_weights_without_the_disk_path(tmp_path):
    assert weights_label(data_path("weights", "glyph-default")) == "weights/glyph-default"
    assert weights_label(tmp_path / "run" / "weights") == "run/weights"


def test_uploads_must_be_readable_images():
    with pytest.raises(AskError, match="data:image"):
        decode_image("hello")
    with pytest.raises(AskError, match="not a readable image"):
        decode_image("data:image/png;base64," + base64.b64encode(b"not a png").decode())
    buf = io.BytesIO()
    Image.new("RGB", (30, 20), (1, 2, 3)).save(buf, format="PNG")
    image = decode_image("data:image/png;base64," + base64.b64encode(buf.getvalue()).decode())
    assert image.shape == (20, 30, 3) and tuple(image[0, 0]) == (1, 2, 3)


def test_render_api_draws_in_the_box_only_and_judges_it(server):
    box = [160, 120, 480, 200]
    status, out = post(server, {"background": "preset:paper", "box": box, "text": "开业大吉"})
    assert status == 200, out
    before = preset_backgrounds()["paper"].astype(int)
    after = png(out["image"]).astype(int)
    assert after.shape == before.shape
    diff = np.abs(after - before).sum(axis=2)
    inside = diff[box[1] : box[3], box[0] : box[2]]
    assert inside.mean() > 5  # the model drew in the box ...
    assert diff[:100].max() == 0 and diff[260:].max() == 0  # ... and nowhere far from it
    verdict = out["verdict"]
    assert verdict["judge"] == "PP-OCRv4" and verdict["target"] == "开业大吉"
    assert verdict["verdict"] in {"exact", "close", "wrong"}
    assert 0 <= verdict["ratio"] <= 1 and out["seconds"] > 0
    assert out["annotation"]["text"] == "开业大吉"
    # verified by default: what was read is what the annotation records
    assert 1 <= verdict["tries"] <= 4 and verdict["fallback"] in {None, "classical"}
    assert out["annotation"]["read"] == verdict["read"]


def test_the_page_can_ask_for_one_unverified_draw(server):
    ask = {"background": "preset:paper", "box": [160, 120, 480, 200], "text": "开业大吉"}
    status, out = post(server, {**ask, "verify": False})
    assert status == 200, out
    assert out["verdict"]["tries"] is None and "read" not in out["annotation"]
    status, out = post(server, {**ask, "verify": "yes"})
    assert status == 400 and "verify: 'yes' is not true or false" in out["error"]


def test_characters_beyond_ppocr_go_to_our_reader(server):
    # 丌 (GB2312 level 2) is not in PP-OCRv4's dictionary
    status, out = post(
        server,
        {
            "background": "preset:concrete",
            "box": [100, 40, 200, 320],
            "text": "丌山",
            "vertical": True,
        },
    )
    assert status == 200, out
    assert out["verdict"]["judge"] == "glyphgen reader"


def test_api_errors_are_json_with_a_message(server):
    status, out = post(server, {"background": "preset:nope", "box": [0, 0, 50, 50], "text": "a"})
    assert status == 400 and "presets:" in out["error"]
    status, out = post(server, {"background": "preset:paper", "box": [0, 0, 900, 50], "text": "a"})
    assert status == 400 and "outside" in out["error"]
    status, out = post(server, None, raw=b"{not json")
    assert status == 400 and "not JSON" in out["error"]
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(server + "/nothing", timeout=30)
    assert err.value.code == 404
    with urllib.request.urlopen(server + "/api/info", timeout=30) as res:
        info = json.loads(res.read())
    assert info["presets"] == list(preset_backgrounds())
    assert info["weights"].endswith("/weights") and not info["weights"].startswith("/")


def test_the_page_in_headless_chromium(server, tmp_path, colours_seen):
    pytest.importorskip("playwright", reason="pip install -e '.[dev]' brings playwright")
    if find_chromium() is None:
        pytest.skip("no Chromium: apt-get install chromium (.ci/run does)")
    from glyphgen.web.browser import try_page

    run = try_page(
        server, tmp_path / "page.png", text="开业大吉", preset="red signboard", colour="#ffd700"
    )
    # the page's colour picker reached every draw (verification may draw more than once)
    assert colours_seen and {c.text for c in colours_seen} == {(255, 215, 0)}
    assert run.verdict["v-target"] == "开业大吉"
    assert run.cjk_font  # the page brings its own CJK font: hanzi, not boxes
    assert "PP-OCRv4" in run.verdict["v-judge"]
    assert "draw" in run.verdict["v-tries"]  # verified (the box is ticked by default)
    assert run.badge_class.split()[-1] in {"exact", "close", "wrong"}
    # The screenshot check: the result image on the page is the signboard with text drawn
    # where the box was dragged, and untouched elsewhere.
    shot = Image.open(run.screenshot).convert("RGB")
    r = run.result_box
    shown = shot.crop(
        (
            round(r["x"]) + 1,
            round(r["y"]) + 1,
            round(r["x"] + r["width"]) - 1,
            round(r["y"] + r["height"]) - 1,
        )
    )
    board = Image.fromarray(preset_backgrounds()["red signboard"]).resize(shown.size)
    diff = np.abs(np.asarray(shown, int) - np.asarray(board, int)).sum(axis=2)
    h, w = diff.shape
    x0, y0, x1, y1 = run.drag
    inside = diff[round(y0 * h) : round(y1 * h), round(x0 * w) : round(x1 * w)]
    above = diff[: round(y0 * h) - 8]
    assert inside.mean() > 3 * max(above.mean(), 1.0), (inside.mean(), above.mean())


@pytest.mark.parametrize(
    ("ask", "message"),
    [
        ({"text": "开业😀", "box": [160, 120, 480, 200]}, "text: no font here can draw 😀"),
        (
            {"text": "开业大吉" * 6, "box": [160, 120, 260, 132]},
            "box: the text would be 4.0 px a character in this box, too small to read; drag "
            "a box of at least 252x12 pixels",
        ),
    ],
)
def test_the_pages_errors_speak_of_the_page(studio, ask, message):
    with pytest.raises(AskError) as exc:
        studio.render({"background": "preset:paper", **ask})
    assert message in str(exc.value) and "--" not in str(exc.value)


def test_serve_names_a_missing_font_folder(trained, tmp_path, capsys):
    from glyphgen.cli import main

    argv = ["serve", "--weights", str(trained), "--font-dir", str(tmp_path / "missing")]
    assert main([*argv, "--port", "0"]) == 2
    assert f"--font-dir: font folder {tmp_path / 'missing'} does not exist" in (
        capsys.readouterr().err
    )
