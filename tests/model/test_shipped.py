"""The shipped default model: its files are what the manifest says, and `glyphgen render`
without --weights draws text the evaluator reads back."""

import hashlib
import json

from glyphgen.cli import main
from glyphgen.eval import assert_text
from glyphgen.model.config import DEFAULT_WEIGHTS, DRAFTS


def test_shipped_files_match_their_manifest():
    manifest = json.loads((DEFAULT_WEIGHTS / "manifest.json").read_text())
    assert manifest["dtype"] == "float16"
    assert manifest["command"].startswith("glyphgen train --config cpu")
    # every leg that trained it, from step 0 (the two stages of the cpu config) to its steps
    legs = manifest["legs"]
    assert legs[0]["start_step"] == 0 and legs[0]["stages"] == ["stage1", "stage2"]
    assert [a["end_step"] for a in legs[:-1]] == [b["start_step"] for b in legs[1:]]
    assert legs[-1]["end_step"] == manifest["steps"]
    assert 0 < manifest["default_strength"] <= 1
    assert manifest["default_draft"] in DRAFTS
    for name, entry in manifest["files"].items():
        data = (DEFAULT_WEIGHTS / name).read_bytes()
        assert len(data) == entry["bytes"] <= 16 * 1024 * 1024, name
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], name


def test_default_render_is_read_back_by_the_evaluator(tmp_path):
    out = tmp_path / "sign.png"
    assert main(["render", "--text", "开业大吉", "--out", str(out)]) == 0
    record = json.loads(out.with_suffix(".json").read_text())
    polygon = record["texts"][0]["polygon"]
    # one misread character of four is tolerated: the test pins the model's use, not its
    # benchmark figure (bench/results/glyph_benchmark/benchmark.md)
    assert_text(out, "开业大吉", region=polygon, min_ratio=0.75)
