"""Model-drawn regions in the factory (``model_draw``): which regions are redrawn, what is kept,
what is counted, with a stand-in renderer (fast); the real glyph model and judge in one slow
run at the end."""

import json
from collections import Counter

import numpy as np
import pytest

from glyphgen.configio import ConfigError
from glyphgen.eval.backends import Reading, Recognizer
from glyphgen.eval.normalize import normalize
from glyphgen.render import RegionResult, RenderResult
from glyphgen.render.model_drawn import ModelDrawer
from glyphgen.synth.config import fingerprint_dict, load_config
from glyphgen.synth.render import Renderer

CLEAN = [
    "effects.blur_prob=0",
    "effects.noise_prob=0",
    "effects.jpeg_prob=0",
    "effects.light_prob=0",
    "output.image_format=png",
]
COUNTS = ("model_draw_kept", "model_draw_font", "model_draw_dropped", "model_draw_refused")


class FakeJudge(Recognizer):
    """Reads a stored line exactly when ``stored(target)``, else all but its last character."""

    name = "fake"

    def __init__(self, stored):
        self.stored = stored

    def recognize_for(self, crops, targets):
        return [Reading(t if self.stored(t) else t[:-1], 1.0, "fake") for t in targets]

    def recognize(self, crops):
        raise AssertionError("the read back gives the judge its targets")

    def charset(self):
        return None


class FakeRender:
    """Stands in for ``glyphgen.render.Renderer``: "draws" each region by inking its box grey
    (the model's geometry: the polygon moved by one pixel), and its judge reads a line
    exactly when ``reads(text, seed)``; a line not read took every try. On the finished
    sample its judge reads a line exactly when ``stored(text)``."""

    def __init__(self, reads, stored=lambda text: True):
        self.reads = reads
        self.requests = []
        self._judge = FakeJudge(stored)

    def judge(self):
        return self._judge

    def render(self, request):
        self.requests.append(request)
        image = request.background.copy()
        regions = []
        for k, (text, poly) in enumerate(zip(request.texts, request.regions, strict=True)):
            x0, y0 = np.floor(poly.min(axis=0)).astype(int).clip(0)
            x1, y1 = np.ceil(poly.max(axis=0)).astype(int)
            image[y0:y1, x0:x1] = 7
            exact = self.reads(text, request.sampling.seed)
            moved = (poly + 1).tolist()
            line = {
                "text": text,
                "polygon": moved,
                "direction": "vertical" if request.vertical else "horizontal",
                "chars": [{"char": c, "quad": moved} for c in text],
                "read": text if exact else text[:-1],
                "exact": exact,
                "tries": 1 if exact else request.verify.tries,
                "fallback": None,
                "seed": request.sampling.seed,
                "judge": "fake",
            }
            regions.append(RegionResult(k, text, request.vertical, [line]))
        return RenderResult(image, regions, request.sampling)


def factory(fonts, reads, *overrides, preset="lines", stored=lambda text: True):
    cfg = load_config(preset=preset, overrides=[*CLEAN, *overrides])
    fake = FakeRender(reads, stored)
    drawer = lambda md, fonts, stats: ModelDrawer(md, fonts, stats, renderer=fake)  # noqa: E731
    return Renderer(cfg, fonts, drawer=drawer), fake


def test_no_fraction_no_change_to_samples_or_fingerprint(fonts):
    plain = load_config(preset="lines", overrides=CLEAN)
    off = load_config(preset="lines", overrides=[*CLEAN, "model_draw.tries=2"])
    assert fingerprint_dict(plain) == fingerprint_dict(off)
    on = load_config(preset="lines", overrides=[*CLEAN, "model_draw.fraction=0.5"])
    assert fingerprint_dict(plain) != fingerprint_dict(on)
    a, b = Renderer(plain, fonts), Renderer(off, fonts)
    assert b.model_draw is None
    assert a.render(3).image_bytes == b.render(3).image_bytes
    assert "model_draw" not in b.render(3).meta


