"""Shards: same bytes whatever the worker count or backend, resume after a kill or a full disk,
no mixing."""

import contextlib
import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import lmdb
import pytest

from glyphgen.cli import main
from glyphgen.synth import lifetime, runner, writers
from glyphgen.synth import shards as sh
from glyphgen.synth.config import load_config
from glyphgen.synth.runner import run
from glyphgen.synth.writers.jsonl import JsonlWriter
from glyphgen.synth.writers.lmdb_env import LmdbWriter

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


def test_overwrite_clears_the_other_configs_shards_and_merged_outputs(tmp_path):
    out = tmp_path / "run"
    first = {"num": 8, "output": {"formats": ["jsonl", "paddle-rec", "lmdb"]}}
    run(load_config(preset="lines", overrides=FAST, extra=first), out, progress=False)
    (out / "shards" / ".tmp-00009-dead").mkdir()
    other = load_config(preset="lines", overrides=[*FAST, "line.height=40"], extra={"num": 4})
    report = run(other, out, overwrite=True, progress=False)
    assert (report.shards_resumed, report.shards_rendered) == (0, 1)
    assert sorted(p.name for p in (out / "shards").iterdir()) == ["00000"]
    assert not (out / "rec_gt.txt").exists() and not (out / "lmdb").exists()
    labels = (out / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["height"] for x in labels] == [40] * 4


@pytest.mark.slow
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


def _sealed(out: Path) -> int:
    return len(list((out / "shards").glob("0*/" + sh.SHARD_MANIFEST)))


