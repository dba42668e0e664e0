"""PP-OCRv4 recognition with the model that ships inside ``rapidocr-onnxruntime`` (the default judge).

Only the recognition model runs: crops come already cut and rectified by ``crops.py``.
Pre-processing and CTC decoding are PaddleOCR's (as rapidocr implements them): BGR, height
48 keeping the aspect ratio, values scaled to [-1, 1], zero padding on the right to at least
320 pixels, greedy CTC decoding, confidence = mean probability of the kept characters.

How the batches are made (what makes it faster than one call per crop; numbers in
bench/results/eval_throughput.md):

1) Each crop is padded to a width that depends on the crop alone: 320 px, or its own width
   rounded up to ``width_step`` pixels. A crop therefore reads the same whether it is
   evaluated alone or among thousands (rapidocr pads each batch to its widest member).
2) Crops of the same padded width are stacked into batches of ``batch_size`` and the ONNX
   session is called once per batch, with one intra-op thread per available core.
3) The session runs an equivalent graph with PP-LCNetV3's element-wise tails folded into its
   convolutions (``ppocr_graph.py``) when the ``onnx`` package is installed; about 1.4x faster
   on CPU, same readings.
"""

from __future__ import annotations

import logging
import math
import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from glyphgen.eval.backends import BackendUnavailable, Reading, Recognizer

log = logging.getLogger(__name__)

_HEIGHT = 48  # PP-OCRv4 rec input height
_MIN_WIDTH = 320  # PaddleOCR's rec_image_shape width: narrower crops are padded to it


class RapidOCRRecognizer(Recognizer):
    name = "rapidocr"

    def __init__(
        self,
        *,
        batch_size: int = 8,  # crops per ONNX call; 4-8 is fastest on CPU (bench/eval_throughput.py)
        threads: int = 0,  # ONNX intra-op threads; 0 = one per core this process may use
        model_path: str | None = None,  # another PP-OCR rec ONNX model (default: the wheel's v4)
        keys_path: str | None = None,  # its dictionary, if the model has no 'character' metadata
        fuse: bool | None = None,  # the folded graph: None = when onnx is installed
        width_step: int = 32,  # crops wider than 320 px are padded to a multiple of this
    ):
        try:
            import onnxruntime as ort
            import rapidocr_onnxruntime
            from rapidocr_onnxruntime.ch_ppocr_rec.utils import CTCLabelDecode
        except ImportError as exc:
            raise BackendUnavailable(
                "the rapidocr backend needs rapidocr-onnxruntime: pip install 'rapidocr-onnxruntime>=1.3,<2'"
            ) from exc
        if batch_size < 1:
            raise ValueError(f"rapidocr batch_size={batch_size} must be >= 1")
        if threads < 0:
            raise ValueError(f"rapidocr threads={threads} must be >= 0 (0 = one per core)")
        if width_step < 1:
            raise ValueError(f"rapidocr width_step={width_step} must be >= 1")
        package = Path(rapidocr_onnxruntime.__file__).parent
        model = (
            Path(model_path) if model_path else package / "models" / "ch_PP-OCRv4_rec_infer.onnx"
        )
        if not model.is_file():
            raise BackendUnavailable(f"rapidocr recognition model {model} does not exist")

        source: str | bytes = str(model)
        self._graph = "as shipped"
        if fuse is not False:
            try:
                from glyphgen.eval.backends.ppocr_graph import FUSION_VERSION, fused_model_bytes

                source, stats = fused_model_bytes(model)
                self._graph = f"fused v{FUSION_VERSION} ({stats.get('hardswish', 0)} blocks)"
            except ImportError as exc:
                if fuse:
                    raise BackendUnavailable(
                        "rapidocr fuse=True needs the onnx package: pip install onnx"
                    ) from exc
                log.info("onnx is not installed: running the recognizer graph as shipped")

        self._threads = threads or _available_cores()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only
        self._session = ort.InferenceSession(
            source, sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name

        meta = self._session.get_modelmeta().custom_metadata_map
        if keys_path:
            self._decode = CTCLabelDecode(character_path=keys_path)
        elif "character" in meta:
            self._decode = CTCLabelDecode(character=meta["character"].splitlines())
        else:
            raise BackendUnavailable(
                f"rapidocr model {model} carries no character dictionary; pass keys_path"
            )
        self._model = model
        self._batch_size = batch_size
        self._width_step = width_step
        # The CTC decoder's table: index 0 is the blank, the last entry the space.
        self._charset = frozenset(c for c in self._decode.character[1:] if c)

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Reading]:
        readings: list[Reading | None] = [None] * len(crops)
        by_width: dict[int, list[tuple[int, np.ndarray]]] = defaultdict(list)
        for i, crop in enumerate(crops):
            line = _resize(crop)
            by_width[self._padded_width(line.shape[1])].append((i, line))
        for width in sorted(by_width):
            group = by_width[width]
            for start in range(0, len(group), self._batch_size):
                chunk = group[start : start + self._batch_size]
                batch = np.zeros((len(chunk), 3, _HEIGHT, width), np.float32)  # (B, C, H, W)
                for k, (_, line) in enumerate(chunk):
                    batch[k, :, :, : line.shape[1]] = _normalize(line)
                probs = self._session.run(None, {self._input: batch})[0]  # (B, T, classes)
                decoded = self._decode(probs)
                for (i, _), (text, score) in zip(chunk, decoded, strict=True):
                    readings[i] = Reading(text=str(text), score=float(score))
        return [r for r in readings if r is not None]

    def _padded_width(self, width: int) -> int:
        return max(_MIN_WIDTH, math.ceil(width / self._width_step) * self._width_step)

    def charset(self) -> frozenset[str]:
        return self._charset

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self._model.name,
            "dictionary_size": len(self._charset - {" "}),
            "graph": self._graph,
            "batch_size": self._batch_size,
            "threads": self._threads,
        }


def _resize(crop: np.ndarray) -> np.ndarray:
    """BGR at height 48, aspect ratio kept, rounded as PaddleOCR rounds a crop read alone: the
    width up when it fits in 320 px, else down (``resize_norm_img`` caps it at ``int(48 * r)``)."""
    bgr = cv2.cvtColor(_as_rgb(crop), cv2.COLOR_RGB2BGR)  # PP-OCR reads BGR
    h, w = bgr.shape[:2]
    width = math.ceil(_HEIGHT * w / h)
    if width > _MIN_WIDTH:
        width = int(_HEIGHT * (w / float(h)))
    return cv2.resize(bgr, (max(1, width), _HEIGHT))


def _normalize(line: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (3, H, W) float32 in [-1, 1], the same operations as PaddleOCR."""
    x = line.astype("float32").transpose((2, 0, 1)) / 255
    x -= 0.5
    x /= 0.5
    return x


def _available_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _as_rgb(crop: np.ndarray) -> np.ndarray:
    if crop.ndim == 2:
        return cv2.cvtColor(crop, cv2.COLOR_GRAY2RGB)
    if crop.shape[2] == 4:
        return cv2.cvtColor(crop, cv2.COLOR_RGBA2RGB)
    return crop
