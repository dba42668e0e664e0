"""The pipeline with a stand-in judge: problems, coverage, groups, batching, ceiling, outputs."""

import json
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from eval_helpers import ColourJudge, bomb_png, colour_dataset, write_jsonl
from PIL import Image

from glyphgen.eval import CouldNotEvaluate, EvalConfig, evaluate
from glyphgen.eval.config import GateConfig, ReportConfig
from glyphgen.eval.html import render_html
from glyphgen.eval.junit import junit_xml
from glyphgen.eval.report import Report

ITEMS = [
    ("北京大学", "北京大学"),
    ("欢迎光临", "欢迎光临"),
    ("全场八折", "全场八拆"),  # one substitution
    ("营业时间", "营业时间"),
]


def test_scores_and_groups(tmp_path):
    labels, judge = colour_dataset(tmp_path, ITEMS, fonts=["hei", "hei", "song", "song"])
    report = evaluate(labels, backend=judge)
    s = report.summary
    assert (s.n, s.exact, s.sentence_acc) == (4, 3, 0.75)
    assert s.ned == pytest.approx((1 + 1 + 0.75 + 1) / 4)
    assert s.char_recall == pytest.approx(15 / 16)
    assert report.groups["font"]["hei"].sentence_acc == 1.0
    assert report.groups["font"]["song"].sentence_acc == 0.5
    assert list(report.groups["length"]) == ["3-4"]
    assert list(report.groups["charset"]) == ["gb2312-l1"]
    assert [(e.char, e.read_as) for e in report.char_errors] == [("折", {"拆": 1})]
    assert report.problems == []


def test_crops_are_read_in_batches(tmp_path):
    labels, judge = colour_dataset(tmp_path, ITEMS * 2)
    cfg = EvalConfig(chunk=3)
    evaluate(labels, backend=judge, config=cfg)
    assert judge.calls == [3, 3, 2]


