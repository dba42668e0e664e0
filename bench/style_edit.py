"""The style-edit benchmark's classical row before and after the style estimate, side by side.

    # the run, with today's classical row (A's face, weight, outline and shadow):
    nice glyphgen bench edit --threads 1 --work /tmp/bench-style --no-sheet
    # the same pairs edited by the code before the estimate (a worktree at that commit),
    # its classical images copied in as the row "classical-before":
    cp -r /tmp/bench-before/classical /tmp/bench-style/classical-before
    python bench/style_edit.py --work /tmp/bench-style --rows classical-before classical

Every row is judged again here as the benchmark judges it (PP-OCRv4, one thread), with the
benchmark's figures (docs/eval.md) and the stroke-width ratio of B in the output to A in the
source (``glyphgen.eval.edit_metrics.stroke_width_ratio``); each row after the first is
compared with the first, edit by edit (paired bootstrap 95%, wins / losses). Writes
``bench/results/style_edit.{json,md}`` with machine, date and command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from glyphgen.benchmark.edit import (
    against,
    discordant,
    interval_cell,
    judge,
    load_edits,
    rerun_main,
)
from glyphgen.benchmark.glyph import make_judges
from glyphgen.images import open_image

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def measure(labels: Path, rows: list[str]) -> dict[str, Any]:
    edits = load_edits(labels)
    work = labels.parent.parent
    judges, _ = make_judges(1, combined=False)
    out = []
    for row in rows:
        outputs = [open_image(work / row / e.image) for e in edits]
        out.append(judge(row, outputs, edits, labels, work / row, judges["rapidocr"]))
    for row in out[1:]:
        row["vs_first"] = {
            key: against(row, out[0], key) for key in ("exact", "ssim", "colour_error")
        } | discordant(row, out[0])
    for row in out:
        row.pop("per_edit")
    return {"edits": len(edits), "rows": out}


def _f(v: Any, digits: int) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def markdown(result: dict[str, Any], stamp: str) -> str:
    lines = [
        "# Style-edit benchmark: the classical edit before and after the style estimate",
        "",
        stamp,
        "",
        f"{result['edits']} edits of the style-edit benchmark (`bench/sets/edits.yaml`, "
        "held-out photos and font), read by PP-OCRv4. Figures as in docs/eval.md; stroke "
        "B/A: median over the edits where both have fill-coloured pixels.",
        "",
        "| row | sentence acc | colour ΔE00 median / p90 | SSIM | background PSNR | seam | "
        "stroke B/A median (edits) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        s, a = r["summary"], r["legibility"]
        lines.append(
            f"| {r['name']} | {a['sentence_acc']:.3f} | {s['colour_median']:.1f} / "
            f"{s['colour_p90']:.1f} | {s['ssim']:.3f} | {s['background_psnr']:.1f} | "
            f"{s['seam']:.1f} | {_f(s['stroke_ratio_median'], 2)} ({s['stroke_ratio_edits']}) |"
        )
    first = result["rows"][0]["name"]
    compared = [r for r in result["rows"] if "vs_first" in r]
    if compared:
        lines += [
            "",
            f"Against `{first}`, edit by edit (paired bootstrap 95%: mean difference [low, high]):",
            "",
            "| row | sentence acc | exact where the first is not / the other way | SSIM | "
            "colour ΔE00 |",
            "|---|---:|---:|---:|---:|",
        ]
        for r in compared:
            v = r["vs_first"]
            lines.append(
                f"| {r['name']} | {interval_cell(v['exact'])} | {v['wins']} / {v['losses']} | "
                f"{interval_cell(v['ssim'])} | {interval_cell(v['colour_error'])} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    rerun_main(
        "bench/style_edit.py",
        __doc__,
        ["classical-before", "classical"],
        RESULTS / "style_edit",
        measure,
        markdown,
    )


if __name__ == "__main__":
    main()
