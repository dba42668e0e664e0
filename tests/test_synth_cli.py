"""``glyphgen synth`` on bad input: named errors and exit codes, never a traceback."""

import signal
import subprocess
import sys

import pytest

from glyphgen.cli import main

SMALL = ["synth", "--quiet", "--set", "line.height=32", "--set", "text.length=[2, 4]"]


def test_workers_below_one_is_refused_with_the_valid_range(tmp_path, capsys):
    assert main([*SMALL, "--workers", "0", "--num", "2", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--workers must be at least 1, got 0; leave it out to use all" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("line.height=-5", "config.line: height must be >= 8, got -5"),
        ("effects.blur_prob=1.5", "config.effects: blur_prob is a probability"),
        ("scene.font_size=[40, 20]", "config.scene: font_size must be [min, max]"),
        ("output.jpeg_quality=0", "config.output: jpeg_quality must be between 1 and 100"),
    ],
)
def test_out_of_range_settings_are_named(tmp_path, capsys, setting, message):
    assert main([*SMALL, "--set", setting, "--num", "2", "--out", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err


def test_a_run_that_writes_nothing_fails_and_says_why(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\U000f0000\U000f0001\n\U000f0002\U000f0003\n", encoding="utf-8")
    args = [*SMALL, "--set", "text.source=corpus", "--set", f"text.corpus=[{corpus}]"]
    assert main([*args, "--num", "3", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "0 samples written of 3 requested: every text was skipped" in err
    assert "texts_skipped_missing_glyph" in err and "fonts.on_missing=replace" in err
    assert (tmp_path / "o" / "report.json").exists()  # kept, to look into


def test_a_closed_stdout_ends_quietly(tmp_path):
    """``glyphgen synth ... | head -1``: the summary meets a closed pipe."""
    cmd = [sys.executable, "-m", "glyphgen", *SMALL, "--num", "2", "--out", str(tmp_path / "o")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader leaves before the first line
    err = proc.stderr.read().decode()
    assert proc.wait() == 128 + signal.SIGPIPE, err
    assert "Traceback" not in err and "Error" not in err
    assert (tmp_path / "o" / "labels.jsonl").exists()
