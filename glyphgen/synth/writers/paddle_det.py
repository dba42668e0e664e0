"""``paddle-det``: PaddleOCR detection labels, one image per line:
``<image path>\\t[{"transcription": "...", "points": [[x, y], x4]}, ...]``.

Points are integers, clockwise, starting at the corner where the text starts reading (the
top-left for upright text), as PaddleOCR's own labels are. Curved lines (more than 4 polygon
points) are written as the 4 corners of their minimum-area rectangle: DB, the detector
PaddleOCR trains by default, and most of its augmentations expect quadrilaterals; the full
polygon stays in ``jsonl`` and ``anyword``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import cv2
import numpy as np

from glyphgen.synth.record import Point, Sample
from glyphgen.synth.writers.base import LineFileWriter, points_int, sample_paths
from glyphgen.synth.writers.jsonl import dumps


def quad_points(polygon: Sequence[Point]) -> list[list[int]]:
    """4 integer points, clockwise from the reading start, for a polygon of 4 or more points."""
    if len(polygon) == 4:
        return points_int(polygon)  # the record's quads are already clockwise from the start
    if len(polygon) < 4:
        raise ValueError(f"a text polygon needs at least 4 points, got {len(polygon)}")
    pts = np.asarray(polygon, dtype=np.float32).reshape(-1, 2)
    corners = cv2.boxPoints(cv2.minAreaRect(pts))  # (4, 2), order depends on OpenCV version
    # Sort by angle around the centre: with y down, increasing atan2 goes clockwise on screen.
    cx, cy = corners.mean(axis=0)
    ordered = sorted(corners.tolist(), key=lambda p: math.atan2(p[1] - cy, p[0] - cx))
    # Start at the corner nearest the polygon's first point, which is where reading starts.
    x0, y0 = float(pts[0, 0]), float(pts[0, 1])
    start = min(range(4), key=lambda i: (ordered[i][0] - x0) ** 2 + (ordered[i][1] - y0) ** 2)
    return points_int([(x, y) for x, y in ordered[start:] + ordered[:start]])


class PaddleDetWriter(LineFileWriter):
    name: ClassVar[str] = "paddle-det"
    loose_files: ClassVar[bool] = True
    filename: ClassVar[str] = "det_gt.txt"
    merged_name: ClassVar[str] = "det_gt.txt"

    def line(self, sample: Sample) -> str:
        regions = [
            {"transcription": line.text, "points": quad_points(line.polygon)}
            for line in sample.lines
        ]
        return f"{sample_paths(sample, self.shard_rel).image}\t{dumps(regions)}"
