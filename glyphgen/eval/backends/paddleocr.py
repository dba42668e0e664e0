"""PaddleOCR's own text recognizer, for users who have ``paddleocr`` installed.

Optional: ``pip install paddleocr paddlepaddle``, then put the recognition model on disk
(PaddleOCR downloads models on first use; this backend never does, so an evaluation
cannot quietly depend on the network). The model folder is taken from the ``model_dir``
option, else from PaddleOCR's own cache folder:

- PaddleOCR >= 3: ``~/.paddlex/official_models/<model_name>`` (``model_name`` defaults to
  ``PP-OCRv4_mobile_rec``, the model rapidocr ships), read with ``TextRecognition``;
- PaddleOCR 2.x: ``~/.paddleocr/whl/rec/ch/ch_PP-OCRv4_rec_infer``, read with the
  ``PaddleOCR`` class's recognizer.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from glyphgen.eval.backends import BackendUnavailable, Reading, Recognizer

_V3_CACHE = Path.home() / ".paddlex" / "official_models"
_V2_CACHE = Path.home() / ".paddleocr" / "whl" / "rec" / "ch" / "ch_PP-OCRv4_rec_infer"
_MODEL_FILES = ("inference.pdmodel", "inference.json", "inference.pdiparams")


class PaddleOCRRecognizer(Recognizer):
    name = "paddleocr"

    def __init__(
        self,
        *,
        model_dir: str | None = None,  # folder with inference.pdiparams (+ .pdmodel or .json)
        model_name: str = "PP-OCRv4_mobile_rec",  # PaddleOCR >= 3 model name
        batch_size: int = 6,
        device: str = "cpu",
    ):
        try:
            paddleocr = importlib.import_module("paddleocr")
        except ImportError as exc:
            raise BackendUnavailable(
                "the paddleocr backend needs PaddleOCR: pip install paddleocr paddlepaddle "
                "(or use the default backend, rapidocr, which needs nothing more)"
            ) from exc
        version = str(getattr(paddleocr, "__version__", "0"))
        major = int(version.split(".")[0]) if version.split(".")[0].isdigit() else 0
        default = _V3_CACHE / model_name if major >= 3 else _V2_CACHE
        folder = Path(model_dir).expanduser() if model_dir else default
        if not folder.is_dir() or not any((folder / f).is_file() for f in _MODEL_FILES):
            raise BackendUnavailable(
                f"PaddleOCR recognition model not found in {folder}: this backend does not "
                f"download models. Fetch {model_name if major >= 3 else 'ch_PP-OCRv4_rec_infer'} "
                f"once (e.g. run PaddleOCR by hand with network access) and pass its folder "
                f"with --backend-option model_dir=PATH"
            )
        self._folder = folder
        self._version = version
        self._batch_size = batch_size
        self._charset: frozenset[str] | None = None
        if major >= 3:
            self._model = paddleocr.TextRecognition(
                model_name=model_name, model_dir=str(folder), device=device
            )
            self._charset = _charset_from_yml(folder / "inference.yml")
        else:
            self._model = paddleocr.PaddleOCR(
                lang="ch",
                use_angle_cls=False,
                rec_model_dir=str(folder),
                rec_batch_num=batch_size,
                use_gpu=device != "cpu",
                show_log=False,
            )
            keys = Path(str(paddleocr.__file__)).parent / "ppocr" / "utils" / "ppocr_keys_v1.txt"
            if keys.is_file():
                chars = keys.read_text(encoding="utf-8").splitlines()
                self._charset = frozenset([*chars, " "])
        self._major = major

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Reading]:
        if not crops:
            return []
        bgr = [cv2.cvtColor(c, cv2.COLOR_RGB2BGR) for c in crops]  # Paddle reads BGR
        if self._major >= 3:
            results = self._model.predict(input=bgr, batch_size=self._batch_size)
            return [Reading(str(r["rec_text"]), float(r["rec_score"])) for r in results]
        rec_res, _ = self._model.text_recognizer(bgr)
        return [Reading(str(text), float(score)) for text, score in rec_res]

    def charset(self) -> frozenset[str] | None:
        return self._charset

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "paddleocr": self._version,
            "model_dir": str(self._folder),
            "dictionary_size": len(self._charset) if self._charset else None,
            "batch_size": self._batch_size,
        }


def _charset_from_yml(path: Path) -> frozenset[str] | None:
    """PaddleX model folders list the CTC dictionary under PostProcess.character_dict."""
    if not path.is_file():
        return None
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        chars = data["PostProcess"]["character_dict"]
    except (yaml.YAMLError, KeyError, TypeError):
        return None
    return frozenset([*map(str, chars), " "])
