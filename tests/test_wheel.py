"""The installed wheel is the product: build it, install it into a fresh virtual environment
and run synth, eval and render from an empty folder, far from any checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from glyphgen.paths import REPO_ROOT

# Build outputs and caches of the checkout must not reach the copy the wheel is built from
# (a stale build/lib would put files in the wheel that pyproject.toml leaves out).
NOT_SOURCE = shutil.ignore_patterns(
    ".git", "build", "dist", "out", "runs", "*.egg-info", "__pycache__", ".venv*", ".*_cache"
)


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{' '.join(cmd)}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.slow
def test_the_wheel_synthesizes_evaluates_and_renders_from_an_empty_folder(tmp_path):
    if not (REPO_ROOT / "pyproject.toml").is_file():
        pytest.skip("not a checkout: no pyproject.toml to build the wheel from")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GLYPHGEN_FONTS_DIR")}
    # 1) the wheel, from a clean copy of the source (no network: setuptools of this env)
    src = tmp_path / "src"
    shutil.copytree(REPO_ROOT, src, ignore=NOT_SOURCE)
    wheels = tmp_path / "wheels"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(wheels), str(src)],
        tmp_path,
        env,
    )  # fmt: skip
    (wheel,) = wheels.glob("glyphgen-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for needed in (
        "glyphgen/data/presets/lines.yaml",
        "glyphgen/data/corpora/signboards.txt",
        "glyphgen/data/fonts/manifest.json",
        "glyphgen/data/fonts/noto-sans-sc.otf",
        "glyphgen/data/weights/glyph-default/model_index.json",
        "glyphgen/data/weights/reader/model.safetensors",
        "glyphgen/model/configs/cpu.yaml",
        "glyphgen/web/static/index.html",
    ):
        assert needed in names, needed
    # what only the benchmarks read stays in the checkout
    assert not [n for n in names if "wenkai.ttf" in n or "glyph-campaign" in n]

    # 2) a fresh environment: torch and the rest come from this one, glyphgen from the wheel
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], tmp_path, env)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / "python"
    _run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        tmp_path,
        env,
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    where = _run([str(python), "-c", "import glyphgen; print(glyphgen.__file__)"], empty, env)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout  # not the checkout

    # 3) the three commands, from the empty folder, on their defaults
    glyphgen = str(bindir / "glyphgen")
    _run([glyphgen, "synth", "--out", "o", "--num", "4"], empty, env)
    assert len((empty / "o" / "labels.jsonl").read_text(encoding="utf-8").splitlines()) == 4
    heldout = [glyphgen, "synth", "--out", "h", "--num", "1", "--set", "fonts.split=heldout"]
    refused = subprocess.run(heldout, cwd=empty, env=env, capture_output=True, text=True)
    assert refused.returncode == 2 and "ships in a checkout" in refused.stderr, refused.stderr
    bench = [glyphgen, "bench", "edit", "--limit", "1"]  # the sets ship in a checkout only
    refused = subprocess.run(bench, cwd=empty, env=env, capture_output=True, text=True)
    assert refused.returncode == 2 and "sets ship in a checkout" in refused.stderr, refused.stderr
    _run(
        [glyphgen, "eval", "--annotations", "o/labels.jsonl", "--out", "ev", "--quiet"], empty, env
    )
    report = json.loads((empty / "ev" / "report.json").read_text(encoding="utf-8"))
    assert report["counts"]["samples"] == 4 and report["counts"]["problems"] == 0
    _run(
        [glyphgen, "render", "--text", "宁静致远", "--strength", "0", "--out", "draft.png"],
        empty,
        env,
    )
    _run(
        [glyphgen, "render", "--text", "宁静致远", "--steps", "4", "--out", "model.png"], empty, env
    )
    for name in ("draft", "model"):
        assert (empty / f"{name}.png").stat().st_size > 0
        assert json.loads((empty / f"{name}.json").read_text(encoding="utf-8"))