def test_regions_read_exactly_keep_the_model_drawing_and_its_geometry(fonts):
    plain = Renderer(load_config(preset="lines", overrides=CLEAN), fonts)
    drawn, fake = factory(fonts, lambda text, seed: True, "model_draw.fraction=1")
    for i in range(4):
        font, model = plain.render(i), drawn.render(i)
        (line,) = model.lines
        assert line.text == font.lines[0].text  # the factory's choices, as they were
        assert model.meta["model_draw"]["region0"]["kept"] == "model"
        assert model.meta["model_draw"]["region0"]["read"] == [line.text]
        np.testing.assert_allclose(line.polygon, np.asarray(font.lines[0].polygon) + 1, atol=0.01)
        assert (model.image == 7).all(axis=-1).any()  # the stand-in's ink, not the font's
    request = fake.requests[-1]
    assert request.font == font.lines[0].font and request.colour == font.lines[0].color
    assert drawn.stats["model_draw_regions"] == drawn.stats["model_draw_kept"] == 4


def test_regions_never_read_keep_the_font_or_drop_the_sample(fonts):
    plain = Renderer(load_config(preset="lines", overrides=CLEAN), fonts)
    never = lambda text, seed: False  # noqa: E731
    kept, _ = factory(fonts, never, "model_draw.fraction=1", "model_draw.tries=3")
    for i in range(3):
        sample = kept.render(i)
        assert sample.image_bytes == plain.render(i).image_bytes  # the font's region, as before
        assert sample.meta["model_draw"]["region0"]["tries"] == [3]
    assert kept.stats["model_draw_font"] == 3 and kept.stats["model_draw_draws"] == 9
    assert kept.stats["model_draw_redrawn"] == 3
    dropping, _ = factory(fonts, never, "model_draw.fraction=1", "model_draw.on_fail=drop")
    assert dropping.render(0) is None
    assert dropping.stats["model_draw_dropped"] == 1 and dropping.stats["samples_skipped"] == 1


def test_a_region_not_read_as_stored_is_drawn_again_in_font_or_dropped(fonts):
    """Read while drawn, not in the finished sample (after its effects): the sample is the
    font's, as a run without model drawing makes it, or none."""
    plain = Renderer(load_config(preset="lines", overrides=CLEAN), fonts)
    never = lambda text: False  # noqa: E731
    always = lambda text, seed: True  # noqa: E731
    fell, fake = factory(fonts, always, "model_draw.fraction=1", stored=never)
    for i in range(3):
        sample = fell.render(i)
        assert sample.image_bytes == plain.render(i).image_bytes
        region = sample.meta["model_draw"]["region0"]
        assert region["kept"] == "font" and region["read_stored"] == [sample.lines[0].text[:-1]]
    assert len(fake.requests) == 3  # drawn once each: the redraw in font asks no model
    stats = fell.stats
    assert stats["model_draw_regions"] == stats["model_draw_font"] == 3
    assert stats["model_draw_unread_stored"] == 3 and stats["model_draw_kept"] == 0
    dropping, _ = factory(
        fonts, always, "model_draw.fraction=1", "model_draw.on_fail=drop", stored=never
    )
    assert dropping.render(0) is None and dropping.stats["model_draw_dropped"] == 1


def test_a_fraction_of_scene_regions_is_redrawn_deterministically_and_counts_add_up(fonts):
    reads = lambda text, seed: seed % 3 != 0  # noqa: E731
    a, _ = factory(fonts, reads, "model_draw.fraction=0.5", preset="scenes-det")
    b, _ = factory(fonts, reads, "model_draw.fraction=0.5", preset="scenes-det")
    metas = [a.render(i).meta["model_draw"] for i in range(8)]
    assert [b.render(i).meta["model_draw"] for i in reversed(range(8))] == metas[::-1]
    regions = [r for m in metas for r in m.values()]
    picked = [r for r in regions if r["draw"]]
    assert 0 < len(picked) < len(regions)
    assert a.stats["model_draw_regions"] == len(picked) == sum(a.stats[k] for k in COUNTS)
    assert a.stats["model_draw_kept"] == sum(r["kept"] == "model" for r in picked)


