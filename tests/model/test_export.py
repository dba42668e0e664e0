"""`glyphgen train --export`: the shipped form of a run's weights (fp16, hashed, with the
benchmark row it scored)."""

import json

import numpy as np
import torch

from glyphgen.cli import main
from glyphgen.model.pipeline import GlyphPipeline


def test_export_writes_fp16_files_that_load_as_the_trained_model(trained, tmp_path):
    run = trained.parent
    dst = tmp_path / "glyph-default"
    assert main(["train", "--out", str(run), "--export", str(dst)]) == 0

    manifest = json.loads((dst / "manifest.json").read_text())
    assert manifest["dtype"] == "float16" and manifest["stage"] == "stage2"
    assert manifest["command"] and manifest["config"]["stages"]
    for name, entry in manifest["files"].items():
        assert (dst / name).stat().st_size == entry["bytes"] <= 16 * 1024 * 1024
    assert not list(dst.rglob("*.bin")) and not (tmp_path / "glyph-default.partial").exists()

    shipped = GlyphPipeline.from_pretrained(dst)
    original = GlyphPipeline.from_pretrained(trained)
    for a, b in zip(original.unet.parameters(), shipped.unet.parameters(), strict=True):
        assert b.dtype == torch.float32  # upcast on load: render runs as it did
        np.testing.assert_allclose(a.detach(), b.detach(), rtol=2e-3, atol=1e-6)


def test_export_records_the_benchmark_row_and_refuses_a_missing_one(trained, tmp_path, capsys):
    run = trained.parent
    bench = tmp_path / "benchmark.json"
    row = {"name": "shipped", "summary": {"n": 3, "sentence_acc": 0.67}, "groups": {}}
    bench.write_text(json.dumps({"rows": [row], "command": "glyphgen bench glyph"}))
    dst = tmp_path / "w"
    argv = ["train", "--out", str(run), "--export", str(dst), "--metrics", str(bench)]
    assert main(argv) == 0
    metrics = json.loads((dst / "manifest.json").read_text())["metrics"]
    assert metrics["summary"]["sentence_acc"] == 0.67 and metrics["row"] == "shipped"

    assert main([*argv, "--row", "nope"]) == 2
    assert "no row 'nope'" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "none"), "--export", str(dst)]) == 2
    assert main(["train", "--out", str(run), "--stage", "stage1", "--export", str(dst)]) == 0
    assert json.loads((dst / "manifest.json").read_text())["stage"] == "stage1"


def test_export_sets_the_shipped_sampling_defaults_and_refuses_impossible_ones(
    trained, tmp_path, capsys
):
    run, dst = trained.parent, tmp_path / "w"
    argv = ["train", "--out", str(run), "--export", str(dst)]
    assert main([*argv, "--strength", "0.1", "--draft", "classical", "--steps", "16"]) == 0
    shipped = GlyphPipeline.from_pretrained(dst)
    assert shipped.resolve_strength() == 0.1 and shipped.resolve_draft() == "classical"
    assert shipped.resolve_steps() == 16
    manifest = json.loads((dst / "manifest.json").read_text())
    assert (manifest["default_strength"], manifest["default_steps"]) == (0.1, 16)

    assert main([*argv, "--steps", "0"]) == 2
    assert "--steps: steps must be in [1, 1000]" in capsys.readouterr().err
    assert GlyphPipeline.from_pretrained(dst).resolve_steps() == 16  # the old export stands
