"""The evaluator's typed config. YAML sections are named after these dataclasses' fields.

    glyphgen eval --config eval.yaml --set normalize.whitespace=keep --set gates.min_ned=0.9

Every field has a default, so an empty file (or no file) is a valid config.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from glyphgen import configio
from glyphgen.images import DEFAULT_MAX_PIXELS

if TYPE_CHECKING:
    from glyphgen.eval.backends import Recognizer


@dataclass
class NormalizeConfig:
    """Applied to the target and to the read text before any metric (see ``normalize.py``).

    No option ever removes a CJK ideograph: NFKC maps compatibility ideographs and Kangxi
    radicals onto unified ideographs, and ``punctuation: remove`` drops only Unicode P* marks.
    """

    nfkc: bool = (
        True  # Unicode NFKC: ＡＢＣ１２３ -> ABC123, ，-> ",", U+F900 -> U+8C48 豈, … -> ...
    )
    width: bool = (
        True  # fold full-width ASCII U+FF01..FF5E and U+3000 to half width (NFKC does too)
    )
    whitespace: Literal["remove", "collapse", "keep"] = (
        "remove"  # spaces carry no meaning in Chinese
    )
    casefold: bool = False  # compare Latin letters case-insensitively
    punctuation: Literal["keep", "remove"] = "keep"  # remove: drop Unicode P* (，。！ "-" ...)


@dataclass
class CropConfig:
    """How a region's polygon becomes the upright, horizontal line image the judge reads."""

    pad: float = 0.15  # context kept around the polygon, as a fraction of the line height
    # Vertical (top-to-bottom) columns: "auto" (default) does what the judge reading the
    # region was trained on: "rotate" for PP-OCRv4, "chars" for our reader (which reads
    # upright characters); a combined judge decides per region, by where it routes it.
    # "rotate" turns the column 90 degrees counter-clockwise
    # (what PaddleOCR does, and what PP-OCRv4 was trained to read: 12/12 columns in our
    # check); "chars" crops each character by its annotated quad and lays them in a row
    # (falls back to "rotate" where the annotation has no character boxes).
    vertical: Literal["auto", "rotate", "chars"] = "auto"
    vertical_ratio: float = (
        1.5  # with no direction annotated, a crop this much taller than wide is vertical
    )
    outside_tolerance: float = (
        0.25  # a polygon may reach this far (x line height) outside the image
    )

    def for_judge(self, judge: Recognizer, target: str) -> CropConfig:
        """This config with ``vertical: auto`` settled by the judge that reads ``target``."""
        if self.vertical != "auto":
            return self
        return dataclasses.replace(self, vertical=judge.vertical_crop(target))


@dataclass
class BackendConfig:
    name: str = "rapidocr"  # a name from ``glyphgen.eval.backends.backend_names()``
    options: dict[str, Any] = field(default_factory=dict)  # passed to the backend's constructor


@dataclass
class GateConfig:
    """Thresholds on the headline summary; a failed gate makes the CLI exit with 1.

    ``max_problems`` is on by default: a region that could not be scored (its image missing,
    unreadable or too large, a bad polygon, a bad annotation line) is left out of the metrics,
    so without this gate 1 good sample and 10 missing images would pass any metric gate.
    ``None`` (``--allow-problems``) turns it off.
    """

    min_sentence_acc: float | None = None
    min_ned: float | None = None
    min_ratio: float | None = None
    min_psnr: float | None = None  # mean PSNR (dB) against --reference-images
    min_ssim: float | None = None  # mean SSIM against --reference-images
    max_problems: int | None = 0  # data problems allowed (missing images, bad polygons, ...)

    def __post_init__(self) -> None:
        for name in ("min_sentence_acc", "min_ned", "min_ratio"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ValueError(f"gates.{name}={value} must lie in [0, 1]")
        if self.max_problems is not None and self.max_problems < 0:
            raise ValueError(f"gates.max_problems={self.max_problems} must be >= 0")


@dataclass
class ReportConfig:
    # Targets holding characters the judge cannot output: "separate" keeps them out of the
    # headline numbers and the gates (they get their own group); "include" counts them.
    uncovered: Literal["separate", "include"] = "separate"
    length_bins: list[int] = field(
        default_factory=lambda: [2, 4, 8, 16]
    )  # 1-2, 3-4, 5-8, 9-16, 17+
    top_errors: int = 50  # rows of the per-character error table
    html_rows: int = 2000  # rows (worst first) with a thumbnail in the HTML report
    thumb_height: int = 40  # thumbnail height in pixels

    def __post_init__(self) -> None:
        if any(b < 1 for b in self.length_bins) or self.length_bins != sorted(
            set(self.length_bins)
        ):
            raise ValueError(
                f"report.length_bins={self.length_bins} must be increasing positive integers"
            )
        for name in ("top_errors", "html_rows"):
            if getattr(self, name) < 0:
                raise ValueError(f"report.{name}={getattr(self, name)} must be >= 0")
        if self.thumb_height < 1:
            raise ValueError(f"report.thumb_height={self.thumb_height} must be >= 1")


@dataclass
class EvalConfig:
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    crop: CropConfig = field(default_factory=CropConfig)
    backend: BackendConfig = field(default_factory=BackendConfig)
    gates: GateConfig = field(default_factory=GateConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    chunk: int = 256  # crops cut and held in memory per recognition step
    # An image whose header gives more pixels is a too-large-image problem, never decoded
    # (a small PNG can decode to gigabytes).
    max_image_pixels: int = DEFAULT_MAX_PIXELS
    # An image path that leaves the images folder ("../x.png", "/etc/x.png") is an
    # image-outside problem, never opened: annotations from elsewhere cannot make eval read
    # any file on the machine. True reads them (annotations you trust).
    allow_outside_images: bool = False

    def __post_init__(self) -> None:
        if self.max_image_pixels < 1:
            raise ValueError(f"max_image_pixels={self.max_image_pixels} must be >= 1")


def load_eval_config(
    path: Path | None = None,
    overrides: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> EvalConfig:
    """Defaults < the YAML file < ``--set`` overrides < ``extra`` (explicit CLI flags)."""
    files = [Path(path)] if path is not None else []
    return configio.load(EvalConfig, files, overrides, extra, "eval config")
