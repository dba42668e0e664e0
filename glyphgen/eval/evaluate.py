"""The evaluation pipeline: annotations + images + a judge -> ``Report``.

1) Read the annotations (bad lines become problems, not exceptions).
2) For each sample: load the image, normalize each target, cut and rectify each region.
   Whatever fails is recorded as a problem for that sample or region, and the run goes on
   (``strict=True`` stops at the first one instead).
3) Every ``chunk`` crops, the judge reads them in one batched call.
4) Score each region, group the scores, and keep thumbnails of the worst regions for the
   HTML report.
5) Optionally do 2)-4) again on the ground-truth images: the OCR ceiling.
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from glyphgen import configio
from glyphgen.eval.annotations import (
    AnnotationError,
    AnnotationSet,
    Problem,
    Region,
    Sample,
    leaves_folder,
    outside_problem,
    read_annotations,
)
from glyphgen.eval.backends import BackendUnavailable, Recognizer, create_backend
from glyphgen.eval.config import EvalConfig
from glyphgen.eval.crops import CropError, crop_region, load_image
from glyphgen.eval.fidelity import region_fidelity
from glyphgen.eval.fidelity import summarise as summarise_fidelity
from glyphgen.eval.metrics import score
from glyphgen.eval.normalize import is_hanzi, normalize
from glyphgen.eval.report import (
    RegionResult,
    Report,
    build_report,
    describe_problems,
    length_label,
)

log = logging.getLogger(__name__)


class CouldNotEvaluate(RuntimeError):
    """Nothing meaningful could be measured: bad annotation file, no backend, no readable
    region, or a data problem under ``strict``. The CLI exits with code 2."""


def evaluate(
    annotations: str | Path | AnnotationSet,
    images: str | Path | None = None,
    *,
    config: EvalConfig | None = None,
    backend: str | Recognizer | None = None,
    fmt: str = "auto",
    ceiling_images: str | Path | None = None,
    reference_images: str | Path | None = None,
    strict: bool = False,
    limit: int | None = None,
    thumbnails: bool = False,
    progress: bool = False,
) -> Report:
    """Evaluate images against their annotated text.

    annotations: a JSONL / AnyWord JSON / PaddleOCR label file (``fmt`` names it, or "auto"),
        or an ``AnnotationSet`` already read.
    images: the folder the annotation's image paths are relative to (default: the
        annotation file's folder, or AnyWord's ``data_root``).
    backend: a registered backend name, a ``Recognizer`` instance, or None for
        ``config.backend``.
    ceiling_images: ground-truth images for the same annotations; their scores (the OCR
        ceiling) are reported beside the model's.
    reference_images: ground-truth images (same relative paths): each region's PSNR, SSIM,
        seam and colour cast against them (``glyphgen.eval.fidelity``), in ``report.fidelity``.
    strict: the first data problem raises ``CouldNotEvaluate`` instead of being recorded.
    limit: evaluate only the first ``limit`` samples.
    thumbnails: keep JPEG thumbnails of the ``config.report.html_rows`` worst regions.

    Raises ``CouldNotEvaluate`` when nothing can be measured.
    """
    cfg = config or EvalConfig()
    if limit is not None and limit < 0:
        raise ValueError(f"limit={limit} must be >= 0")
    started = time.perf_counter()
    ann = _read(annotations, images, fmt)
    if strict and ann.problems:
        p = ann.problems[0]
        raise CouldNotEvaluate(f"{p.where}: {p.kind}: {p.message} (--strict)")
    recognizer = _backend(backend, cfg)
    run = _Run(cfg, recognizer, strict, thumbnails)
    samples = ann.samples[:limit] if limit is not None else ann.samples
    results, problems = run.evaluate_samples(samples, ann.images_root, progress)
    problems = ann.problems + problems
    if not results:
        reasons = "; ".join(describe_problems(problems)) or "no regions"
        hint = (
            f"; image paths are read relative to {ann.images_root} (--images)"
            if any(p.kind == "missing-image" for p in problems)
            else ""
        )
        raise CouldNotEvaluate(f"no region of {ann.source} could be evaluated ({reasons}){hint}")
    seconds = time.perf_counter() - started
    evaluated = {s.where for s in samples}
    report = build_report(
        results,
        problems,
        include_uncovered=cfg.report.uncovered == "include",
        top_errors=cfg.report.top_errors,
        meta={
            "annotations": str(ann.source),
            "images": str(ann.images_root),
            "format": ann.format,
            "backend": _backend_info(recognizer),
            "config": configio.to_dict(cfg),
            "timing": {
                "seconds": round(seconds, 3),
                "recognition_seconds": round(run.recognition_seconds, 3),
                "crops_per_second": round(len(results) / max(run.recognition_seconds, 1e-9), 1),
                "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            },
            "counts": {
                "samples": len(samples),
                # of the samples above (a bad annotation line is no sample: counted apart)
                "samples_with_problems": len({p.where for p in problems} & evaluated),
                "annotation_lines_refused": sum(p.kind == "bad-annotation" for p in ann.problems),
                "skipped": dict(ann.skipped),
            },
        },
    )
    report.thumbnails = run.thumbnails()
    if reference_images is not None:
        compared, ref_problems = region_fidelity(
            [s for s in samples if cfg.allow_outside_images or not leaves_folder(s.image)],
            Path(reference_images),
            cfg.max_image_pixels,
        )
        report.fidelity = {
            "reference": str(reference_images),
            "summary": summarise_fidelity(compared),
            "regions": [dataclasses.asdict(r) for r in compared],
        }
        report.problems.extend(ref_problems)
    if ceiling_images is not None:
        gt = _Run(cfg, recognizer, strict=False, keep_thumbnails=False)
        gt_results, gt_problems = gt.evaluate_samples(samples, Path(ceiling_images), progress)
        if not gt_results:
            raise CouldNotEvaluate(
                f"no region of the ground-truth images in {ceiling_images} could be read"
            )
        gt_report = build_report(
            gt_results,
            gt_problems,
            include_uncovered=cfg.report.uncovered == "include",
            top_errors=0,
            meta={
                k: report.__dict__[k]
                for k in ("annotations", "format", "backend", "config", "timing")
            }
            | {"images": str(ceiling_images)},
        )
        report.attach_ceiling(gt_report, str(ceiling_images))
    return report


def _read(
    annotations: str | Path | AnnotationSet, images: str | Path | None, fmt: str
) -> AnnotationSet:
    if isinstance(annotations, AnnotationSet):
        return annotations
    try:
        return read_annotations(annotations, images, fmt)
    except AnnotationError as exc:
        raise CouldNotEvaluate(str(exc)) from exc


def _backend(backend: str | Recognizer | None, cfg: EvalConfig) -> Recognizer:
    if isinstance(backend, Recognizer):
        return backend
    name = backend or cfg.backend.name
    options = cfg.backend.options if name == cfg.backend.name else {}
    try:
        return create_backend(name, **options)
    except (BackendUnavailable, ValueError) as exc:
        raise CouldNotEvaluate(str(exc)) from exc


def _backend_info(recognizer: Recognizer) -> dict[str, Any]:
    """The backend's own facts, plus its GB2312 coverage when it can say what it outputs."""
    from glyphgen.eval.coverage import coverage_summary

    info = dict(recognizer.info())
    charset = recognizer.charset()
    if charset is not None:
        info["coverage"] = coverage_summary(charset)
    return info