def test_replay_from_meta_redraws_with_the_recorded_seed(fonts):
    a, fake = factory(fonts, lambda text, seed: True, "model_draw.fraction=1")
    sample = a.render(2)
    replay = a.render(2, recorded=sample.meta)
    assert replay.image_bytes == sample.image_bytes
    assert fake.requests[0].sampling.seed == fake.requests[1].sampling.seed


@pytest.mark.parametrize(
    "override, message",
    [
        ("model_draw.fraction=1.5", "fraction is a probability"),
        ("model_draw.tries=17", "tries must be <= 16"),
        ("model_draw.strength=2", "strength"),
        ("model_draw.threads=0", "threads must be >= 1"),
    ],
)
def test_bad_model_draw_settings_are_refused_by_name(override, message):
    with pytest.raises((ConfigError, ValueError), match=message):
        load_config(preset="lines", overrides=[override])


def test_an_unknown_judge_or_no_drawer_is_refused_when_the_run_starts(fonts):
    cfg = load_config(preset="lines", overrides=["model_draw.fraction=1"])
    with pytest.raises(ValueError, match="needs a drawer of regions"):
        Renderer(cfg, fonts)
    cfg = load_config(preset="lines", overrides=["model_draw.fraction=1", "model_draw.judge=x"])
    with pytest.raises(ValueError, match="unknown OCR backend 'x'"):
        Renderer(cfg, fonts, drawer=ModelDrawer)


def test_edit_pairs_and_model_draw_are_refused_together():
    with pytest.raises((ConfigError, ValueError), match=r"edit\.pairs and model_draw"):
        load_config(preset="edits", overrides=["model_draw.fraction=0.5"])


@pytest.mark.slow
def test_a_model_drawn_run_with_the_shipped_weights_keeps_what_the_judge_read(tmp_path):
    """Four lines redrawn by the shipped model, selected by the default judge: the report's
    counts add up, and a kept model-drawn line's label is what the judge read in it."""
    from glyphgen.synth.runner import run

    cfg = load_config(
        preset="lines",
        overrides=["model_draw.fraction=1", "model_draw.tries=2", "text.length=[2,6]"],
        extra={"num": 4},
    )
    report = run(cfg, tmp_path / "out", workers=1, progress=False, drawer=ModelDrawer)
    events = report.events
    assert events["model_draw_regions"] == 4 == sum(events.get(k, 0) for k in COUNTS)
    records = [json.loads(line) for line in (tmp_path / "out" / "labels.jsonl").open()]
    assert len(records) == report.samples_written == 4  # on_fail font: no sample dropped
    kept = [r for r in records if r["meta"]["model_draw"]["region0"]["kept"] == "model"]
    assert len(kept) == events.get("model_draw_kept", 0)
    for record in kept:
        (text,) = record["texts"]
        assert record["meta"]["model_draw"]["region0"]["read"] == [normalize(text["text"])]


def test_a_worker_draws_and_judges_with_its_share_of_threads(fonts, monkeypatch):
    """One factory worker per core: each worker's model and judge take model_draw.threads."""
    import torch

    import glyphgen.eval.backends as backends
    import glyphgen.render as render

    made = {}
    monkeypatch.setattr(backends, "create_backend", lambda name, **kw: made.update(kw) or name)
    monkeypatch.setattr(render, "Renderer", lambda weights, fonts, judge: ("renderer", judge))
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        cfg = load_config(preset="lines", overrides=["model_draw.threads=1"]).model_draw
        assert ModelDrawer(cfg, fonts, Counter()).renderer() == ("renderer", "combined")
        assert made == {"threads": 1} and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
