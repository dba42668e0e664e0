"""The style-edit benchmark end to end on a few held-out photo edits: every row judged on the
same edits, the ceiling perfect by its own figures, models compared with the classical edit."""

import json

import numpy as np
import pytest

from glyphgen.benchmark import edit as eb
from glyphgen.benchmark.glyph import ModelEntry


@pytest.fixture(scope="module")
def results(trained, tmp_path_factory):
    work = tmp_path_factory.mktemp("edits")
    models = [ModelEntry("tiny", trained, strength=0.4)]
    return eb.run_edit_benchmark(models, work, limit=3, log=lambda _: None), work


@pytest.mark.slow
def test_every_row_is_judged_on_the_same_edits(results):
    res, _ = results
    assert [r["name"] for r in res["rows"]] == ["ground truth", "classical", "tiny"]
    assert res["set"]["edits"] == 3
    for row in res["rows"]:
        assert len(row["per_edit"]) == 3
        assert row["legibility"]["n"] + row["uncovered"] == 3


@pytest.mark.slow
def test_the_ground_truth_is_the_ceiling_of_every_fidelity_figure(results):
    truth = results[0]["rows"][0]["summary"]
    assert truth["ssim"] == pytest.approx(1.0)
    assert truth["psnr"] == eb.PSNR_CAP and truth["background_psnr"] == eb.PSNR_CAP
    assert truth["colour_median"] == 0 and truth["seam"] == 0 and truth["cast"] == 0


@pytest.mark.slow
def test_models_are_compared_with_the_classical_edit(results, tmp_path):
    res, _ = results
    tiny = res["rows"][2]
    vs = tiny["vs_classical"]
    assert set(vs) == {"exact", "ratio", "ssim", "background_psnr", "wins", "losses"}
    for key in ("exact", "ratio", "ssim", "background_psnr"):
        assert vs[key]["low"] <= vs[key]["mean_difference"] <= vs[key]["high"]
    paths = eb.write_results(res, tmp_path)
    assert [p.name for p in paths] == ["edits.json", "edits.md", "contact_sheet.png"]
    assert "| classical |" in paths[1].read_text(encoding="utf-8")
    assert "per_edit" not in json.loads(paths[0].read_text(encoding="utf-8"))["rows"][0]


def rows_read(*exact_rows):
    """Rows as the benchmark keeps them, from readings: 1 exact, 0 not, None not judged."""
    nan = float("nan")
    return [
        {"per_edit": [{"exact": nan if e is None else float(e), "ratio": nan} for e in exact]}
        for exact in exact_rows
    ]


def test_a_difference_in_reading_is_paired_edit_by_edit():
    # the row reads every edit the base reads, and two more: all of its gain is wins
    row, base = rows_read([1, 1, 1, 1, 0, None], [1, 1, 0, 0, 0, 1])
    assert eb.discordant(row, base) == {"wins": 2, "losses": 0}
    gain = eb.against(row, base, "exact")
    assert gain["mean_difference"] == pytest.approx(2 / 5)  # the unjudged edit left out
    assert 0 <= gain["low"] < gain["mean_difference"] <= gain["high"] <= 1  # never a loss
    # the same accuracies made of wins and losses that cancel: the interval straddles 0
    row, base = rows_read([1, 0, 1, 0, 1, 0, 1, 0], [0, 1, 0, 1, 1, 0, 1, 0])
    assert eb.discordant(row, base) == {"wins": 2, "losses": 2}
    tie = eb.against(row, base, "exact")
    assert tie["mean_difference"] == 0 and tie["low"] < 0 < tie["high"]
    # no edit the judge can read: nothing to compare, not a crash at the end of a run
    row, base = rows_read([None, None], [None, None])
    assert eb.interval_cell(eb.against(row, base, "exact")) == "-"


def test_fill_pixels_are_the_ink_nearest_the_fill_colour():
    truth = np.zeros((8, 8, 3), np.uint8)
    truth[:, :4] = (200, 30, 30)  # fill
    truth[:, 4:] = (10, 10, 10)  # an outline, also ink
    ink = np.ones((8, 8), bool)
    picked = eb.fill_pixels(truth, ink, [200, 30, 30])
    assert picked[:, :4].all() and not picked[:, 4:].any()


@pytest.mark.slow
def test_a_run_is_re_read_only_with_its_set_and_the_rows_asked_for(results):
    _, work = results
    assert eb.run_labels(work, ["classical", "tiny"]) == work / "set" / "labels.jsonl"
    with pytest.raises(FileNotFoundError, match=r"rows \['from-noise'\].*glyphgen bench edit"):
        eb.run_labels(work, ["tiny", "from-noise"])
