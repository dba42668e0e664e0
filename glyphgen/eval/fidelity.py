"""Fidelity to reference images: how close each annotated region is to the same region of a
ground-truth image (``glyphgen eval --reference-images DIR``).

For text edits, where a ground truth exists (the style-edit benchmark, or your own pairs):
per region PSNR and SSIM over the region's box, the seam the edit leaves at its border and the
colour cast it adds (definitions in ``glyphgen.eval.edit_metrics`` and docs/eval.md). The
reference for an image is the file at the same relative path under ``DIR``; a missing one, or
one of another size, is a counted problem naming both files, never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from glyphgen.eval import edit_metrics as em
from glyphgen.eval.annotations import Problem, Sample
from glyphgen.images import ImageRefused, open_image

PSNR_CAP = 100.0  # dB: an identical region (inf) counts as this in means


@dataclass
class RegionFidelity:
    sample: int
    region: int
    image: str
    psnr: float  # dB, inf when identical
    ssim: float
    seam: float  # 8-bit units, the output's border step minus the reference's
    cast: float  # C*ab, the output's mean chroma minus the reference's


def region_fidelity(
    samples: list[Sample], reference_root: Path, max_pixels: int
) -> tuple[list[RegionFidelity], list[Problem]]:
    """Every region with a polygon, compared with the same region of its reference image."""
    results: list[RegionFidelity] = []
    problems: list[Problem] = []
    for sample in samples:
        ref_path = Path(reference_root) / sample.image
        try:
            image = open_image(sample.path, max_pixels=max_pixels)
        except ImageRefused:
            continue  # the reading pass has counted this image's problem already
        try:
            reference = open_image(ref_path, max_pixels=max_pixels, name=f"reference {ref_path}")
        except ImageRefused as exc:
            kind = "missing-reference" if exc.kind == "missing" else "unreadable-reference"
            problems.append(Problem(kind, str(exc), sample.where, sample.image, path=str(ref_path)))
            continue
        if image.shape != reference.shape:
            problems.append(
                Problem(
                    "reference-size",
                    f"reference {ref_path} is {reference.shape[1]}x{reference.shape[0]}, the "
                    f"image {sample.path} is {image.shape[1]}x{image.shape[0]}; give the "
                    "ground truth of the same size",
                    sample.where,
                    sample.image,
                    path=str(ref_path),
                )
            )
            continue
        for k, region in enumerate(sample.regions):
            if region.polygon is None:
                continue
            polygon = np.asarray(region.polygon, np.float64)
            try:
                results.append(
                    RegionFidelity(
                        sample=sample.index,
                        region=k,
                        image=sample.image,
                        psnr=em.region_psnr(image, reference, polygon),
                        ssim=em.region_ssim(image, reference, polygon),
                        seam=em.seam_step(image, reference, polygon),
                        cast=em.colour_cast(image, reference, polygon),
                    )
                )
            except ValueError as exc:  # a region covering no pixel, or the whole image
                problems.append(Problem("bad-polygon", str(exc), sample.where, sample.image, k))
    return results, problems


def summarise(results: list[RegionFidelity]) -> dict[str, Any]:
    """Means over the regions (PSNR capped at ``PSNR_CAP``); ``None`` figures when empty."""
    if not results:
        return {"regions": 0, "psnr": None, "ssim": None, "seam": None, "cast": None}

    def mean(values: list[float]) -> float:
        return round(float(np.mean(values)), 4)

    return {
        "regions": len(results),
        "psnr": mean([min(r.psnr, PSNR_CAP) for r in results]),
        "ssim": mean([r.ssim for r in results]),
        "seam": mean([r.seam for r in results]),
        "cast": mean([r.cast for r in results]),
    }
