"""The evaluator's ``glyphgen`` and ``combined`` judges."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from glyphgen.eval.backends import Reading, Recognizer, create_backend
from glyphgen.eval.backends.glyphgen_reader import CombinedRecognizer
from glyphgen.reader.weights import BUNDLED
from glyphgen.synth.config import load_config
from glyphgen.synth.render import Renderer

needs_weights = pytest.mark.skipif(
    not (BUNDLED / "model.safetensors").exists(), reason="no bundled recognizer weights"
)


@needs_weights
def test_glyphgen_judge_reads_clean_factory_lines_including_level_2(fonts):
    cfg = load_config(
        preset="lines",
        overrides=["text.source=random", "text.charset=gb2312-l2", "text.length=[3, 6]",
                   "text.mix={digits: 0, latin: 0, punct: 0}", "layout.angle_prob=0",
                   "layout.perspective_prob=0", "effects.blur_prob=0", "effects.noise_prob=0",
                   "effects.jpeg_prob=0", "effects.light_prob=0", "fonts.split=heldout"],
    )  # fmt: skip
    renderer = Renderer(cfg, fonts.__class__.load(split="heldout"))
    samples = [s for s in (renderer.render(i) for i in range(20)) if s]
    crops = [s.pixels for s in samples]
    judge = create_backend("glyphgen")
    reads = judge.recognize(crops)
    exact = sum(r.text == s.text for r, s in zip(reads, samples, strict=True))
    assert exact >= 0.6 * len(samples), [
        (r.text, s.text) for r, s in zip(reads, samples, strict=True)
    ]
    assert all(r.judge == "glyphgen" for r in reads)
    # reports say which weights judged: the bundled reader gets retrained
    digest = hashlib.sha256((BUNDLED / "model.safetensors").read_bytes()).hexdigest()
    assert judge.info()["sha256"] == digest


class _Fake(Recognizer):
    def __init__(self, name: str, chars: str):
        self.name, self._chars = name, frozenset(chars)

    def recognize(self, crops):
        return [Reading(f"{self.name}:{int(c[0, 0, 0])}", 1.0) for c in crops]

    def charset(self):
        return self._chars


def test_combined_judge_routes_by_what_pp_ocrv4_can_output():
    combined = CombinedRecognizer.__new__(CombinedRecognizer)
    combined.primary = _Fake("rapidocr", "北京大学")
    combined.secondary = _Fake("glyphgen", "北京大学鼯")  # type: ignore[assignment]
    combined._primary_chars = frozenset("北京大学")
    crops = [np.full((8, 8, 3), i, np.uint8) for i in range(3)]
    reads = combined.recognize_for(crops, ["北京", "鼯鼠", "大学"])
    assert [r.judge for r in reads] == ["rapidocr", "glyphgen", "rapidocr"]
    assert [r.text for r in reads] == ["rapidocr:0", "glyphgen:1", "rapidocr:2"]


class _Upright(_Fake):
    def vertical_crop(self, target):
        return "chars"


def test_columns_are_cut_the_way_the_routed_judge_reads():
    combined = CombinedRecognizer.__new__(CombinedRecognizer)
    combined.primary = _Fake("rapidocr", "北京大学")
    combined.secondary = _Upright("glyphgen", "北京大学鼯")  # type: ignore[assignment]
    combined._primary_chars = frozenset("北京大学")
    assert combined.vertical_crop("北京") == "rotate"  # PP-OCRv4 reads turned columns
    assert combined.vertical_crop("鼯鼠") == "chars"  # our reader, upright characters


@needs_weights
def test_reader_judges_level_2_columns_from_upright_characters(tmp_path):
    from glyphgen.eval import EvalConfig, evaluate
    from glyphgen.eval.config import CropConfig
    from glyphgen.paths import REPO_ROOT
    from glyphgen.synth.runner import run

    out = tmp_path / "columns"
    cfg = load_config(
        REPO_ROOT / "bench" / "sets" / "ceiling_lines.yaml",
        overrides=["layout.vertical=1.0", "text.source=random", "text.charset=gb2312-l2",
                   "text.length=[3, 6]", "text.mix={digits: 0, latin: 0, punct: 0}",
                   "fonts.split=heldout", "num=20", "seed=11"],
    )  # fmt: skip
    run(cfg, out, workers=1, progress=False)
    labels = out / "labels.jsonl"
    judge = create_backend("glyphgen")
    auto = evaluate(labels, backend=judge)  # crop.vertical: auto -> chars for our reader
    turned = evaluate(labels, backend=judge, config=EvalConfig(crop=CropConfig(vertical="rotate")))
    assert auto.summary.sentence_acc >= 0.6, auto.summary
    assert auto.summary.sentence_acc > turned.summary.sentence_acc + 0.3, turned.summary
