"""How much of GB2312 a judge can output at all, computed from its dictionary.

A target holding a character outside the judge's dictionary can never be read right, so the
evaluator reports such regions apart (``report.uncovered``). These counts say how large that
blind spot is for common text: printed by ``glyphgen eval --list-backends``, recorded in
every report's ``backend.coverage``, quoted in docs/eval.md.
"""

from __future__ import annotations

from collections.abc import Collection

from glyphgen.typeset.charsets import gb2312_level1, gb2312_level2


def gb2312_coverage(charset: Collection[str]) -> dict[str, dict[str, int | str]]:
    """{"gb2312-l1": {"covered": n, "total": 3755, "missing": "..."}, "gb2312-l2": {...}}."""
    out: dict[str, dict[str, int | str]] = {}
    for name, chars in (("gb2312-l1", gb2312_level1()), ("gb2312-l2", gb2312_level2())):
        missing = "".join(c for c in chars if c not in charset)
        out[name] = {
            "covered": len(chars) - len(missing),
            "total": len(chars),
            "missing": missing,
        }
    return out


def coverage_summary(charset: Collection[str]) -> dict[str, str]:
    """{"gb2312-l1": "3747/3755", "gb2312-l2": "1732/3008"}: the short form reports carry."""
    return {name: f"{c['covered']}/{c['total']}" for name, c in gb2312_coverage(charset).items()}