def test_bad_input_is_recorded_per_sample_and_the_run_goes_on(tmp_path):
    labels, judge = colour_dataset(tmp_path, ITEMS[:2])
    (tmp_path / "images" / "broken.png").write_bytes(b"not an image")
    lines = labels.read_text(encoding="utf-8").splitlines()
    extra = [
        {"image": "images/none.png", "text": "出口"},
        {"image": "images/broken.png", "text": "出口"},
        {
            "image": "images/000.png",
            "texts": [{"text": "入口", "polygon": [[500, 0], [600, 0], [600, 40], [500, 40]]}],
        },
        {
            "image": "images/000.png",
            "texts": [{"text": "  ", "polygon": [[20, 20], [180, 20], [180, 60], [20, 60]]}],
        },
        {"image": "images/000.png", "texts": [{"text": "入口", "polygon": [[1, 1], [2, 2]]}]},
        {"image": "images", "text": "出口"},  # a folder
        {"image": " ", "text": "出口"},  # no path at all
        {
            "image": "images/000.png",
            "texts": [{"text": "入口", "polygon": [[0, 0], [1e300, 0], [1e300, 9], [0, 9]]}],
        },
    ]
    write_jsonl(labels, [json.loads(line) for line in lines] + extra)
    with labels.open("a", encoding="utf-8") as fh:
        fh.write("{broken json\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy overflow on absurd coordinates either
        report = evaluate(labels, backend=judge)
    assert report.summary.n == 2 and report.summary.sentence_acc == 1.0
    assert report.counts["problems_by_kind"] == {
        "bad-annotation": 2,
        "missing-image": 2,
        "unreadable-image": 1,
        "polygon-outside": 2,
        "empty-target": 1,
        "bad-polygon": 1,
    }
    messages = {p.where: p.message for p in report.problems}
    assert messages["labels.jsonl:3"] == f"image {tmp_path / 'images/none.png'} does not exist"
    assert messages["labels.jsonl:8"].endswith("is a folder, not an image file")
    assert messages["labels.jsonl:9"] == "the image path is empty"
    assert messages["labels.jsonl:10"].startswith("polygon x 0..1e+300, y 0..9 reaches outside")
    assert messages["labels.jsonl:11"].startswith("not valid JSON")
    # --strict: the first problem is fatal; annotation lines are checked before any image
    with pytest.raises(CouldNotEvaluate, match=r"labels.jsonl:9: bad-annotation.*--strict"):
        evaluate(labels, backend=judge, strict=True)
    well_formed = [e for e in extra if e["image"].strip()]
    write_jsonl(labels, [json.loads(line) for line in lines] + well_formed)
    with pytest.raises(CouldNotEvaluate, match=r"labels.jsonl:3: missing-image.*--strict"):
        evaluate(labels, backend=judge, strict=True)


def test_a_decompression_bomb_is_a_counted_problem_not_a_crash(tmp_path):
    labels, judge = colour_dataset(tmp_path, ITEMS[:2])
    bomb = bomb_png(tmp_path / "images" / "bomb.png")
    records = [json.loads(line) for line in labels.read_text(encoding="utf-8").splitlines()]
    write_jsonl(labels, [*records, {"image": "images/bomb.png", "text": "出口"}])
    report = evaluate(labels, backend=judge)
    assert report.summary.n == 2 and report.counts["problems_by_kind"] == {"too-large-image": 1}
    (problem,) = report.problems
    assert problem.path == str(bomb) and problem.where == "labels.jsonl:3"
    assert problem.message.startswith(f"image {bomb} is ")
    assert "over the limit of 40,000,000" in problem.message
    assert problem.message.endswith("(eval's limit: --set max_image_pixels=N)")
    assert not report.check_gates(GateConfig())[0].passed  # the default problem gate
    # the limit is the config's: at 200x80 - 1 pixels the colour images are too large too
    small = evaluate(labels, backend=judge, config=EvalConfig(max_image_pixels=200 * 80), limit=2)
    assert small.summary.n == 2
    with pytest.raises(CouldNotEvaluate, match="too-large-image 2"):
        evaluate(labels, backend=judge, config=EvalConfig(max_image_pixels=200 * 80 - 1), limit=2)


def test_nothing_readable_is_could_not_evaluate(tmp_path):
    write_jsonl(tmp_path / "labels.jsonl", [{"image": "none.png", "text": "出口"}])
    with pytest.raises(CouldNotEvaluate, match=f"missing-image 1: {tmp_path / 'none.png'}"):
        evaluate(tmp_path / "labels.jsonl", backend=ColourJudge({}))
    with pytest.raises(CouldNotEvaluate, match="does not exist"):
        evaluate(tmp_path / "nothing.jsonl", backend=ColourJudge({}))
    with pytest.raises(CouldNotEvaluate, match="unknown OCR backend"):
        evaluate(tmp_path / "labels.jsonl", backend="no-such-judge")


def test_targets_the_judge_cannot_output_are_reported_apart(tmp_path):
    # 鼯 (GB2312 level 2) is left out of this judge's charset: the region it is in cannot be
    # read right whatever the image, so it must not count against the model.
    items = [("北京大学", "北京大学"), ("鼯鼠", "语鼠"), ("欢迎光临", "欢迎光临")]
    labels, judge = colour_dataset(tmp_path, items)
    judge._charset = frozenset("北京大学欢迎光临语鼠")
    report = evaluate(labels, backend=judge)
    assert report.summary.n == 2 and report.summary.sentence_acc == 1.0
    assert report.all_regions.n == 3 and report.all_regions.exact == 2
    assert report.groups["coverage"]["uncovered"].n == 1
    assert report.counts["regions_uncovered"] == 1
    (uncovered,) = [r for r in report.regions if r.covered is False]
    assert uncovered.uncovered_chars == "鼯" and uncovered.charset == "gb2312-l2"
    included = evaluate(
        labels, backend=judge, config=EvalConfig(report=ReportConfig(uncovered="include"))
    )
    assert included.summary.n == 3


def test_swapped_character_lowers_sentence_accuracy_by_one_region(tmp_path):
    good, judge_good = colour_dataset(tmp_path / "good", [(t, t) for t, _ in ITEMS])
    bad, judge_bad = colour_dataset(
        tmp_path / "bad",
        [(t, t[:-1] + "X") if i == 0 else (t, t) for i, (t, _) in enumerate(ITEMS)],
    )
    a = evaluate(good, backend=judge_good).summary
    b = evaluate(bad, backend=judge_bad).summary
    assert a.sentence_acc - b.sentence_acc == pytest.approx(1 / 4)
    assert a.ned - b.ned == pytest.approx((1 / 4) / 4)  # one region loses 1/4 of its NED


def test_ceiling_from_ground_truth_images(tmp_path):
    labels, judge = colour_dataset(tmp_path, ITEMS)
    # the "ground truth" folder: same file names, but region 2 painted in region 0's colour,
    # so the judge reads 北京大学 there: wrong on the ground truth too
    gt = tmp_path / "gt"
    gt.mkdir()
    (gt / "images").mkdir()
    for i in range(4):
        img = np.asarray(Image.open(tmp_path / "images" / f"{i:03d}.png")).copy()
        if i == 2:
            img[20:60, 20:180] = (10, 200, 100)
        Image.fromarray(img).save(gt / "images" / f"{i:03d}.png")
    report = evaluate(labels, backend=judge, ceiling_images=gt)
    assert report.ceiling is not None
    assert report.ceiling.summary.sentence_acc == 0.75
    assert [r.ceiling_exact for r in report.regions] == [True, True, False, True]
    assert report.regions[2].ceiling_read == "北京大学"


def test_gates(tmp_path):
    labels, judge = colour_dataset(tmp_path, ITEMS)
    report = evaluate(labels, backend=judge)
    results = report.check_gates(GateConfig(min_sentence_acc=0.75, min_ned=0.95, max_problems=0))
    assert [(g.name, g.passed) for g in results] == [
        ("min_sentence_acc", True),  # 0.75 >= 0.75
        ("min_ned", False),  # 0.9375 < 0.95
        ("max_problems", True),
    ]
    assert not report.passed and report.measurable


def test_json_round_trip(tmp_path):
    labels, judge = colour_dataset(tmp_path, ITEMS)
    report = evaluate(labels, backend=judge)
    report.check_gates(GateConfig(min_ratio=0.5))
    report.write_json(tmp_path / "r.json")
    back = Report.read_json(tmp_path / "r.json")
    assert back.to_dict() == report.to_dict()
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["summary"]["sentence_acc"] == 0.75
    assert data["regions"][2]["read"] == "全场八拆"


def test_junit_parses_back(tmp_path):
    labels, judge = colour_dataset(tmp_path, ITEMS)
    report = evaluate(labels, backend=judge)
    report.check_gates(GateConfig(min_sentence_acc=0.9, min_ned=0.9))
    root = ET.fromstring(junit_xml(report, regions=True))
    gates, regions = root.findall("testsuite")
    # the two metric gates, and the problem gate that is on by default
    assert (gates.get("tests"), gates.get("failures"), gates.get("errors")) == ("3", "1", "0")
    failed = [c.get("name") for c in gates.iter("testcase") if c.find("failure") is not None]
    assert failed == ["min_sentence_acc"]
    props = {p.get("name"): p.get("value") for p in gates.iter("property")}
    assert props["summary.sentence_acc"] == "0.75"
    assert (regions.get("tests"), regions.get("failures")) == ("4", "1")
    message = next(c for c in regions.iter("failure")).get("message")
    assert "全场八折" in message and "全场八拆" in message
    error = ET.fromstring(junit_xml(None, error="annotation file x.jsonl does not exist"))
    case = error.find("testsuite/testcase")
    assert case is not None and case.find("error") is not None


def test_html_has_a_thumbnail_per_region_and_marks_differences(tmp_path):
    labels, judge = colour_dataset(tmp_path, ITEMS)
    report = evaluate(labels, backend=judge, thumbnails=True)
    html = render_html(report)
    assert html.count("data:image/jpeg;base64,") == 4
    assert "全场八<del>折</del>" in html and "全场八<ins>拆</ins>" in html
    assert html.index("全场八<del>折</del>") < html.index("北京大学</td>")  # worst first


def test_image_paths_that_leave_the_images_folder_are_problems_unless_allowed(tmp_path):
    labels, judge = colour_dataset(tmp_path / "data", ITEMS[:2])
    outside = tmp_path / "secret.png"
    outside.write_bytes((tmp_path / "data" / "images" / "000.png").read_bytes())
    records = [json.loads(line) for line in labels.read_text(encoding="utf-8").splitlines()]
    region = records[0]["texts"]
    extra = [
        {"image": "../secret.png", "texts": region},
        {"image": "images/../../secret.png", "texts": region},
        {"image": str(outside), "texts": region},
        {"image": "images/../images/001.png", "texts": records[1]["texts"]},  # stays inside
    ]
    write_jsonl(labels, records + extra)
    report = evaluate(labels, backend=judge)
    assert report.summary.n == 3
    assert report.counts["problems_by_kind"] == {"image-outside": 3}
    assert report.counts["samples_with_problems"] == 3
    first = report.problems[0]
    assert (first.where, first.image, first.path) == ("labels.jsonl:3", "../secret.png", None)
    assert first.message.startswith(
        f"image path '../secret.png' leaves the images folder {tmp_path / 'data'}"
    )
    assert "--allow-outside-images" in first.message
    allowed = evaluate(labels, backend=judge, config=EvalConfig(allow_outside_images=True))
    assert allowed.summary.n == 6 and allowed.problems == []


def test_samples_with_problems_never_exceed_the_samples(tmp_path):
    labels, judge = colour_dataset(tmp_path, ITEMS[:2])
    with labels.open("a", encoding="utf-8") as fh:
        fh.write(
            "{broken\n{broken too\n" + json.dumps({"image": "none.png", "text": "出口"}) + "\n"
        )
    report = evaluate(labels, backend=judge)
    counts = report.counts
    assert (counts["samples"], counts["samples_with_problems"]) == (3, 1)
    assert counts["annotation_lines_refused"] == 2
    limited = evaluate(labels, backend=judge, limit=1)  # the broken lines are past the limit
    assert (limited.counts["samples"], limited.counts["samples_with_problems"]) == (1, 0)
