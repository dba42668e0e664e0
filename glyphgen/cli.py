"""The ``glyphgen`` command: one sub-command per job. Parsing only; each job lives in its part.

glyphgen synth   make a synthetic text dataset          (glyphgen.synth.cli)
glyphgen fonts   list fonts and their verified coverage  (glyphgen.synth.cli)
glyphgen eval    OCR-check images against their text     (glyphgen.eval.cli)
glyphgen train   train the glyph diffusion model         (glyphgen.model.cli)
glyphgen render  draw text into images with the model    (glyphgen.model.cli)
glyphgen serve   a web page to try the model             (glyphgen.web.cli)
glyphgen bench   benchmark glyph models                  (glyphgen.benchmark.cli)
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
from pathlib import Path

# Each module exposes ``register(subparsers)``; a registered parser sets ``func(args) -> int``.
_JOB_MODULES = (
    "glyphgen.synth.cli",
    "glyphgen.eval.cli",
    "glyphgen.model.cli",
    "glyphgen.reader.cli",
    "glyphgen.web.cli",
    "glyphgen.benchmark.cli",
)


def fail(message: str, code: int = 2) -> int:
    """Say what went wrong as ``glyphgen: error: ...`` on stderr; the exit code to return."""
    print(f"glyphgen: error: {message}", file=sys.stderr)
    return code


def command_line(argv: list[str] | None = None) -> str:
    """The command as a person would retype it: ``glyphgen ...`` rather than the path of the
    installed script (recorded in manifests)."""
    args = list(sys.argv if argv is None else argv)
    if args and Path(args[0]).name == "glyphgen":
        args[0] = "glyphgen"
    return shlex.join(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glyphgen",
        description="Exact Chinese text in images: synthesize data, render, evaluate.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _JOB_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real missing dependency inside the module: say so
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
