"""Does one row of a style-edit run read better than another, on the same edits?

    python bench/paired_rows.py --work out/bench-edits-validation300 \\
        --rows leg9-ema-noise leg10-ema-noise leg11-ema-noise --out out/paired-legs

The first of ``--rows`` is the base. Each row's outputs (left in ``--work`` by one or more
``glyphgen bench edit`` runs with that ``--work``: the set is rebuilt from its seed, so rows
of different runs are the same edits) are read again by the benchmark's judge (PP-OCRv4),
and every other row is compared with the base edit by edit:

- sentence accuracy and Levenshtein ratio, each with the paired bootstrap 95% interval of
  its difference from the base (what the edits share, a hard photo or a hard line, cancels);
- the discordant edits: read exactly by this row and not the base ("wins"), and the other
  way ("losses"). Two rows 0.03 apart on 250 judged lines can be 8 wins against 0 losses
  (a real gain) or 30 against 22 (noise): the counts say which.

Only edits whose B the judge can output are compared (as in the benchmark's own figures).
Writes ``<out>.json`` and ``<out>.md`` (default bench/results/paired_rows).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from glyphgen.benchmark.edit import (
    PSNR_CAP,
    against,
    discordant,
    interval_cell,
    legibility,
    load_edits,
    rerun_main,
    surface_figures,
)
from glyphgen.eval.backends import create_backend
from glyphgen.eval.evaluate import evaluate
from glyphgen.images import open_image

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


SURFACE = {"ssim": "region SSIM", "background_psnr": "background PSNR", "halo_psnr": "halo PSNR"}


def read_row(labels: Path, row: str, judge: Any, edits: list[Any]) -> dict[str, Any]:
    """A row as the benchmark keeps it (``per_edit``: exact, ratio, and the surface figures
    of ``benchmark.edit.surface_figures``), read again from the outputs it left next to the
    set."""
    report = evaluate(labels, labels.parent.parent / row, backend=judge)
    if report.problems or len(report.regions) != len(labels.read_text().splitlines()):
        raise SystemExit(
            f"{row}: {len(report.problems)} output(s) could not be read "
            f"({report.problems[:1]}...); re-run the benchmark row"
        )
    regions = sorted(report.regions, key=lambda r: r.sample)  # one region an edit
    folder = labels.parent.parent / row
    return {
        "per_edit": [
            {
                **legibility(r, r.covered is not False),
                **surface_figures(open_image(folder / e.image), e),
            }
            for r, e in zip(regions, edits, strict=True)
        ]
    }


def summary(row: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    exact = np.array([p["exact"] for p in row["per_edit"]])
    ratio = np.array([p["ratio"] for p in row["per_edit"]])
    return {
        "judged": int(np.isfinite(exact).sum()),
        "sentence_acc": float(np.nanmean(exact)),
        "ratio": float(np.nanmean(ratio)),
        "vs_base_sentence_acc": against(row, base, "exact"),
        "vs_base_ratio": against(row, base, "ratio"),
        **{
            key: float(np.nanmean([min(p[key], PSNR_CAP) for p in row["per_edit"]]))
            for key in SURFACE
        },
        **{f"vs_base_{key}": against(row, base, key) for key in SURFACE},
        **discordant(row, base),
    }


def measure(labels: Path, rows: list[str]) -> dict[str, Any]:
    if len(rows) < 2:
        raise SystemExit("--rows: give a base row and at least one row to compare with it")
    judge = create_backend("rapidocr", threads=0)
    edits = load_edits(labels)
    read = {row: read_row(labels, row, judge, edits) for row in rows}
    base = read[rows[0]]
    return {
        "base": rows[0],
        "rows": {row: summary(read[row], base) for row in rows},
    }


def markdown(result: dict[str, Any], stamp: str) -> str:
    lines = [
        "# Rows of a style-edit run, paired with a base row",
        "",
        stamp,
        f"Outputs in `{result['work']}`, read by PP-OCRv4; base `{result['base']}`. "
        "Differences are this row minus the base on the same edits (paired bootstrap, 95%); "
        "wins / losses: edits read exactly by this row and not by the base / the other way.",
        "",
        "| row | judged | sentence acc | Levenshtein ratio | sentence acc vs base | "
        "Levenshtein vs base | wins / losses |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in result["rows"].items():
        cells = [interval_cell(d) for d in (r["vs_base_sentence_acc"], r["vs_base_ratio"])]
        if name == result["base"]:
            cells = ["(base)", "(base)"]
        lines.append(
            f"| {name} | {r['judged']} | {r['sentence_acc']:.3f} | {r['ratio']:.3f} | "
            f"{cells[0]} | {cells[1]} | {r['wins']} / {r['losses']} |"
        )
    lines += [
        "",
        "The scene around B (every edit; SSIM over the region, PSNR in dB: background outside "
        "B's ink grown by 3 px, halo the ring from there out to 0.2 of the line's size):",
        "",
        "| row | " + " | ".join(f"{v} | vs base" for v in SURFACE.values()) + " |",
        "|---|" + "---:|---|" * len(SURFACE),
    ]
    for name, r in result["rows"].items():
        cells = [
            f"{r[k]:.3f} | {'(base)' if name == result['base'] else interval_cell(r['vs_base_' + k])}"
            for k in SURFACE
        ]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    rerun_main(
        "bench/paired_rows.py",
        __doc__,
        ["classical", "shipped"],
        RESULTS / "paired_rows",
        measure,
        markdown,
    )


if __name__ == "__main__":
    main()