def _live_members(group: int) -> list[int]:
    """Pids of process group ``group`` that still run (zombies write nothing: not counted)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] not in ("Z", "X"):
            pids.append(int(stat.parent.name))
    return pids


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
@pytest.mark.slow
def test_parent_killed_alone_leaves_no_writer_and_resumes_every_sample_once(tmp_path):
    """SIGKILL only the parent (what the OOM killer does) at several points, resume at once.

    Its pool workers must die with it: orphans that went on writing raced the resumed run
    (their temporary shards swept under them, then sealed without labels or LMDB)."""
    num, shard_size = 96, 24  # a shard takes about a second: longer than the check below
    args = ["--preset", "lines", "--num", str(num), "--workers", "2", "--quiet"]
    args += ["--format", "jsonl", "--format", "lmdb"]
    args += [x for o in [*FAST, f"output.shard_size={shard_size}"] for x in ("--set", o)]
    cmd = [sys.executable, "-m", "glyphgen", "synth", *args]
    subprocess.run([*cmd, "--out", str(tmp_path / "clean")], check=True, capture_output=True)
    reference = _digest_tree(tmp_path / "clean")
    for kill_at in (0, 1, 2):  # shards sealed (of 4) when the parent dies, one more in progress
        out = tmp_path / f"killed-{kill_at}"
        # Its own process group, so that whatever outlives the parent can be found (and ended).
        proc = subprocess.Popen([*cmd, "--out", str(out)], start_new_session=True)
        try:
            deadline = time.time() + 60
            while time.time() < deadline and proc.poll() is None:
                if _sealed(out) >= kill_at and any((out / "shards").glob(".tmp-*")):
                    break
                time.sleep(0.01)
            os.kill(proc.pid, signal.SIGKILL)  # the parent alone, not its group
            proc.wait()
            assert _sealed(out) < num // shard_size, "the run was not interrupted mid-way"
            # the kernel kills the workers with their parent (PR_SET_PDEATHSIG); a loaded
            # machine may take a while to reap them, so wait up to 10 s, not a fixed 0.3 s
            gone = time.time() + 10
            while _live_members(proc.pid) and time.time() < gone:
                time.sleep(0.05)
            assert _live_members(proc.pid) == [], "workers outlived their parent"
            resumed = subprocess.run([*cmd, "--out", str(out)], capture_output=True, text=True)
            assert resumed.returncode == 0, resumed.stderr
            labels = (out / "labels.jsonl").read_text(encoding="utf-8").splitlines()
            assert [json.loads(x)["index"] for x in labels] == list(range(num))
            assert _digest_tree(out) == reference
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


def test_a_temporary_shard_is_swept_only_once_its_writer_is_gone(tmp_path):
    shards = tmp_path / "shards"
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = shards / f".tmp-00000-{writer.pid}-0a1b2c3d"
        dead = shards / ".tmp-00001-999999999-0a1b2c3d"  # no such pid
        legacy = shards / ".tmp-00002-0a1b2c3d"  # older name without a pid: swept as before
        for path in (live, dead, legacy):
            (path / "images").mkdir(parents=True)
        assert sh.sweep_temporaries(tmp_path) == 2
        assert [p.name for p in shards.iterdir()] == [live.name]
    finally:
        writer.kill()
        writer.wait()
    assert sh.sweep_temporaries(tmp_path) == 1
    assert list(shards.iterdir()) == []


def _forge_manifest(shard: Path, drop: str) -> None:
    """Rewrite a shard's manifest as if the files under ``drop`` never existed: what a writer
    whose folder was swept under it used to seal."""
    manifest = json.loads((shard / sh.SHARD_MANIFEST).read_text(encoding="utf-8"))
    manifest["files"] = {k: v for k, v in manifest["files"].items() if not k.startswith(drop)}
    (shard / sh.SHARD_MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    for path in sorted(shard.glob(drop + "*"), reverse=True):
        if path.is_file():
            path.unlink()


def test_a_shard_missing_a_format_or_samples_is_redone(tmp_path):
    cfg = load_config(
        preset="lines", overrides=FAST, extra={"num": 12, "output": {"formats": ["jsonl", "lmdb"]}}
    )
    out = tmp_path / "run"
    run(cfg, out, progress=False)
    reference = _digest_tree(out)
    _forge_manifest(out / "shards" / "00000", "labels.jsonl")  # a format's labels gone
    _forge_manifest(out / "shards" / "00001", "lmdb/")  # the LMDB gone
    _forge_manifest(out / "shards" / "00002", "images/000000008")  # one image of four gone
    for verify in ("size", "hash"):
        plans = sh.plan_shards(12, 4)
        fp = json.loads((out / sh.RUN_MANIFEST).read_text(encoding="utf-8"))["fingerprint"]
        assert sh.is_complete(out, plans[0], fp, verify)  # the manifest alone is fooled
        files, images = writers.shard_layout(["jsonl", "lmdb"])
        assert not any(
            sh.is_complete(out, p, fp, verify, ["jsonl", "lmdb"], files, images) for p in plans
        )
    report = run(cfg, out, verify="hash", progress=False)
    assert (report.shards_resumed, report.shards_rendered) == (0, 3)
    assert _digest_tree(out) == reference


def test_a_folder_another_live_run_holds_is_refused(tmp_path):
    cfg = load_config(preset="lines", overrides=FAST, extra={"num": 4})
    out = tmp_path / "run"
    with lifetime.hold_folder(out):  # as another run would, with this process as the holder
        with pytest.raises(lifetime.FolderBusyError, match=f"pid {os.getpid()}"):
            run(cfg, out, progress=False, overwrite=True)
        assert not (out / "shards").exists()
    assert run(cfg, out, progress=False).samples_written == 4  # released: taken over


@pytest.mark.slow
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
            "text.charset=charsets/example_shop.txt",
            "text.min_count=3",
            "text.length=[4, 6]",
            "line.height=32",
            "output.shard_size=8",
        ],
        extra={"num": 0},
    )
    report = run(cfg, tmp_path / "cov", progress=False)
    assert report.coverage_min is not None and report.coverage_min >= 3


# -- a full disk or an I/O error: named, what was kept, an exact resume -----------------------
DISK_ARGS = ["synth", "--quiet", "--workers", "1", "--num", "12", "--format", "jsonl"]
DISK_ARGS += [
    "--set",
    "text.length=[2, 4]",
    "--set",
    "line.height=32",
    "--set",
    "output.shard_size=4",
]


def _disk_full_from(index: int, monkeypatch: pytest.MonkeyPatch) -> None:
    add = JsonlWriter.add

    def add_until_full(self, sample):
        if sample.index >= index:
            path = self.shard_dir / "labels.jsonl"
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        add(self, sample)

    monkeypatch.setattr(JsonlWriter, "add", add_until_full)


def test_disk_full_in_a_shard_is_named_and_the_resume_is_exact(tmp_path, capsys, monkeypatch):
    assert main([*DISK_ARGS, "--out", str(tmp_path / "ref")]) == 0
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        _disk_full_from(6, m)  # shard 0 is written, shard 1 fills the disk
        assert main([*DISK_ARGS, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "shard shards/00001: could not write " in err and "labels.jsonl" in err
    assert "No space left on device (errno 28)" in err
    assert "Kept: 1 of 3 shard(s) complete (4 of 12 samples)" in err
    assert sorted(p.name for p in (out / "shards").iterdir()) == ["00000"]  # no half shard
    assert main([*DISK_ARGS, "--out", str(out)]) == 0
    assert _digest_tree(out) == _digest_tree(tmp_path / "ref")


def test_a_write_error_after_the_shards_keeps_them_all(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"

    def merge_fails(formats, out_root, rels):
        raise OSError(errno.EIO, "Input/output error", str(out_root / "labels.jsonl"))

    with monkeypatch.context() as m:
        m.setattr(writers, "merge_outputs", merge_fails)
        assert main([*DISK_ARGS, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"could not write {out / 'labels.jsonl'}: Input/output error (errno 5)" in err
    assert "Kept: 3 of 3 shard(s) complete (12 of 12 samples)" in err
    assert not (out / "report.json").exists()
    assert main([*DISK_ARGS, "--out", str(out)]) == 0
    assert "shards: 3 (0 rendered now, 3 kept" in capsys.readouterr().out


def test_lmdb_errors_are_os_errors_naming_the_file(tmp_path):
    writer = LmdbWriter(tmp_path, "shards/00000")

    class FullEnv:
        def begin(self, write):
            raise lmdb.Error("mdb_txn_commit: Input/output error")

    real, writer._env = writer._env, FullEnv()
    writer._put(b"k", b"v")
    with pytest.raises(OSError, match="LMDB: mdb_txn_commit: Input/output error") as info:
        writer._commit()
    assert info.value.filename == str(tmp_path / "lmdb" / "data.mdb")
    real.close()


def test_worker_errors_cross_processes_in_one_line():
    """A pool worker's error is pickled to the driver: it must survive that whole."""
    import pickle

    exc = pickle.loads(pickle.dumps(runner.WriteFailed("shard shards/00001: could not write x")))
    assert str(exc) == "shard shards/00001: could not write x"
