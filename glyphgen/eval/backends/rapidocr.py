"""PP-OCRv4 recognition through ``rapidocr-onnxruntime`` (the default judge).

Only the recognition model runs: crops come already cut and rectified by ``crops.py``.
Pre-processing and CTC decoding are rapidocr's own ``TextRecognizer`` (the same as
PaddleOCR: height 48, width padded to at least 320, batches sorted by aspect ratio), so a
crop reads exactly as it would inside rapidocr's full pipeline.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from glyphgen.eval.backends import BackendUnavailable, Reading, Recognizer

log = logging.getLogger(__name__)


class RapidOCRRecognizer(Recognizer):
    name = "rapidocr"

    def __init__(
        self,
        *,
        batch_size: int = 6,  # crops per ONNX call; bigger batches are slower on CPU (see bench/)
        threads: int = -1,  # ONNX intra-op threads; -1 = one per core
        model_path: str | None = None,  # another PP-OCR rec ONNX model (default: the wheel's v4)
        keys_path: str | None = None,  # its dictionary, if the model has no 'character' metadata
    ):
        try:
            import rapidocr_onnxruntime
            from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer
            from rapidocr_onnxruntime.utils import read_yaml
        except ImportError as exc:
            raise BackendUnavailable(
                "the rapidocr backend needs rapidocr-onnxruntime: pip install 'rapidocr-onnxruntime>=1.3,<2'"
            ) from exc
        if batch_size < 1:
            raise ValueError(f"rapidocr batch_size={batch_size} must be >= 1")
        package = Path(rapidocr_onnxruntime.__file__).parent
        config = dict(read_yaml(str(package / "config.yaml"))["Rec"])
        model = Path(model_path) if model_path else package / config["model_path"]
        if not model.is_file():
            raise BackendUnavailable(f"rapidocr recognition model {model} does not exist")
        config.update(
            model_path=str(model),
            rec_batch_num=batch_size,
            intra_op_num_threads=threads,
            use_cuda=False,
            use_dml=False,
        )
        if keys_path:
            config["rec_keys_path"] = keys_path
        try:
            self._rec = TextRecognizer(config)
        except ValueError as exc:  # no dictionary: neither metadata nor keys_path
            raise BackendUnavailable(
                f"rapidocr model {model} carries no character dictionary; pass keys_path"
            ) from exc
        self._model = model
        self._batch_size = batch_size
        # The CTC decoder's table: index 0 is the blank, the last entry the space.
        self._charset = frozenset(c for c in self._rec.postprocess_op.character[1:] if c)

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Reading]:
        if not crops:
            return []
        bgr = [cv2.cvtColor(_as_rgb(c), cv2.COLOR_RGB2BGR) for c in crops]  # PP-OCR reads BGR
        results, _ = self._rec(bgr)
        return [Reading(text=str(text), score=float(score)) for text, score in results]

    def charset(self) -> frozenset[str]:
        return self._charset

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self._model.name,
            "dictionary_size": len(self._charset - {" "}),
            "batch_size": self._batch_size,
        }


def _as_rgb(crop: np.ndarray) -> np.ndarray:
    if crop.ndim == 2:
        return cv2.cvtColor(crop, cv2.COLOR_GRAY2RGB)
    if crop.shape[2] == 4:
        return cv2.cvtColor(crop, cv2.COLOR_RGBA2RGB)
    return crop
