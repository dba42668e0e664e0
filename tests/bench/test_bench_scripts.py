"""Every benchmark script runs end to end on tiny input and writes its results (smoke tests:
the figures themselves are the scripts' business, recorded in bench/results/)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from glyphgen.paths import REPO_ROOT

BENCH = REPO_ROOT / "bench"
# the scripts that re-read a style-edit run, and the rows they read in it
RERUNS = {
    "colour_bound": ["classical", "draft"],
    "edit_edges": ["classical", "draft"],
    "paired_rows": ["classical", "draft"],
    "style_edit": ["classical", "draft", "classical-system"],  # the last drawn by the script
}

pytestmark = pytest.mark.slow


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``python ARGS`` with this checkout's glyphgen, one torch thread; fails with its output."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, f"{args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def edit_run(tmp_path_factory):
    """A style-edit run of 3 pairs (ground truth, classical, the draft of the shipped model)."""
    root = tmp_path_factory.mktemp("edit-run")
    work, results = root / "work", root / "results"
    run(
        ["-m", "glyphgen", "bench", "edit", "--limit", "3", "--no-sheet", "--threads", "1",
         "--model", "draft=weights/glyph-default@0", "--work", str(work),
         "--results", str(results)],
        REPO_ROOT,
    )  # fmt: skip
    assert (results / "edits.json").is_file()
    return work


def test_every_script_has_a_smoke_test():
    scripts = {p.stem for p in BENCH.glob("*.py")}
    covered = set(RERUNS) | set(SCRIPTS) | {"ink_mask_reach", "recipe_race", "style_faces"}
    assert scripts == covered, f"no smoke test for {sorted(scripts - covered)}"


@pytest.mark.parametrize("script", sorted(RERUNS))
def test_the_scripts_that_reread_a_style_edit_run(script, edit_run, tmp_path):
    out = tmp_path / script
    rows = RERUNS[script]
    run(
        [f"bench/{script}.py", "--work", str(edit_run), "--rows", *rows, "--out", str(out)],
        BENCH.parent,
    )
    assert out.with_suffix(".json").is_file() and out.with_suffix(".md").is_file()


def test_ink_mask_reach(edit_run, tmp_path):
    out = tmp_path / "ink_mask_reach"
    run(["bench/ink_mask_reach.py", "--work", str(edit_run), "--out", str(out)], REPO_ROOT)
    assert out.with_suffix(".json").is_file() and out.with_suffix(".md").is_file()


def test_style_faces(tmp_path):
    pairs = tmp_path / "pairs"
    run(
        ["-m", "glyphgen", "synth", "--preset", "edits", "--num", "3", "--workers", "1",
         "--out", str(pairs)],
        REPO_ROOT,
    )  # fmt: skip
    out = tmp_path / "style_faces"
    run(
        ["bench/style_faces.py", "--labels", str(pairs / "labels.jsonl"), "--out", str(out)],
        REPO_ROOT,
    )
    assert out.with_suffix(".json").is_file() and out.with_suffix(".md").is_file()


# script -> (its tiny-input arguments, what it writes under --out: a folder or a stem)
SCRIPTS = {
    "eval_throughput": (["--num", "8", "--repeats", "1", "--cores", "1"], "eval_throughput.json"),
    "factory_to_trainer": (["--lines", "4", "--scenes", "2", "--rounds", "1"], ".json"),
    "limits_probes": (["--only", "10^12 samples", "1000 workers"], "limits_probes.json"),
    "model_drawn_set": (["--num", "2", "--tries", "1", "--work", "{tmp}/work"], ".json"),
    "model_latency": (["--config", "tiny", "--repeats", "1"], ".json"),
    "model_overfit": (["--steps", "2", "--threads", "1"], "model_overfit_sample.json"),
    "model_train_speed": (
        ["--steps", "3", "--rounds", "1", "--rows", "race-ahead", "--threads", "1"],
        "model_train_speed.json",
    ),
    "reader_eval": (["--lines", "4"], "reader.json"),
    "reader_train_speed": (
        ["--rounds", "1", "--steps", "1", "--batch", "4", "--threads", "1"],
        "reader_train_speed.json",
    ),
    "synth_vs_trdg": (
        ["--num", "20", "--scenes", "2", "--repeats", "1", "--trdg", "no-trdg-here"],
        "synth_vs_trdg.json",
    ),
    "verified_render": (
        [
            "--limit",
            "1",
            "--tries",
            "1",
            "--steps",
            "2",
            "--work",
            "{tmp}/work",
            "--model",
            "default=weights/glyph-default",
        ],
        ".json",
    ),
}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_script_runs_on_tiny_input(script, tmp_path):
    args, writes = SCRIPTS[script]
    out = tmp_path / "out"
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    run([f"bench/{script}.py", *args, "--out", str(out)], REPO_ROOT)
    written = Path(f"{out}{writes}") if writes.startswith(".") else out / writes
    assert written.exists(), sorted(tmp_path.rglob("*"))


def test_recipe_race_prepares_trains_and_judges(tmp_path):
    work, out = tmp_path / "work", tmp_path / "recipe_race"
    race = ["bench/recipe_race.py"]
    run([*race, "prepare", "--batches", "1", "--work", str(work)], REPO_ROOT)
    train = [
        "train",
        "today",
        "keep-known",
        "--budget-min",
        "0.05",
        "--jobs",
        "1",
        "--work",
        str(work),
    ]
    run([*race, *train], REPO_ROOT)
    run(
        [*race, "judge", "today", "--limit", "1", "--work", str(work), "--out", str(out)], REPO_ROOT
    )
    assert out.with_suffix(".json").is_file() and out.with_suffix(".md").is_file()
