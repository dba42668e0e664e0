"""The ``glyphgen`` command: one sub-command per job. Parsing only; each job lives in its part.

glyphgen synth   make a synthetic text dataset          (glyphgen.synth.cli)
glyphgen fonts   list fonts and their verified coverage  (glyphgen.synth.cli)
glyphgen eval    OCR-check images against their text     (glyphgen.eval.cli)
glyphgen train   train the glyph diffusion model         (glyphgen.model.cli)
glyphgen render  draw text into images with the model    (glyphgen.render.cli)
glyphgen train-reader  train the CTC recognizer          (glyphgen.reader.cli)
glyphgen serve   a web page to try the model             (glyphgen.web.cli)
glyphgen bench   benchmark glyph models                  (glyphgen.benchmark.cli)
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any

# ``fail`` and ``command_line`` live in glyphgen.cmdline (library code records command lines
# too, and must not import this module); re-exported for the parts' CLI modules.
from glyphgen.cmdline import command_line, fail

__all__ = ["COMMANDS", "build_parser", "command_line", "fail", "main"]

# Command -> the module that registers it. Each module exposes ``register(subparsers)``; a
# registered parser sets ``func(args) -> int``. Only the named command's module is imported
# (``glyphgen render`` does not load the factory, the evaluator or the web server); all of
# them for ``glyphgen --help`` and unknown commands.
COMMANDS = {
    "synth": "glyphgen.synth.cli",
    "fonts": "glyphgen.synth.cli",
    "eval": "glyphgen.eval.cli",
    "train": "glyphgen.model.cli",
    "render": "glyphgen.render.cli",
    "train-reader": "glyphgen.reader.cli",
    "serve": "glyphgen.web.cli",
    "bench": "glyphgen.benchmark.cli",
}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The ``glyphgen`` parser; given ``argv``, with only the sub-command it names."""
    parser = argparse.ArgumentParser(
        prog="glyphgen",
        description="Exact Chinese text in images: synthesize data, render, evaluate.",
    )
    # the parts one command's part stands below, handed to it here (glyphgen synth's
    # --model-draw draws with the glyph model, which is trained on the factory)
    parser.set_defaults(region_drawer=region_drawer)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # the command comes first (the top level has no options but --help, which lists them all)
    command = argv[0] if argv else None
    modules = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real missing dependency inside the module: say so
                raise
            continue
        module.register(sub)
    return parser


def region_drawer() -> Any:
    """What redraws the regions ``glyphgen synth --model-draw`` picks: the glyph model
    through ``glyphgen.render`` (``glyphgen.synth.model_draw`` is the factory's seam)."""
    from glyphgen.render.model_drawn import ModelDrawer

    return ModelDrawer


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
