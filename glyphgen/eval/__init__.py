"""OCR evaluator: do images carry exactly the text they should?

    from glyphgen.eval import evaluate
    report = evaluate("out/synth/labels.jsonl", ceiling_images=None)
    print(report.summary.sentence_acc, report.summary.ned)

Parts: ``annotations`` (readers), ``crops`` (polygon -> upright line), ``backends`` (OCR
judges by name), ``normalize`` + ``metrics`` (pure scoring), ``evaluate`` (the pipeline),
``report`` + ``table`` / ``html`` / ``junit`` (outputs), ``testing`` (``assert_text`` for
your own tests), ``cli`` (``glyphgen eval``). Definitions: docs/eval.md.
"""

from glyphgen.eval.annotations import AnnotationSet, Problem, Region, Sample, read_annotations
from glyphgen.eval.backends import (
    BackendUnavailable,
    Reading,
    Recognizer,
    backend_names,
    create_backend,
    register_backend,
)
from glyphgen.eval.config import EvalConfig, NormalizeConfig, load_eval_config
from glyphgen.eval.evaluate import CouldNotEvaluate, evaluate
from glyphgen.eval.metrics import Aggregate, Score, lev_ratio, ned, score
from glyphgen.eval.normalize import normalize
from glyphgen.eval.report import RegionResult, Report
from glyphgen.eval.testing import assert_text, read_text

__all__ = [
    "Aggregate",
    "AnnotationSet",
    "BackendUnavailable",
    "CouldNotEvaluate",
    "EvalConfig",
    "NormalizeConfig",
    "Problem",
    "Reading",
    "Recognizer",
    "Region",
    "RegionResult",
    "Report",
    "Sample",
    "Score",
    "assert_text",
    "backend_names",
    "create_backend",
    "evaluate",
    "lev_ratio",
    "load_eval_config",
    "ned",
    "normalize",
    "read_annotations",
    "read_text",
    "register_backend",
    "score",
]
