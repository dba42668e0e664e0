"""``glyphgen eval``: exit codes (0 pass, 1 gate failed, 2 could not evaluate) and outputs."""

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from eval_helpers import colour_dataset

from glyphgen.cli import main
from glyphgen.eval.backends import register_backend, unregister_backend

ITEMS = [
    ("北京大学", "北京大学"),
    ("欢迎光临", "欢迎光临"),
    ("全场八折", "全场八拆"),
    ("出口", "出口"),
]


@pytest.fixture
def dataset(tmp_path):
    """Labels, plus the stand-in judge registered as backend "colour" for the CLI to use."""
    labels, judge = colour_dataset(tmp_path / "data", ITEMS)
    register_backend("colour", lambda **options: judge)
    yield labels
    unregister_backend("colour")


def run(*argv):
    return main(["eval", "--backend", "colour", "--quiet", *map(str, argv)])


def test_pass_writes_every_output(dataset, tmp_path):
    out = tmp_path / "report"
    assert run("--annotations", dataset, "--out", out, "--min-sentence-acc", "0.75") == 0
    assert {p.name for p in out.iterdir()} == {
        "report.json",
        "report.md",
        "report.html",
        "junit.xml",
    }
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert data["summary"]["sentence_acc"] == 0.75 and data["gates"][0]["passed"]
    assert "| sentence accuracy | 0.7500 (3/4) |" in (out / "report.md").read_text(encoding="utf-8")
    assert ET.parse(out / "junit.xml").getroot().find("testsuite").get("failures") == "0"


def test_gate_failure_exits_1(dataset, tmp_path, capsys):
    code = run("--annotations", dataset, "--min-ned", "0.99", "--junit", tmp_path / "j.xml")
    assert code == 1
    assert "FAIL: ned 0.9375 < 0.99" in capsys.readouterr().err
    suite = ET.parse(tmp_path / "j.xml").getroot().find("testsuite")
    assert suite.get("failures") == "1"
    assert run("--annotations", dataset, "--min-ratio", "0.9") == 0  # ratio 0.9375
    assert run("--annotations", dataset, "--min-sentence-acc", "0.8") == 1


def test_could_not_evaluate_exits_2(dataset, tmp_path, capsys):
    assert run("--annotations", tmp_path / "missing.jsonl", "--junit", tmp_path / "j.xml") == 2
    assert "does not exist" in capsys.readouterr().err
    error = ET.parse(tmp_path / "j.xml").getroot().find("testsuite/testcase/error")
    assert error is not None and "does not exist" in error.get("message")
    # a data problem under --strict
    (dataset.parent / "images" / "000.png").unlink()
    assert run("--annotations", dataset) == 1  # recorded, the run goes on, the problem fails it
    assert run("--annotations", dataset, "--allow-problems") == 0
    assert run("--annotations", dataset, "--max-problems", "1") == 0
    assert run("--annotations", dataset, "--strict") == 2
    # a backend that cannot load
    assert main(["eval", "--quiet", "--annotations", str(dataset), "--backend", "nope"]) == 2
    assert "unknown OCR backend 'nope'" in capsys.readouterr().err
    # a bad config value
    assert run("--annotations", dataset, "--set", "crop.vertical=sideways") == 2


@pytest.fixture
def one_good_ten_missing(tmp_path):
    """11 samples the judge reads right, 10 of whose images are then deleted."""
    labels, judge = colour_dataset(tmp_path / "data", [("出口", "出口")] * 11)
    for k in range(1, 11):
        (tmp_path / "data" / "images" / f"{k:03d}.png").unlink()
    register_backend("colour", lambda **options: judge)
    yield labels
    unregister_backend("colour")


def test_missing_images_fail_the_gates_unless_allowed(one_good_ten_missing, tmp_path, capsys):
    labels = one_good_ten_missing
    gates = ["--min-sentence-acc", "0.9", "--min-ned", "0.9"]
    assert run("--annotations", labels, *gates, "--json", tmp_path / "r.json") == 1
    err = capsys.readouterr().err
    images = labels.parent / "images"
    assert (
        f"FAIL: data problems 10 > 0 (missing-image 10: {images / '001.png'}, "
        f"{images / '002.png'}, {images / '003.png'} and 7 more)"
    ) in err
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["summary"]["sentence_acc"] == 1.0  # the one scored region is right
    assert data["problems"][0]["path"] == str(images / "001.png")
    # opting out: the metric gates judge the one region that could be scored
    assert run("--annotations", labels, *gates, "--allow-problems") == 0
    assert run("--annotations", labels, *gates, "--max-problems", "10") == 0
    assert run("--annotations", labels, *gates, "--max-problems", "9") == 1
    with pytest.raises(SystemExit) as err_exit:  # one or the other
        run("--annotations", labels, "--allow-problems", "--max-problems", "3")
    assert err_exit.value.code == 2


def test_problems_name_the_image_files_looked_for(dataset, tmp_path, capsys):
    elsewhere = tmp_path / "generated"
    elsewhere.mkdir()
    assert run("--annotations", dataset, "--images", elsewhere) == 2
    err = capsys.readouterr().err
    assert (
        f"(missing-image 4: {elsewhere / 'images/000.png'}, {elsewhere / 'images/001.png'}, "
        f"{elsewhere / 'images/002.png'} and 1 more); image paths are read relative to "
        f"{elsewhere} (--images)"
    ) in err
    # the console summary lists them too, by kind, before the table of problems
    (dataset.parent / "images" / "003.png").unlink()
    main(["eval", "--backend", "colour", "--annotations", str(dataset), "--allow-problems"])
    out = capsys.readouterr().out
    assert f"- missing-image 1: {dataset.parent / 'images/003.png'}\n" in out


