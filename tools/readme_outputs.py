"""The README's printed examples, made by running the commands the README shows beside them.

    python tools/readme_outputs.py            # rewrite the blocks in README.md
    python tools/readme_outputs.py --check    # exit 1 when README.md differs (tests run this)

A block is the fenced text between ``<!-- output: NAME -->`` and ``<!-- end output -->``. The
commands run in a scratch folder, so paths print as the README writes them (``out/...``);
timings, which differ run to run, are shown as ``...``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"(<!-- output: (\S+) -->\n```text\n)(.*?)(```\n<!-- end output -->)", re.S)


def _glyphgen(args: list[str], cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "glyphgen", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def synth(cwd: Path) -> str:
    """The set-up command's second half: 100 recognition lines on bundled defaults."""
    out = _glyphgen(["synth", "--out", "out/sample"], cwd)
    out = out.replace(str(cwd) + "/", "")
    return re.sub(r"^time: .*$", "time: ...", out, flags=re.M)


def eval_scenes(cwd: Path) -> str:
    """``glyphgen eval`` on 20 factory scenes: its summary, up to the first group table."""
    _glyphgen(["synth", "--preset", "scenes-det", "--num", "20", "--out", "out/scenes"], cwd)
    out = _glyphgen(
        ["eval", "--annotations", "out/scenes/labels.jsonl", "--out", "out/scenes-eval"], cwd
    )
    start = out.index("- samples:")
    end = out.index("\n### ", start)
    return out[start:end].strip() + "\n"


OUTPUTS: dict[str, Callable[[Path], str]] = {"synth": synth, "eval": eval_scenes}


def render(readme: str) -> str:
    """``readme`` with every output block made anew."""
    with tempfile.TemporaryDirectory() as tmp:
        made = {name: make(Path(tmp)) for name, make in OUTPUTS.items()}

    def fill(m: re.Match) -> str:
        name = m.group(2)
        if name not in made:
            raise SystemExit(f"README.md: no maker for output block {name!r}; known: {list(made)}")
        return m.group(1) + made[name] + m.group(4)

    return BLOCK.sub(fill, readme)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="exit 1 if README.md is out of date")
    args = p.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    fresh = render(text)
    if args.check:
        if fresh != text:
            print("README.md's printed examples are out of date: python tools/readme_outputs.py")
            return 1
        return 0
    README.write_text(fresh, encoding="utf-8")
    print(f"wrote {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