@dataclass
class _Pending:
    sample: Sample
    index: int
    region: Region
    target_norm: str
    crop: np.ndarray


class _Run:
    """One pass over samples with one images folder."""

    def __init__(
        self, cfg: EvalConfig, recognizer: Recognizer, strict: bool, keep_thumbnails: bool
    ):
        self.cfg = cfg
        self.recognizer = recognizer
        self.strict = strict
        self.keep = cfg.report.html_rows if keep_thumbnails else 0
        self.recognition_seconds = 0.0
        charset = recognizer.charset()
        # Characters the judge can produce, as they look after normalization.
        self.reachable: frozenset[str] | None = (
            None
            if charset is None
            else frozenset("".join(normalize(c, cfg.normalize) for c in charset))
        )
        self._heap: list[tuple[tuple[Any, ...], tuple[int, int], bytes]] = []

    def evaluate_samples(
        self, samples: list[Sample], root: Path, progress: bool
    ) -> tuple[list[RegionResult], list[Problem]]:
        results: list[RegionResult] = []
        problems: list[Problem] = []
        pending: list[_Pending] = []
        for item in self._crops(samples, root, problems, progress):
            pending.append(item)
            if len(pending) >= self.cfg.chunk:
                results.extend(self._read(pending))
                pending = []
        results.extend(self._read(pending))
        return results, problems

    def _problem(self, problems: list[Problem], problem: Problem) -> None:
        if self.strict:
            raise CouldNotEvaluate(f"{problem.where}: {problem.kind}: {problem.message} (--strict)")
        problems.append(problem)

    def _crops(
        self, samples: list[Sample], root: Path, problems: list[Problem], progress: bool
    ) -> Iterator[_Pending]:
        for sample in tqdm(samples, desc="eval", unit="img", disable=not progress):
            if not self.cfg.allow_outside_images and leaves_folder(sample.image):
                self._problem(problems, outside_problem(sample, root))
                continue
            path = root / sample.image
            try:
                image = load_image(path, self.cfg.max_image_pixels)
            except CropError as exc:
                message = str(exc)
                if exc.kind == "too-large-image":
                    message += " (eval's limit: --set max_image_pixels=N)"
                self._problem(
                    problems,
                    Problem(exc.kind, message, sample.where, sample.image, path=str(path)),
                )
                continue
            for k, region in enumerate(sample.regions):
                target = normalize(region.text, self.cfg.normalize)
                if not target:
                    self._problem(
                        problems,
                        Problem(
                            "empty-target",
                            f"target {region.text!r} is empty after normalization",
                            sample.where,
                            sample.image,
                            k,
                        ),
                    )
                    continue
                crop_cfg = self.cfg.crop.for_judge(self.recognizer, target)
                try:
                    crop = crop_region(image, region, crop_cfg, sample.size)
                except CropError as exc:
                    self._problem(
                        problems, Problem(exc.kind, str(exc), sample.where, sample.image, k)
                    )
                    continue
                yield _Pending(sample, k, region, target, crop)

    def _read(self, pending: list[_Pending]) -> list[RegionResult]:
        if not pending:
            return []
        t0 = time.perf_counter()
        readings = self.recognizer.recognize_for(
            [p.crop for p in pending], [p.target_norm for p in pending]
        )
        self.recognition_seconds += time.perf_counter() - t0
        if len(readings) != len(pending):
            raise RuntimeError(
                f"backend {self.recognizer.name} returned {len(readings)} readings for {len(pending)} crops"
            )
        out = []
        for p, reading in zip(pending, readings, strict=True):
            read_norm = normalize(reading.text, self.cfg.normalize)
            s = score(p.target_norm, read_norm)
            missing = (
                ""
                if self.reachable is None
                else "".join(dict.fromkeys(c for c in p.target_norm if c not in self.reachable))
            )
            result = RegionResult(
                sample=p.sample.index,
                region=p.index,
                image=p.sample.image,
                target=p.region.text,
                read=reading.text,
                target_norm=p.target_norm,
                read_norm=read_norm,
                exact=s.exact,
                ned=s.ned,
                ratio=s.ratio,
                distance=s.distance,
                matched=s.matched,
                confidence=reading.score,
                covered=None if self.reachable is None else not missing,
                uncovered_chars=missing,
                font=p.region.font or "unknown",
                judge=reading.judge or self.recognizer.name,
                direction=p.region.direction or "unknown",
                length=length_label(len(p.target_norm), self.cfg.report.length_bins),
                charset=charset_level(p.target_norm),
            )
            out.append(result)
            self._keep_thumbnail(result, p.crop)
        return out

    def _keep_thumbnail(self, result: RegionResult, crop: np.ndarray) -> None:
        if not self.keep:
            return
        # A min-heap on "goodness": the best kept region is evicted first.
        goodness = tuple(-v for v in result.worst_first())
        entry = (goodness, result.key, _thumbnail(crop, self.cfg.report.thumb_height))
        if len(self._heap) < self.keep:
            heapq.heappush(self._heap, entry)
        elif entry[0] > self._heap[0][0]:
            heapq.heapreplace(self._heap, entry)

    def thumbnails(self) -> dict[tuple[int, int], bytes]:
        return {key: jpeg for _, key, jpeg in self._heap}


def _thumbnail(crop: np.ndarray, height: int, max_width: int = 720) -> bytes:
    h, w = crop.shape[:2]
    scale = min(height / h, max_width / w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88]
    )
    return buf.tobytes() if ok else b""


def charset_level(text: str) -> str:
    """The rarest GB2312 level among the text's hanzi (see ``glyphgen.typeset.charsets``)."""
    from glyphgen.typeset.charsets import gb2312_level

    levels = {gb2312_level(c) for c in text if is_hanzi(c)}
    if not levels:
        return "no-hanzi"
    if 0 in levels:
        return "beyond-gb2312"
    return "gb2312-l2" if 2 in levels else "gb2312-l1"