def test_help_documents_the_problem_gate(capsys):
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    out = capsys.readouterr().out
    assert "--allow-problems" in out and "by default any data problem fails the run" in out


def test_usage_errors_also_exit_2(dataset):
    with pytest.raises(SystemExit) as err:
        main(["eval", "--annotations", str(dataset), "--min-ned", "high"])
    assert err.value.code == 2
    assert run("--min-ned", "0.5") == 2  # no --annotations
    assert run("--annotations", dataset, "--min-ned", "1.5") == 2  # outside [0, 1]


def test_ceiling_report_from_an_earlier_run(dataset, tmp_path):
    assert run("--annotations", dataset, "--json", tmp_path / "gt.json") == 0
    assert (
        run(
            "--annotations",
            dataset,
            "--ceiling-report",
            tmp_path / "gt.json",
            "--json",
            tmp_path / "m.json",
        )
        == 0
    )
    data = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    assert data["ceiling"]["summary"]["sentence_acc"] == 0.75
    assert [r["ceiling_exact"] for r in data["regions"]] == [True, True, False, True]


def test_paddleocr_backend_says_how_to_get_it(dataset, capsys):
    pytest.importorskip("glyphgen.eval.backends.paddleocr")
    try:
        import paddleocr  # noqa: F401
    except ImportError:
        code = main(["eval", "--quiet", "--annotations", str(dataset), "--backend", "paddleocr"])
        assert code == 2
        assert "pip install paddleocr" in capsys.readouterr().err
    else:
        pytest.skip("paddleocr is installed here")


def test_list_backends_prints_dictionary_coverage(capsys):
    assert main(["eval", "--list-backends"]) == 0
    out = capsys.readouterr().out
    assert "rapidocr: available" in out
    assert "gb2312-l1: 3747 of 3755 covered, missing 毖恫刽豢耪誊檄诌" in out
    assert "gb2312-l2: 1732 of 3008 covered" in out


def test_user_errors_are_one_line_not_a_traceback(dataset, tmp_path, capsys):
    """Every mistake a user can make on the command line ends in exit 2 and one message."""
    (tmp_path / "a_file").write_text("x")
    cases = {
        "is a folder; pass the annotation file": ["--annotations", dataset.parent],
        "--limit -1: pass a number of samples >= 1": ["--annotations", dataset, "--limit", "-1"],
        "cannot create the folder for": ["--annotations", dataset, "--out", tmp_path / "a_file"],
        "report.html_rows=-5 must be >= 0": ["--annotations", dataset, "--html-rows", "-5"],
        "cannot read report": ["--annotations", dataset, "--ceiling-report", dataset],
    }
    for message, argv in cases.items():
        assert run(*argv) == 2, message
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err


def test_print_config_shows_the_resolved_values(capsys):
    argv = ["eval", "--print-config", "--set", "crop.vertical=chars", "--min-ned", "0.9"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "vertical: chars" in out and "min_ned: 0.9" in out and "whitespace: remove" in out
    assert "allow_outside_images: false" in out
    assert main(["eval", "--print-config", "--allow-outside-images"]) == 0
    assert "allow_outside_images: true" in capsys.readouterr().out


def _references(dataset, folder):
    """Copies of the dataset's images under ``folder``, at the same relative paths."""
    import shutil

    shutil.copytree(dataset.parent / "images", folder / "images")
    return folder


def test_reference_images_give_fidelity_figures_and_gates(dataset, tmp_path, capsys):
    refs = _references(dataset, tmp_path / "refs")
    out = tmp_path / "report"
    args = ["--annotations", dataset, "--reference-images", refs, "--out", out]
    assert run(*args, "--min-ssim", "0.999", "--min-psnr", "90") == 0  # identical: the ceiling
    summary = json.loads((out / "report.json").read_text(encoding="utf-8"))["fidelity"]["summary"]
    assert summary == {"regions": 4, "psnr": 100.0, "ssim": 1.0, "seam": 0.0, "cast": 0.0}
    assert "### fidelity to the reference images" in (out / "report.md").read_text("utf-8")
    # One reference whose region is another colour: the output no longer matches it.
    from PIL import Image

    path = refs / "images" / "001.png"
    image = np.asarray(Image.open(path)).copy()
    image[20:60, 20:180] = (0, 0, 0)
    Image.fromarray(image).save(path)
    assert run(*args, "--min-ssim", "0.999") == 1
    assert "FAIL: mean ssim" in capsys.readouterr().err
    assert run(*args, "--min-ssim", "0.5") == 0


def test_a_reference_of_another_size_or_missing_is_a_named_problem(dataset, tmp_path, capsys):
    from PIL import Image

    refs = _references(dataset, tmp_path / "refs")
    Image.new("RGB", (100, 40)).save(refs / "images" / "002.png")
    (refs / "images" / "003.png").unlink()
    assert run("--annotations", dataset, "--reference-images", refs) == 1  # problems fail
    err = capsys.readouterr().err
    assert "reference-size" in err and "missing-reference" in err
    assert run("--annotations", dataset, "--reference-images", refs, "--allow-problems") == 0


def test_fidelity_gates_without_references_are_refused(dataset, capsys):
    assert run("--annotations", dataset, "--min-ssim", "0.5") == 2
    assert "give --reference-images DIR" in capsys.readouterr().err
