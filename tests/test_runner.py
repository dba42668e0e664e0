"""Shards: same bytes whatever the worker count or backend, resume after a kill, no mixing."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from glyphgen.synth import shards as sh
from glyphgen.synth.config import load_config
from glyphgen.synth.runner import run

FAST = ["text.length=[2, 4]", "line.height=32", "output.shard_size=4"]


def _digest_tree(out: Path) -> dict[str, str]:
    """sha256 of every data file under shards/ (manifests hold timings, so they are left out)."""
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((out / "shards").rglob("*"))
        if p.is_file() and p.name not in (sh.SHARD_MANIFEST, "lock.mdb")
    }


def test_same_bytes_with_one_or_two_workers(tmp_path):
    cfg = load_config(preset="lines", overrides=FAST, extra={"num": 12})
    one = run(cfg, tmp_path / "one", workers=1, progress=False)
    two = run(cfg, tmp_path / "two", workers=2, progress=False)
    assert one.samples_written == two.samples_written == 12
    assert _digest_tree(tmp_path / "one") == _digest_tree(tmp_path / "two")
    labels = (tmp_path / "one" / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["index"] for x in labels] == list(range(12))


def test_resume_skips_complete_shards_and_redoes_damaged_ones(tmp_path):
    cfg = load_config(preset="lines", overrides=FAST, extra={"num": 12})
    out = tmp_path / "run"
    run(cfg, out, progress=False)
    reference = _digest_tree(out)
    # Damage: a shard deleted, one with a truncated image, a half-written temporary folder.
    (out / "shards" / "00001" / sh.SHARD_MANIFEST).unlink()
    victim = next((out / "shards" / "00002" / "images").iterdir())
    victim.write_bytes(victim.read_bytes()[:10])
    (out / "shards" / ".tmp-00000-dead").mkdir()
    report = run(cfg, out, progress=False)
    assert (report.shards_resumed, report.shards_rendered, report.temporaries_swept) == (1, 2, 1)
    assert _digest_tree(out) == reference


def test_a_different_config_is_refused_in_the_same_folder(tmp_path):
    out = tmp_path / "run"
    run(load_config(preset="lines", overrides=FAST, extra={"num": 4}), out, progress=False)
    other = load_config(preset="lines", overrides=[*FAST, "line.height=40"], extra={"num": 4})
    with pytest.raises(sh.OutputMismatchError, match="different config"):
        run(other, out, progress=False)
    # More samples of the same config is not a different config: it extends the run.
    more = run(load_config(preset="lines", overrides=FAST, extra={"num": 8}), out, progress=False)
    assert (more.shards_resumed, more.shards_rendered) == (1, 1)


def test_killed_run_resumes_to_the_same_bytes(tmp_path):
    """SIGKILL the CLI mid-run; the re-run keeps sealed shards and ends byte-identical."""
    args = ["--preset", "lines", "--num", "60", "--workers", "1", "--quiet"]
    args += [x for o in FAST for x in ("--set", o)]
    cmd = [sys.executable, "-m", "glyphgen", "synth", *args]
    killed = tmp_path / "killed"
    proc = subprocess.Popen([*cmd, "--out", str(killed)], start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        done = list((killed / "shards").glob("0*/" + sh.SHARD_MANIFEST))
        if len(done) >= 2:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    sealed_before = {p.parent.name for p in (killed / "shards").glob("0*/" + sh.SHARD_MANIFEST)}
    assert 2 <= len(sealed_before) < 15, "the run was not interrupted mid-way"
    subprocess.run([*cmd, "--out", str(killed)], check=True)
    report = json.loads((killed / "report.json").read_text(encoding="utf-8"))
    assert report["shards_resumed"] >= len(sealed_before)
    subprocess.run([*cmd, "--out", str(tmp_path / "clean")], check=True)
    assert _digest_tree(killed) == _digest_tree(tmp_path / "clean")


def test_ray_backend_matches_local(tmp_path):
    pytest.importorskip("ray")
    cfg = load_config(preset="lines", overrides=FAST, extra={"num": 8})
    run(cfg, tmp_path / "local", workers=1, progress=False)
    report = run(cfg, tmp_path / "ray", workers=2, backend="ray", progress=False)
    assert report.samples_written == 8
    assert _digest_tree(tmp_path / "ray") == _digest_tree(tmp_path / "local")


def test_coverage_mode_reports_every_character_covered(tmp_path):
    cfg = load_config(
        preset="lines",
        overrides=[
            "text.source=coverage",
            "text.charset=synth_data/charsets/example_shop.txt",
            "text.min_count=3",
            "text.length=[4, 6]",
            "line.height=32",
            "output.shard_size=8",
        ],
        extra={"num": 0},
    )
    report = run(cfg, tmp_path / "cov", progress=False)
    assert report.coverage_min is not None and report.coverage_min >= 3
