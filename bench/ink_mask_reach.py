"""What an ink-level edit mask would show the model, measured before a leg is spent on one.

    python bench/ink_mask_reach.py               # the validation pairs, then the benchmark's
    python bench/ink_mask_reach.py --work out/bench-edits-validation

The model is shown the source with the line's box (grown by 15%) hidden. An ink-level mask
would hide only A's ink (at render: the pixels the classical edit erases) and B's glyph in
the canonical font, both grown by a share of the line's height (``ink_mask``), so that lines
and borders between the old strokes reach the model. Per growth, over the edits of a style-edit set, in the model's crop, as render cuts
it (medians):

- ``box visible``: the share of the box edit mask the ink mask leaves visible;
- ``B covered``: the share of B's true ink (drawn in A's font, unknown at render) inside the
  mask: outside it the model may not draw, so B's strokes would be clipped (want ~1);
- ``A covered``: the share of A's true ink inside the mask (A's residue otherwise);
- ``gap edges visible``: the share of the ground truth's edges in the old text's gaps
  (bench/edit_edges.py's zone) that the model would see, over edits with edges there; the box
  shows none of them;
- ``... with true A``: the same with A's true ink in place of what the classical edit erases
  (what training on edit pairs shows; an upper bound for a better detector of A).

Reads a set ``glyphgen bench edit`` built in ``--work``; writes
bench/results/ink_mask_reach.{json,md}.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from edit_edges import MIN_EDGES, edges, zones  # bench/, the script's own folder

from glyphgen.benchmark.edit import load_edits
from glyphgen.benchmark.machine import machine_info
from glyphgen.edit.classical import classical_edit
from glyphgen.eval import edit_metrics as em
from glyphgen.images import open_image
from glyphgen.model.crops import edit_mask
from glyphgen.model.render import FILL
from glyphgen.typeset.fonts import FontLibrary
from glyphgen.typeset.line import crop_size, draw_line, glyph_cache, window

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
GROWTHS = (0.05, 0.10, 0.15, 0.20)  # x the line's height in the crop
HEIGHT = 64  # the shipped model's crop height


def ink_mask(
    rect: tuple[float, float, float, float],
    vertical: bool,
    box: np.ndarray,
    glyph: np.ndarray,
    ink_a: np.ndarray,
    grow: float,
) -> np.ndarray:
    """B's glyph and A's ink (ink > 0) grown by ``grow`` of the line's height, within the box
    edit mask ``box`` (bool (H, W) of the crop)."""
    x0, y0, x1, y1 = rect
    r = max(1, round(grow * ((x1 - x0) if vertical else (y1 - y0))))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    ink = ((glyph > 0) | (ink_a > 0)).astype(np.uint8)
    return (cv2.dilate(ink, disc) > 0) & box


def _share(part: np.ndarray, whole: np.ndarray) -> float | None:
    n = int(whole.sum())
    return None if n == 0 else float((part & whole).sum() / n)


def measure(work: Path, fonts: FontLibrary) -> dict[str, Any]:
    labels = work / "set" / "labels.jsonl"
    records = [json.loads(line) for line in labels.read_text(encoding="utf-8").splitlines()]
    glyphs = glyph_cache(fonts)
    figures: dict[float, dict[str, list[float]]] = {g: {} for g in GROWTHS}
    structured = box_erased = 0  # edits with gap edges; of those, where A was not found
    for rec, e in zip(records, load_edits(labels), strict=True):
        _, _, need = window(e.polygon, e.vertical, HEIGHT, FILL, None)
        size = crop_size(HEIGHT, e.vertical, need)
        m, rect, _ = window(e.polygon, e.vertical, HEIGHT, FILL, max(size))

        def warp(mask: np.ndarray, m: np.ndarray = m, size: tuple[int, int] = size) -> np.ndarray:
            return cv2.warpPerspective(mask.astype(np.uint8) * 255, m, size) > 127

        glyph, _, _ = draw_line(e.text_b, rect, e.vertical, size, fonts, glyphs)
        classical = classical_edit(e.source, e.polygon, e.text_b, fonts, vertical=e.vertical)
        ink_a = open_image(labels.parent / rec["edit"]["mask_a"], mode="L") > 0
        region = em.region_mask(e.polygon, e.truth.shape[:2])
        gap_edges = warp(edges(e.truth) & zones(region, ink_a, e.ink_b)["gaps"])
        box = edit_mask(rect, size, e.vertical) > 0
        erased, crop_a = warp(classical.erased), warp(ink_a)
        true_a, true_b = crop_a & box, warp(e.ink_b) & box
        has_gap_edges = gap_edges.sum() >= MIN_EDGES
        if has_gap_edges:
            structured += 1
            box_erased += not classical.found_text  # no text found: the whole box erased
        for g in GROWTHS:
            mask = ink_mask(rect, e.vertical, box, glyph, erased, g)
            oracle = ink_mask(rect, e.vertical, box, glyph, crop_a, g)
            shares = {
                "box visible": _share(~mask, box),
                "B covered": _share(mask, true_b),
                "A covered": _share(mask, true_a),
                "gap edges visible": _share(~mask, gap_edges) if has_gap_edges else None,
                "... with true A": _share(~oracle, gap_edges) if has_gap_edges else None,
            }
            for name, v in shares.items():
                if v is not None:
                    figures[g].setdefault(name, []).append(v)
    table = {
        str(g): {name: {"median": float(np.median(v)), "edits": len(v)} for name, v in f.items()}
        for g, f in figures.items()
    }
    where = work.relative_to(ROOT) if work.is_relative_to(ROOT) else work
    return {
        "work": str(where),
        "edits": len(records),
        "with_gap_edges": structured,
        "a_not_found": box_erased,
        "growths": table,
    }


def markdown(results: list[dict[str, Any]], machine: dict[str, Any], command: str) -> str:
    lines = [
        "# An ink-level edit mask: what it would show the model",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores; {machine['date']}. "
        f"Command: `{command}`. Medians over the edits, in the model's {HEIGHT} px crop.",
        "",
    ]
    for r in results:
        names = list(next(iter(r["growths"].values())))
        lines += [
            f"## `{r['work']}` ({r['edits']} edits)",
            "",
            "| growth (x line height) | " + " | ".join(names) + " |",
            "|---:|" + "---:|" * len(names),
        ]
        for g, f in r["growths"].items():
            cells = [f"{f[n]['median']:.3f} (n={f[n]['edits']})" for n in names]
            lines.append(f"| {g} | " + " | ".join(cells) + " |")
        lines += [
            "",
            f"Of the {r['with_gap_edges']} edits with gap edges, the classical edit found no "
            f"text in {r['a_not_found']} and erased the whole box.",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--work",
        type=Path,
        nargs="+",
        default=[ROOT / "out" / "bench-edits-validation", ROOT / "out" / "bench-edits"],
    )
    ap.add_argument("--out", type=Path, default=RESULTS / "ink_mask_reach")
    args = ap.parse_args()
    missing = [str(w) for w in args.work if not (w / "set" / "labels.jsonl").is_file()]
    if missing:
        raise SystemExit(
            f"no style-edit set in {missing}: run `glyphgen bench edit --work DIR` (or with "
            "--config bench/sets/edits-validation.yaml) first"
        )
    fonts = FontLibrary.load()
    results = [measure(w, fonts) for w in args.work]
    command = "python bench/ink_mask_reach.py --work " + " ".join(r["work"] for r in results)
    payload = {"machine": machine_info(), "results": results}
    args.out.with_suffix(".json").write_text(json.dumps(payload, indent=2) + "\n")
    text = markdown(results, payload["machine"], command)
    args.out.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
