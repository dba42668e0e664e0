"""Upper bounds on the sizes a synth config or flag can set (``glyphgen.limits``): refused by
name at config load, exit 2, before a folder is made or a pixel allocated."""

import pytest

from glyphgen import limits
from glyphgen.cli import main
from glyphgen.synth.config import load_config
from glyphgen.synth.render import Renderer
from glyphgen.synth.runner import default_workers, load_fonts
from glyphgen.synth.text import MIX_MAX_EXTRA
from glyphgen.typeset.glyphs import GlyphCache


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # the probes of issue 34: 11.7 GB, DecompressionBombError, OSError, ArrayMemoryError
        (["--set", "line.height=5000"], "config.line: height must be <= 512, got 5000"),
        (["--set", "line.height=100000"], "config.line: height must be <= 512, got 100000"),
        (
            ["--preset", "scenes-det", "--set", "scene.width=20000", "--set", "scene.height=20000"],
            "config.scene: width must be <= 16,384, got 20000",
        ),
        (
            ["--preset", "scenes-det", "--set", "scene.width=8000", "--set", "scene.height=8000"],
            "config.scene: width x height must be <= 9,437,184, got 64000000",
        ),
        (["--preset", "scenes-det", "--set", "scene.font_size=[20, 5000]"], "font_size must be"),
        (["--preset", "scenes-det", "--set", "scene.regions=[1, 1000]"], "regions must be"),
        (["--preset", "scenes-det", "--set", "layout.lines=[1, 100]"], "lines must be"),
        (["--preset", "scenes-det", "--set", "scene.max_tries=10000000"], "max_tries must be"),
        (["--set", "text.length=[2, 100000]"], "config.text: text.length must be <= 256"),
        (["--set", "text.source=coverage", "--set", "text.min_count=10000000"], "min_count"),
        (["--set", "effects.blur=[1, 10000]"], "config.effects: blur must be"),
        (["--set", "style.shadow_blur=[1, 10000]"], "config.style: shadow_blur must be"),
        (["--set", "style.stroke_width=[0.1, 100]"], "config.style: stroke_width must be"),
        (["--set", "layout.spacing=[0, 100]"], "config.layout: spacing must be"),
        (["--set", "background.max_pixels=1000000000000"], "max_pixels must be <= 100,000,000"),
        (["--num", "1000000000000"], "num must be <= 1,000,000,000, got 1000000000000"),
        (["--num", "1000000", "--set", "output.shard_size=1"], "raise output.shard_size"),
        (["--set", "output.shard_size=100000000"], "shard_size must be <= 100,000"),
        # each size within its bound, together over the pixels of one image
        (
            ["--set", "line.height=512", "--set", "text.length=[2, 200]"],
            "line images: 211 characters (text.length plus what text.mix adds) at line.height",
        ),
    ],
)
def test_sizes_over_their_bound_are_refused_before_anything_is_made(
    tmp_path, capsys, args, message
):
    out = tmp_path / "o"
    # the probe's own --num, when it has one, comes last and wins
    assert main(["synth", "--quiet", "--num", "2", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert "Traceback" not in err
    assert not out.exists()


def test_more_local_workers_than_the_cores_can_use_are_refused(tmp_path, capsys):
    many = limits.WORKERS_PER_CORE * default_workers() + 1
    out = tmp_path / "o"
    assert main(["synth", "--quiet", "--workers", str(many), "--num", "2", "--out", str(out)]) == 2
    assert f"--workers must be at most {many - 1} with" in capsys.readouterr().err
    assert not out.exists()


def test_every_preset_is_within_the_bounds():
    from glyphgen.synth.config import preset_names

    for name in preset_names():
        load_config(preset=name)
    # the largest line the bounds allow at the default text length still loads
    load_config(preset="lines", overrides=[f"line.height={limits.MAX_LINE_HEIGHT}"])


def test_the_line_width_bound_holds_for_drawn_lines():
    """The config check reads the widest crop from the sizes alone: drawn lines stay inside."""
    sets = [
        "line.height=24",
        "text.source=random",
        "text.length=[30, 30]",
        "layout.vertical=0.5",
        "layout.curve_prob=0.3",
        "layout.angle_prob=0.5",
        "layout.angle=[-20, 20]",
        "layout.spacing=[0.5, 0.5]",
        "text.mix={digits: 1.0, latin: 1.0, punct: 1.0}",
    ]
    cfg = load_config(preset="lines", overrides=sets)
    renderer = Renderer(cfg, load_fonts(cfg))
    bound = limits.line_image_width(24, 30 + MIX_MAX_EXTRA, 0.5, cfg.line.margin[1])
    sides = [max(s.width, s.height) for i in range(12) if (s := renderer.render(i))]
    assert sides and max(sides) <= bound


def test_the_glyph_cache_is_bounded_in_bytes():
    from glyphgen.typeset.fonts import FontLibrary

    lib = FontLibrary.load([])
    face = lib.canonical()
    cache = GlyphCache(lambda _f, size: lib.pil_font(face, size), max_bytes=200_000)
    for ch in "永和九年岁在癸丑暮春之初":
        cache.get(face.id, 200, ch)
    held = sum(g.bitmap.nbytes for g in cache._items.values())
    assert 0 < held <= 200_000 and len(cache._items) < 12
