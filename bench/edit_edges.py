"""Lines and borders under the text: how much of the scene's structure crosses an edit
region, and how much of it each row of the style-edit benchmark keeps.

    python bench/edit_edges.py                                   # rows of the last run
    python bench/edit_edges.py --work out/bench-edits --rows classical shipped from-noise

The question it answers (issue 16, item 3): would an edge map of the scene under the region
(controlnet_aux's ``CannyDetector``, which is OpenCV's Canny at thresholds 100 and 200) as an
extra control channel have anything to give? Edges are those of the ground truth (the scene
with B), in B's region, split in two zones:

- ``gaps``: away from A's and B's ink (both grown by 2 px): visible in the source photo,
  hidden from the model by the edit mask when it samples from noise, kept pixel for pixel by
  the classical draft. This is all an edge channel computed from the source could add;
- ``under A``: A's ink (grown) away from B's: covered in the source, so no annotator of the
  source can see it; only inpainting can guess it.

Per row: recall (the share of the ground truth's edge pixels the output has within 1 px),
and spurious edges (the output's edge pixels with none of the ground truth's within 1 px,
per 1,000 zone pixels). Medians over the edits with at least ``MIN_EDGES`` ground-truth edge
pixels in the zone. Reads the outputs a ``glyphgen bench edit`` run left in ``--work``;
writes bench/results/edit_edges.{json,md}.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from glyphgen.benchmark.edit import load_edits, rerun_main
from glyphgen.eval import edit_metrics as em
from glyphgen.images import open_image

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CANNY = (100, 200)  # controlnet_aux CannyDetector's default thresholds
GROW = np.ones((5, 5), np.uint8)  # ink grown by 2 px: its anti-aliased rim is not surface
NEAR = np.ones((3, 3), np.uint8)  # an edge counts as kept within 1 px
MIN_EDGES = 20  # ground-truth edge pixels a zone needs to count for that zone


def edges(image: np.ndarray) -> np.ndarray:
    return cv2.Canny(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), *CANNY) > 0


def zones(region: np.ndarray, ink_a: np.ndarray, ink_b: np.ndarray) -> dict[str, np.ndarray]:
    """``gaps`` and ``under A`` of one region (bool masks of the image)."""
    a = cv2.dilate(ink_a.astype(np.uint8), GROW) > 0
    b = cv2.dilate(ink_b.astype(np.uint8), GROW) > 0
    return {"gaps": region & ~a & ~b, "under A": region & a & ~b}


def near(mask: np.ndarray) -> np.ndarray:
    """The pixels within 1 px of ``mask``."""
    return cv2.dilate(mask.astype(np.uint8), NEAR) > 0


def measure(labels: Path, rows: list[str]) -> dict[str, Any]:
    work = labels.parent.parent
    records = [json.loads(line) for line in labels.read_text(encoding="utf-8").splitlines()]
    edits = load_edits(labels)
    per_zone: dict[str, dict[str, list[tuple[float, float]]]] = {}
    sizes: dict[str, list[int]] = {}
    structured: dict[str, int] = {}
    for rec, e in zip(records, edits, strict=True):
        region = em.region_mask(e.polygon, e.truth.shape[:2])
        ink_a = open_image(labels.parent / rec["edit"]["mask_a"], mode="L") > 0
        truth_edges = edges(e.truth)
        near_truth = near(truth_edges)
        outs = {row: edges(open_image(work / row / e.image)) for row in rows}
        near_outs = {row: near(out_edges) for row, out_edges in outs.items()}
        for name, zone in zones(region, ink_a, e.ink_b).items():
            size = int(zone.sum())
            sizes.setdefault(name, []).append(size)
            truth_in_zone = truth_edges & zone
            n = int(truth_in_zone.sum())
            if n < MIN_EDGES:
                continue
            structured[name] = structured.get(name, 0) + 1
            for row in rows:
                found = int((truth_in_zone & near_outs[row]).sum())  # kept within 1 px
                spurious = int((outs[row] & zone & ~near_truth).sum())  # none of truth's near
                per_zone.setdefault(name, {}).setdefault(row, []).append(
                    (found / n, 1000 * spurious / size)
                )
    table = {
        name: {
            "edits": structured.get(name, 0),
            "zone_px_median": float(np.median(sizes[name])),
            "rows": {
                row: {
                    "recall": float(np.median([r for r, _ in values])),
                    "spurious_per_1000": float(np.median([s for _, s in values])),
                }
                for row, values in per_zone.get(name, {}).items()
            },
        }
        for name in sizes
    }
    return {"edits": len(edits), "zones": table}


def markdown(result: dict[str, Any], stamp: str) -> str:
    lines = [
        "# Edges under the text: what an edge channel could add",
        "",
        stamp,
        f"Outputs of the style-edit benchmark's last run in `{result['work']}` "
        f"({result['edits']} edits). Edges: OpenCV Canny {CANNY[0]}/{CANNY[1]} "
        "(controlnet_aux's CannyDetector) of the ground truth in B's region. A zone counts "
        f"for an edit when the ground truth has at least {MIN_EDGES} edge pixels there.",
        "",
        "| zone | edits with edges there | median zone px | row | recall (median) | "
        "spurious / 1,000 px (median) |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for name, z in result["zones"].items():
        for row, f in z["rows"].items():
            lines.append(
                f"| {name} | {z['edits']} | {z['zone_px_median']:.0f} | {row} | "
                f"{f['recall']:.3f} | {f['spurious_per_1000']:.1f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    rerun_main(
        "bench/edit_edges.py",
        __doc__,
        ["classical", "shipped", "from-noise"],
        RESULTS / "edit_edges",
        measure,
        markdown,
    )


if __name__ == "__main__":
    main()
