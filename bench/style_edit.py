"""The style-edit benchmark's classical rows side by side: before and after the style
estimate, with the bundled faces only and with the system's faces as well.

    # the set (and its ground truth) from a benchmark run, or built alone:
    python -c "from pathlib import Path; from glyphgen.benchmark import edit as eb; \
        eb.build_set(eb.edits_config(eb.EDITS_CONFIG), Path('/tmp/style/set'), eb.EDITS_CONFIG.parent)"
    # a row drawn by other code (e.g. a worktree at an older commit) is copied in:
    cp -r /tmp/bench-before/classical /tmp/style/classical-before
    python bench/style_edit.py --work /tmp/style --rows classical-before classical classical-system

Rows of ``DRAWN`` missing from ``--work`` are drawn first by this checkout's classical edit
(A's text read by the judge, as the benchmark reads it): ``classical`` with the bundled
faces, ``classical-system`` with fontconfig's Chinese faces as well (``--system-fonts``;
none where fontconfig lists none, e.g. without fonts-noto-cjk-extra, fonts-arphic-*,
fonts-wqy-*). Every row is judged as the benchmark judges it (PP-OCRv4, one thread), with
the benchmark's figures (docs/eval.md) and the stroke-width ratio of B in the output to A
in the source (``glyphgen.eval.edit_metrics.stroke_width_ratio``); each row after the first
is compared with the first, edit by edit (paired bootstrap 95%, wins / losses). Writes
``bench/results/style_edit.{json,md}`` with machine, date and command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from glyphgen.benchmark.edit import (
    against,
    classical_row,
    discordant,
    interval_cell,
    judge,
    load_edits,
    rerun_main,
)
from glyphgen.benchmark.glyph import make_judges
from glyphgen.images import open_image
from glyphgen.typeset.fonts import FontLibrary

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DRAWN = {"classical": False, "classical-system": True}  # row -> with fontconfig's faces


def draw_missing(work: Path, rows: list[str]) -> None:
    """Rows of ``DRAWN`` that ``work`` lacks, drawn by the classical edit into ``work/ROW``."""
    from PIL import Image

    missing = [r for r in rows if r in DRAWN and not (work / r).is_dir()]
    labels = work / "set" / "labels.jsonl"
    if not missing or not labels.is_file():
        return  # run_labels names what is missing
    edits = load_edits(labels)
    judges, _ = make_judges(1, combined=False)
    for row in missing:
        fonts = FontLibrary.load(progress=False, system=DRAWN[row])
        print(f"{row}: {len(edits)} edits, {len(fonts.faces)} faces")
        outputs, _ = classical_row(edits, fonts, judges["rapidocr"])
        for e, out in zip(edits, outputs, strict=True):
            path = work / row / e.image
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(out).save(path)


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
        "# Style-edit benchmark: the classical edit's rows side by side",
        "",
        stamp,
        "",
        f"{result['edits']} edits of the set in `{result['work']}/set` (the style-edit "
        "benchmark's `bench/sets/edits.yaml`, held-out photos and font, or its validation "
        "pairs), read by PP-OCRv4. Figures as in docs/eval.md; stroke B/A: median over the "
        "edits where both have fill-coloured pixels.",
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
        prepare=draw_missing,
    )


if __name__ == "__main__":
    main()
