"""What every command-line layer shares, and what the code it calls may record about it.

``fail`` prints an error the ``glyphgen`` way; ``command_line`` is the command as a person
would retype it (manifests record it); the ``*_arg`` checkers are argparse ``type=``
functions that refuse a bad number by name before any work starts. No imports beyond the
standard library: this module is loaded for every ``glyphgen`` call, ``--help`` included,
and by library code (training, export) that must not import the CLI itself.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
from pathlib import Path

SEED_LIMIT = 2**63  # seeds are in [0, SEED_LIMIT): torch.Generator.manual_seed's range


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


# -- argument checkers: each raises ValueError naming the rule, which argparse reports as
# -- "argument --steps: ..." and the batch reader as "line 3: steps: ..."
def positive_int(value: str | int) -> int:
    """An integer >= 1 (a count: steps, workers)."""
    n = _int(value)
    if n < 1:
        raise ValueError(f"must be an integer >= 1, got {value!r}")
    return n


def seed(value: str | int) -> int:
    """An integer in [0, 2**63)."""
    n = _int(value)
    if not 0 <= n < SEED_LIMIT:
        raise ValueError(f"must be an integer in [0, 2**63), got {value!r}")
    return n


def unit_interval(value: str | float) -> float:
    """A number in [0, 1] (a fraction: strength)."""
    x = _float(value)
    if not 0 <= x <= 1:
        raise ValueError(f"must be a number in [0, 1], got {value!r}")
    return x


def colour(value: str | list[int]) -> tuple[int, int, int]:
    """An sRGB colour: "#RRGGBB", "RRGGBB", "R,G,B" (0-255 each) or, from JSON, [R, G, B]."""
    rule = f'must be "#RRGGBB" or "R,G,B" with each of R, G, B in 0-255, got {value!r}'
    parts: list[str] | list[int]
    if isinstance(value, list):
        parts = value
    elif isinstance(value, str) and "," in value:
        parts = [p.strip() for p in value.split(",")]
    elif isinstance(value, str):
        digits = value.removeprefix("#")
        if len(digits) != 6 or any(c not in "0123456789abcdefABCDEF" for c in digits):
            raise ValueError(rule)
        return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))
    else:
        raise ValueError(rule)
    try:
        rgb = tuple(_int(p) for p in parts)
    except ValueError:
        raise ValueError(rule) from None
    if len(rgb) != 3 or not all(0 <= c <= 255 for c in rgb):
        raise ValueError(rule)
    return (rgb[0], rgb[1], rgb[2])


def argparse_type(check):
    """``check`` as an argparse ``type=``: its ValueError becomes argparse's error (usage,
    ``argument --x: <message>``, exit 2) instead of argparse's generic "invalid value"."""

    def convert(value: str):
        try:
            return check(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    convert.__name__ = check.__name__  # argparse names the type in some messages
    return convert


def _int(value: str | int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"must be an integer, got {value!r}")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"must be an integer, got {value!r}") from None


def _float(value: str | float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"must be a number, got {value!r}")
    try:
        x = float(value)
    except ValueError:
        raise ValueError(f"must be a number, got {value!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"must be a finite number, got {value!r}")
    return x
