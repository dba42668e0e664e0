"""The glyph benchmark (bench/sets): its fixed set, held-out fonts and seed by
construction, and the harness end to end."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from model_helpers import tiny_config

from glyphgen.benchmark import edit as eb
from glyphgen.benchmark import glyph as bm
from glyphgen.benchmark.glyph_set import item_groups, load_items
from glyphgen.model.build import build_pipeline
from glyphgen.model.config import CONFIGS_DIR, config_names, load_train_config
from glyphgen.model.data import DataConfig, FactoryScenes
from glyphgen.model.data import factory_config as scenes_factory_config
from glyphgen.model.pipeline import GlyphPipeline, GlyphPipelineOutput
from glyphgen.paths import DATA_DIR, resolve_data_path
from glyphgen.synth.render import Renderer
from glyphgen.synth.runner import load_fonts
from glyphgen.typeset.fonts import FontLibrary


def _build_set_script():
    spec = importlib.util.spec_from_file_location("build_set", bm.BENCH_DIR / "build_set.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def items():
    return load_items(bm.SET_FILE)


# -- the set -------------------------------------------------------------------------------
def test_the_committed_set_is_what_its_script_builds(items):
    for path, text in _build_set_script().expected_files().items():
        assert path.read_text(encoding="utf-8") == text, f"{path}: run build_set.py"
    validation = load_items(bm.BENCH_DIR / "validation.jsonl")
    assert len(validation) >= 200
    assert not {it["text"] for it in validation} & {it["text"] for it in items}
    assert len(items) >= 300
    assert all(2 <= len(it["text"]) <= 12 for it in items)
    assert len({it["text"] for it in items}) == len(items)
    for it in items:  # every tag is what the text and direction say
        vertical = it["direction"] == "vertical"
        assert item_groups(it["text"], it["source"], vertical) == {
            k: it[k] for k in ("source", "level", "direction", "length")
        }
    share = sum(it["direction"] == "vertical" for it in items) / len(items)
    assert 0.3 <= share <= 0.36
    for key, values in bm.GROUPS.items():  # every group is populated
        assert all(sum(it[key] == v for it in items) >= 30 for v in values), key


def test_scene_i_draws_exactly_line_i_in_the_items_direction(items):
    fonts = load_fonts(bm.scenes_config())
    for vertical in (False, True):
        renderer = Renderer(bm.scenes_config(vertical=vertical), fonts, bm.BENCH_DIR)
        for it in items[:12]:
            sample = renderer.render(it["id"])
            assert [ln.text for ln in sample.lines] == [it["text"]]
            assert sample.lines[0].direction == ("vertical" if vertical else "horizontal")
            assert {c.font for c in sample.lines[0].chars} == {"wenkai"}


# -- held out by construction ------------------------------------------------------------
def _training_factories():
    """(name, DataConfig) of every factory stage of every bundled model config."""
    for name in config_names():
        for stage in load_train_config(CONFIGS_DIR / f"{name}.yaml").stages:
            assert stage.data.source == "factory", f"{name}/{stage.name}: check its fonts by hand"
            yield f"{name}/{stage.name}", stage.data


def test_training_never_draws_the_benchmarks_fonts_or_seed():
    from glyphgen.reader.config import ReaderTrainConfig
    from glyphgen.reader.train import factory_config

    bench = bm.scenes_config()
    assert bench.fonts.split == "heldout"
    assert {f.split for f in load_fonts(bench).faces} == {"heldout"}
    train_fonts = FontLibrary.load(progress=False)  # what glyphgen train draws with
    seeds = {}
    for where, data in _training_factories():
        cfg = scenes_factory_config(data)
        assert cfg.fonts.split == "train", where
        photos = [resolve_data_path(d) for d in cfg.background.image_dirs]
        assert not any("heldout" in p.parts for p in photos), where  # the benchmark's photos
        if all(p.is_dir() for p in photos):  # train photos are built, not committed
            renderer = FactoryScenes(data, train_fonts).renderer
            assert {f.split for f in renderer.faces} == {"train"}, where
        seeds[where] = cfg.seed
    reader = ReaderTrainConfig()
    legs = DATA_DIR.glob("presets/reader-train*.yaml")  # every leg's data
    reader_data = sorted(p.relative_to(DATA_DIR).as_posix() for p in legs)
    assert reader.data in reader_data, reader_data
    for data in reader_data:
        reader_cfg = factory_config(ReaderTrainConfig(data=data))
        assert reader_cfg.fonts.split == "train", data
        assert {f.split for f in load_fonts(reader_cfg).faces} == {"train"}, data
        assert not {"common_phrases.txt", "lines.txt", "validation.txt"} & {
            Path(c).name for c in reader_cfg.text.corpus
        }, data
        seeds[data] = reader_cfg.seed
    seeds["reader held-out check"] = reader.heldout_seed
    validation = bm.scenes_config(bm.BENCH_DIR / "validation.yaml")
    assert validation.fonts.split == "heldout"
    assert bench.seed not in seeds.values(), seeds
    assert validation.seed not in {bench.seed, *seeds.values()}, seeds
    # The style-edit benchmark: held-out font, held-out photos only, its own seed and corpus.
    edits = eb.edits_config()
    assert edits.fonts.split == "heldout"
    assert edits.background.image_dirs == ["photos/heldout"]
    assert edits.background.kinds == {"image": 1.0}
    assert edits.seed not in {bench.seed, validation.seed, *seeds.values()}, seeds
    # ... and its validation pairs: the same held-out recipe, their own seed and lines
    edits_val = eb.edits_config(bm.BENCH_DIR / "edits-validation.yaml")
    assert edits_val.fonts.split == "heldout"
    assert edits_val.background.image_dirs == edits.background.image_dirs
    assert edits_val.seed not in {edits.seed, bench.seed, validation.seed, *seeds.values()}
    assert [Path(c).name for c in edits_val.text.corpus] == ["validation.txt"]


def test_a_training_stage_asking_for_heldout_fonts_is_refused():
    fonts = FontLibrary.load(progress=False)
    with pytest.raises(ValueError, match="train font split"):
        FactoryScenes(DataConfig(overrides=["fonts.split=heldout"]), fonts)
    with pytest.raises(ValueError, match="held-out faces"):
        FactoryScenes(DataConfig(), FontLibrary.load(split="all", progress=False))


# -- the harness ---------------------------------------------------------------------------
@pytest.mark.slow
def test_the_harness_runs_end_to_end_with_a_trained_model(trained, tmp_path):
    torch.set_num_threads(1)
    models = [bm.parse_model(f"tiny={trained}"), bm.parse_model(f"draft={trained}@0")]
    results = bm.run_benchmark(models, tmp_path / "work", limit=3, threads=1, log=print)
    gt, model, draft = results["rows"]
    assert (gt["name"], gt["kind"], model["name"], model["kind"]) == (
        "ground truth",
        "ground-truth",
        "tiny",
        "model",
    )
    for row in (gt, model):
        assert row["summary"]["n"] + row["uncovered"]["n"] == 3
        assert set(row["groups"]) == set(bm.GROUPS)
    assert gt["summary"]["sentence_acc"] > 0.5  # clean held-out renders: the judge reads them
    # @0: the glyph draft alone (the bundled font inked into the erased region), no model
    default = json.loads((trained / "model_index.json").read_text())["default_strength"]
    assert (model["strength"], draft["strength"]) == (default, 0.0)
    assert draft["summary"]["sentence_acc"] > 0.5
    assert model["latency"]["regions"] == 3 and model["latency"]["mean_s"] > 0
    assert results["set"]["evaluated"] == 3 and results["scenes"]["fonts"] == ["wenkai"]
    results |= {"machine": {"cpu": "test", "cores": 1, "date": "today"}, "command": "pytest"}
    paths = bm.write_results(results, tmp_path / "results")
    assert json.loads(paths[0].read_text(encoding="utf-8"))["rows"][1]["name"] == "tiny"
    assert "| tiny | " in paths[1].read_text(encoding="utf-8")
    assert paths[2].stat().st_size > 0


def test_a_missing_model_folder_names_the_flag_and_how_to_train(tmp_path):
    with pytest.raises(bm.BenchmarkError, match=r"--model shipped=.*glyphgen train --config cpu"):
        bm.parse_model(f"shipped={tmp_path / 'nothing'}")
    with pytest.raises(bm.BenchmarkError, match="NAME=PATH"):
        bm.parse_model("weights/glyph-default")
    for bad in ("1.5", "x", ""):
        with pytest.raises(bm.BenchmarkError, match=r"strength after @ must be in \[0, 1\]"):
            bm.parse_model(f"shipped=weights/glyph-default@{bad}")
    assert bm.parse_model("d=weights/glyph-default@0.5").strength == 0.5
    hybrid = bm.parse_model("h=weights/glyph-default@0.3@classical")
    assert (hybrid.strength, hybrid.draft) == (0.3, "classical")
    own = bm.parse_model("h=weights/glyph-default@@classical")  # the model's own strength
    assert (own.strength, own.draft) == (None, "classical")
    assert bm.parse_model("d=weights/glyph-default").draft is None  # the model's own draft
    with pytest.raises(bm.BenchmarkError, match="draft after the second @"):
        bm.parse_model("h=weights/glyph-default@0.3@inked")


def test_a_row_whose_weights_changed_since_their_manifest_is_refused_before_any_row_runs(
    trained, tmp_path
):
    import shutil

    copy = shutil.copytree(trained, tmp_path / "edited")
    index = copy / "model_index.json"
    index.write_text(index.read_text(encoding="utf-8").replace("{", '{"keep_known": true, ', 1))
    with pytest.raises(bm.BenchmarkError, match=r"--model edited=.*model_index.json"):
        bm.parse_model(f"edited={copy}@1")


def _writer(ink: bool):
    """A stand-in model: glyph ink on its source crop (ideal), or the source crop returned
    as it came (blank: whatever of the answer is left in the image it is given shows)."""

    def call(self, texts, glyph, position_mask, source=None, edit_mask=None, **kwargs):
        out = source * (1 - glyph) + (-0.9) * glyph if ink else source
        arr = (out + 1) * 127.5
        return GlyphPipelineOutput(
            images=arr.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
        )

    return call


@pytest.mark.parametrize("ink", [True, False], ids=["ideal-writer", "blank-writer"])
@pytest.mark.slow
def test_the_score_is_the_models_not_left_over_ground_truth(ink, items, tmp_path, monkeypatch):
    """The region is erased before the model draws: a model that writes nothing scores 0,
    one that writes the glyphs scores like the ground truth."""
    monkeypatch.setattr(GlyphPipeline, "__call__", _writer(ink))
    pipe = build_pipeline(tiny_config(tmp_path, "model.height=64").model)
    chosen = [it for it in items if it["source"] == "phrase"][:6]
    labels = bm.render_ground_truth(chosen, tmp_path / "gt")
    bm.redraw(pipe, labels, tmp_path / "model")
    judges, _ = bm.make_judges(threads=1, combined=False)
    row, _ = bm.judge_row("m", tmp_path / "model", labels, chosen, judges)  # region k: item k
    assert row["summary"]["n"] == 6
    if ink:
        assert row["summary"]["sentence_acc"] >= 5 / 6, row
    else:
        assert row["summary"]["exact"] == 0 and row["summary"]["ned"] < 0.2, row
    assert np.isfinite(row["summary"]["ratio"])
