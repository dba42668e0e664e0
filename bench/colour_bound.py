"""How much of the style-edit benchmark's colour figure is colour, and how much is font.

    python bench/colour_bound.py                              # the set of the last run
    python bench/colour_bound.py --work out/bench-edits --rows shipped from-noise

The benchmark's text colour error (docs/eval.md) compares the output's and the ground
truth's mean colour over *B's fill pixels in the ground truth*. B there is drawn in A's font
(the set's fonts are the held-out split), so an edit that picks the exact colour but draws B
in another font still averages in the surface wherever its strokes miss the truth's. This
script separates the two, for the classical edit (its chosen colour is known) on the same
edits:

- ``estimate``: CIEDE2000 between the colour the classical edit chose and the fill the
  factory drew B in (the colour alone, no pixels involved);
- ``figure``: the benchmark's figure for the classical edit, as the benchmark computes it;
- ``figure, true fill given``: the same figure when the classical edit is handed B's true
  fill (``colours=``): what the canonical font's shape alone costs;
- each ``--rows`` row's figure from the outputs the run left in ``--work``.

Medians and 90th percentiles over the edits, and the estimate split by where the classical
edit took its colour from (A's pixels, or black / white by contrast when it found no text).
Writes bench/results/colour_bound.{json,md}.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from glyphgen.benchmark.edit import load_edits, rerun_main
from glyphgen.edit.classical import TextColours, classical_edit
from glyphgen.eval import edit_metrics as em
from glyphgen.images import open_image
from glyphgen.typeset.fonts import FontLibrary

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def delta_e(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    lab = em.srgb_to_lab(np.array([a, b], np.uint8))
    return float(em.ciede2000(lab[0], lab[1]))


def spread(values: list[float]) -> dict[str, float]:
    median, p90 = em.median_p90(values)
    return {"median": median, "p90": p90, "n": len(values)}


def measure(labels: Path, rows: list[str]) -> dict[str, Any]:
    work = labels.parent.parent
    records = [json.loads(line) for line in labels.read_text(encoding="utf-8").splitlines()]
    edits = load_edits(labels)
    fonts = FontLibrary.load(progress=False)
    estimate: dict[str, list[float]] = {}
    figures: dict[str, list[float]] = {"classical": [], "classical, true fill given": []}
    figures.update({row: [] for row in rows})
    for rec, e in zip(records, edits, strict=True):
        fill = tuple(int(v) for v in rec["edit"]["style"]["fill"])
        done = classical_edit(e.source, e.polygon, e.text_b, fonts, vertical=e.vertical)
        estimate.setdefault(done.colour_source, []).append(delta_e(done.colours.text, fill))
        figures["classical"].append(em.text_colour_error(done.image, e.truth, e.glyph_b))
        given = classical_edit(
            e.source, e.polygon, e.text_b, fonts, vertical=e.vertical, colours=TextColours(fill)
        )
        figures["classical, true fill given"].append(
            em.text_colour_error(given.image, e.truth, e.glyph_b)
        )
        for row in rows:
            output = open_image(work / row / e.image)
            figures[row].append(em.text_colour_error(output, e.truth, e.glyph_b))
    every_estimate = [v for values in estimate.values() for v in values]
    return {
        "edits": len(edits),
        "estimate": {"all": spread(every_estimate)}
        | {source: spread(values) for source, values in estimate.items()},
        "figure": {name: spread(values) for name, values in figures.items()},
    }


def markdown(result: dict[str, Any], stamp: str) -> str:
    lines = [
        "# Text colour: the colour against the font",
        "",
        stamp,
        f"The style-edit benchmark's set in `{result['work']}` ({result['edits']} edits). "
        "CIEDE2000; median / 90th percentile.",
        "",
        "| what | edits | median | p90 |",
        "|---|---:|---:|---:|",
    ]
    for source, s in result["estimate"].items():
        lines.append(
            f"| classical's chosen colour against B's fill ({source}) | {s['n']} | "
            f"{s['median']:.1f} | {s['p90']:.1f} |"
        )
    for name, s in result["figure"].items():
        lines.append(
            f"| benchmark figure: {name} | {s['n']} | {s['median']:.1f} | {s['p90']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    rerun_main(
        "bench/colour_bound.py", __doc__, ["shipped"], RESULTS / "colour_bound", measure, markdown
    )


if __name__ == "__main__":
    main()
