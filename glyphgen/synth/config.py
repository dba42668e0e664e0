"""The factory's typed config. YAML sections are named after these dataclasses' fields.

Every range is an inclusive ``[low, high]`` drawn uniformly per sample unless a comment
says otherwise; probabilities are per sample (or per region in scenes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from glyphgen import cmdline, configio
from glyphgen import limits as lim
from glyphgen.images import DEFAULT_MAX_PIXELS
from glyphgen.paths import data_path
from glyphgen.synth.text import MIX_MAX_EXTRA, TextConfig

PRESETS_DIR = data_path("presets")


def _at_least(name: str, value: float, low: float) -> None:
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")


def _span(name: str, pair: tuple[float, float], low: float, high: float = math.inf) -> None:
    """A ``[min, max]`` range with ``low <= min <= max <= high``."""
    a, b = pair
    if not low <= a <= b <= high:
        upper = "" if high == math.inf else f" <= {high}"
        raise ValueError(f"{name} must be [min, max] with {low} <= min <= max{upper}, got {pair}")


def _probabilities(section: object, names: list[str]) -> None:
    for name in names:
        p = getattr(section, name)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{name} is a probability: between 0 and 1, got {p}")


@dataclass
class FontsConfig:
    dirs: list[str] = field(default_factory=list)  # extra font folders (scanned recursively)
    bundled: bool = True  # include the fonts shipped in fonts/
    split: str = "train"  # which bundled split to sample from ("train" or "heldout")
    styles: list[str] = field(default_factory=list)  # keep only these styles; empty = all
    # A text no single font covers: "fallback" draws each character with the first font that
    # has it (recorded per character); then, if some character is in no font at all:
    # "skip" draws another text, "replace" swaps those characters for covered ones,
    # "error" stops the run.
    fallback: bool = True
    on_missing: Literal["skip", "replace", "error"] = "skip"


@dataclass
class LineConfig:
    """Recognition crops: one text line per image, fixed height, width follows the text."""

    height: int = 48  # output height in pixels
    fill: tuple[float, float] = (0.65, 0.85)  # font em size as a fraction of the height
    margin: tuple[float, float] = (0.02, 0.25)  # horizontal margin, as a fraction of height

    def __post_init__(self) -> None:
        _at_least("height", self.height, 8)  # the smallest font size drawn is 8 px
        lim.at_most("height", self.height, lim.MAX_LINE_HEIGHT, "recognition lines are 32-64 px")
        _span("fill", self.fill, 0.05, 2.0)
        _span("margin", self.margin, 0.0, lim.MAX_EM_FRACTION)


@dataclass
class SceneConfig:
    """Full images with several text regions, for detection and diffusion training."""

    width: int = 512
    height: int = 512
    regions: tuple[int, int] = (1, 4)  # text regions per image
    font_size: tuple[int, int] = (20, 72)  # em size in pixels
    max_tries: int = 30  # placement attempts per region before shrinking, then dropping it
    glyph_image: bool = True  # write the glyph control image (canonical font, same geometry)
    position_mask: bool = True  # write the position mask (text-line polygons filled)

    def __post_init__(self) -> None:
        _at_least("width", self.width, 32)
        _at_least("height", self.height, 32)
        lim.at_most("width", self.width, lim.MAX_IMAGE_SIDE)
        lim.at_most("height", self.height, lim.MAX_IMAGE_SIDE)
        lim.at_most(
            "width x height",
            self.width * self.height,
            lim.MAX_IMAGE_PIXELS,
            f"{self.width}x{self.height} has more pixels than 3072x3072; make the scene smaller",
        )
        _span("regions", self.regions, 1, lim.MAX_REGIONS)
        _span("font_size", self.font_size, 8, lim.MAX_FONT_SIZE)
        _at_least("max_tries", self.max_tries, 1)
        lim.at_most("max_tries", self.max_tries, lim.MAX_PLACEMENT_TRIES)


@dataclass
class LayoutConfig:
    vertical: float = 0.0  # probability of top-to-bottom columns
    spacing: tuple[float, float] = (0.0, 0.1)  # extra gap between characters, in em
    lines: tuple[int, int] = (1, 1)  # lines per region (scenes only)
    line_gap: tuple[float, float] = (0.2, 0.6)  # gap between lines, in em
    angle_prob: float = 0.0  # probability of a rotated region
    angle: tuple[float, float] = (-10.0, 10.0)  # rotation in degrees, counter-clockwise
    perspective_prob: float = 0.0
    perspective: float = 0.08  # corner jitter, as a fraction of the block's shorter side
    curve_prob: float = 0.0  # probability of an arc (horizontal single lines)
    curve: tuple[float, float] = (30.0, 120.0)  # arc span in degrees; the sign is drawn too

    def __post_init__(self) -> None:
        _probabilities(self, ["vertical", "angle_prob", "perspective_prob", "curve_prob"])
        _span("lines", self.lines, 1, lim.MAX_LINES_PER_REGION)
        _span("spacing", self.spacing, -0.5, lim.MAX_EM_FRACTION)
        _span("line_gap", self.line_gap, 0.0, lim.MAX_EM_FRACTION)
        _span("angle", self.angle, -180.0, 180.0)
        _span("curve", self.curve, 0.0, 360.0)


@dataclass
class StyleConfig:
    # "contrast": random colours meeting min_contrast; "palette": colours of the background
    # itself (with that contrast), black or white when none has it; "random": anything.
    color: Literal["contrast", "palette", "random"] = "contrast"
    min_contrast: float = 3.0  # WCAG contrast ratio against the background under the text
    stroke_prob: float = 0.0
    stroke_width: tuple[float, float] = (0.03, 0.08)  # in em
    shadow_prob: float = 0.0
    shadow_offset: tuple[float, float] = (0.03, 0.08)  # in em, direction drawn
    shadow_blur: tuple[float, float] = (0.5, 3.0)  # gaussian sigma in pixels
    shadow_opacity: tuple[float, float] = (0.4, 0.8)

    def __post_init__(self) -> None:
        _probabilities(self, ["stroke_prob", "shadow_prob"])
        _at_least("min_contrast", self.min_contrast, 1.0)  # WCAG ratios start at 1
        _span("stroke_width", self.stroke_width, 0.0, lim.MAX_STROKE_EM)
        _span("shadow_offset", self.shadow_offset, 0.0, lim.MAX_EM_FRACTION)
        _span("shadow_blur", self.shadow_blur, 0.0, lim.MAX_BLUR_SIGMA)
        _span("shadow_opacity", self.shadow_opacity, 0.0, 1.0)


@dataclass
class EffectsConfig:
    blur_prob: float = 0.0
    blur: tuple[float, float] = (0.3, 1.2)  # gaussian sigma in pixels
    noise_prob: float = 0.0
    noise: tuple[float, float] = (2.0, 10.0)  # gaussian std in grey levels
    light_prob: float = 0.0
    light: tuple[float, float] = (0.1, 0.4)  # strength of a linear lighting gradient
    jpeg_prob: float = 0.0  # JPEG artefacts (png output: encode/decode; jpg: the quality)
    jpeg_quality: tuple[int, int] = (40, 90)

    def __post_init__(self) -> None:
        _probabilities(self, ["blur_prob", "noise_prob", "light_prob", "jpeg_prob"])
        _span("blur", self.blur, 0.0, lim.MAX_BLUR_SIGMA)
        _span("noise", self.noise, 0.0, 255.0)  # grey levels
        _span("light", self.light, 0.0, 1.0)
        _span("jpeg_quality", self.jpeg_quality, 1, 100)


@dataclass
class BackgroundConfig:
    # Relative weights of the background kinds; "image" needs image_dirs.
    kinds: dict[str, float] = field(
        default_factory=lambda: {"solid": 1.0, "gradient": 1.0, "noise": 1.0, "texture": 1.0}
    )
    image_dirs: list[str] = field(default_factory=list)
    # Larger images are refused from their header, never decoded (a 173 KB PNG can hold
    # 30000x30000 pixels: 2.7 GB of RGB), and another image is drawn.
    max_pixels: int = DEFAULT_MAX_PIXELS

    def __post_init__(self) -> None:
        _at_least("max_pixels", self.max_pixels, 1)
        lim.at_most("max_pixels", self.max_pixels, lim.MAX_BACKGROUND_PIXELS)
        negative = {k: w for k, w in self.kinds.items() if w < 0}
        if negative:
            raise ValueError(f"kinds weights must be >= 0, got {negative}")


@dataclass
class EditConfig:
    """Edit pairs (scenes only): each sample's first line is drawn twice with identical style,
    background and effects, with text A (the source) and B (the sample), equal in length."""

    pairs: bool = False
    blank_prob: float = 0.0  # share of pairs whose source has no text at all (an empty sign)


MODEL_DRAW_ON_FAIL = ("font", "drop")


@dataclass
class ModelDrawConfig:
    """Text regions redrawn by the glyph model through ``glyphgen.render`` (the factory's
    text, face, colour and place as the request), each kept only when the judge reads every
    line of it exactly (``glyphgen.synth.model_draw``)."""

    fraction: float = 0.0  # share of text regions redrawn; 0: none (the factory as it was)
    weights: str | None = None  # a trained pipeline folder; None: the shipped model
    tries: int = 4  # draws per line (new seeds) until the judge reads it exactly
    judge: str = "combined"  # the evaluator's backend that reads each draw (and so selects)
    # no draw of a region read exactly: "font" keeps the factory's font-rendered region,
    # "drop" drops the sample
    on_fail: Literal["font", "drop"] = "font"
    strength: float | None = None  # sampling; None: the weights' default (1: from noise)
    steps: int | None = None  # sampling; None: the weights' default
    # torch and judge threads in each worker: the factory already runs one worker per core
    # (--workers), and more threads than cores make every draw wait on the others
    threads: int = 1

    def __post_init__(self) -> None:
        # the judge's name is checked by the drawer when the run starts (the evaluator's
        # backends stand above the factory)
        _probabilities(self, ["fraction"])
        _at_least("tries", self.tries, 1)
        lim.at_most("tries", self.tries, lim.MAX_TRIES, "each try is a full draw of the model")
        _at_least("threads", self.threads, 1)
        lim.at_most("threads", self.threads, lim.MAX_THREADS, "threads of one worker")
        if self.on_fail not in MODEL_DRAW_ON_FAIL:
            raise ValueError(f"on_fail: {self.on_fail!r}; use one of {list(MODEL_DRAW_ON_FAIL)}")
        rules = {"strength": cmdline.unit_interval, "steps": cmdline.positive_int}
        for name, rule in rules.items():  # as glyphgen.model.config.SAMPLING_RULES checks them
            value = getattr(self, name)
            if value is not None:
                try:
                    setattr(self, name, rule(value))
                except ValueError as exc:
                    raise ValueError(f"{name}: {exc}") from None


@dataclass
class OutputConfig:
    formats: list[str] = field(default_factory=lambda: ["jsonl"])
    image_format: Literal["jpg", "png"] = "jpg"
    jpeg_quality: int = 95  # when no JPEG effect draws a quality
    shard_size: int = 1000  # samples per shard; a shard is the unit of resume

    def __post_init__(self) -> None:
        _at_least("shard_size", self.shard_size, 1)
        lim.at_most("shard_size", self.shard_size, lim.MAX_SHARD_SIZE)
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be between 1 and 100, got {self.jpeg_quality}")


@dataclass
class SynthConfig:
    kind: Literal["line", "scene"] = "line"
    seed: int = 0
    num: int = 100  # samples; in text.source=coverage, 0 means "as many as coverage needs"
    text: TextConfig = field(default_factory=TextConfig)
    fonts: FontsConfig = field(default_factory=FontsConfig)
    line: LineConfig = field(default_factory=LineConfig)
    scene: SceneConfig = field(default_factory=SceneConfig)
    layout: LayoutConfig = field(default_factory=LayoutConfig)
    style: StyleConfig = field(default_factory=StyleConfig)
    effects: EffectsConfig = field(default_factory=EffectsConfig)
    background: BackgroundConfig = field(default_factory=BackgroundConfig)
    edit: EditConfig = field(default_factory=EditConfig)
    model_draw: ModelDrawConfig = field(default_factory=ModelDrawConfig)
    output: OutputConfig = field(default_factory=OutputConfig)

    def __post_init__(self) -> None:
        if self.num < 0:
            raise ValueError("num must be >= 0")
        lim.at_most("num", self.num, lim.MAX_SAMPLES, "split the data set into several runs")
        if self.output.shard_size < 1:
            raise ValueError("output.shard_size must be >= 1")
        shards = -(-self.num // self.output.shard_size)
        lim.at_most(
            f"num / output.shard_size (shards: {self.num} / {self.output.shard_size})",
            shards,
            lim.MAX_SHARDS,
            "raise output.shard_size",
        )
        if self.kind == "line":
            self._check_line_size()
        if self.edit.pairs and self.kind != "scene":
            raise ValueError("edit.pairs needs kind: scene (an edit replaces a line in a scene)")
        if self.edit.pairs and self.model_draw.fraction > 0:
            raise ValueError(
                "edit.pairs and model_draw.fraction > 0 together: an edit pair's three images "
                "must differ only in their text's ink; set one of them off"
            )

    def _check_line_size(self) -> None:
        """The widest crop this config can draw, from the sizes alone, before any is drawn."""
        longest = self.text.length[1] + MIX_MAX_EXTRA
        side = lim.line_image_width(
            self.line.height, longest, self.layout.spacing[1], self.line.margin[1]
        )
        fix = (
            f"lower line.height ({self.line.height}) or text.length's maximum "
            f"({self.text.length[1]})"
        )
        what = (
            f"line images: {longest} characters (text.length plus what text.mix adds) at "
            f"line.height {self.line.height} can be {side} px long, so their long side"
        )
        lim.at_most(what, side, lim.MAX_IMAGE_SIDE, fix)
        lim.at_most(
            f"line images: {self.line.height} x {side} px, so their pixels",
            self.line.height * side,
            lim.MAX_IMAGE_PIXELS,
            fix,
        )


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def load_config(
    path: Path | None = None,
    preset: str | None = None,
    overrides: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> SynthConfig:
    """Preset < config file < ``--set`` overrides < ``extra`` (explicit CLI flags), as
    :func:`glyphgen.configio.load` orders every config."""
    files: list[Path] = []
    if preset:
        preset_file = PRESETS_DIR / f"{preset}.yaml"
        if not preset_file.exists():
            raise configio.ConfigError(
                f"unknown preset {preset!r}; available presets: {preset_names()}"
            )
        files.append(preset_file)
    if path:
        files.append(Path(path))
    return configio.load(SynthConfig, files, overrides, extra)


def fingerprint_dict(cfg: SynthConfig) -> dict[str, Any]:
    """The parts of the config that decide sample bytes (not how many, nor where, nor how fast)."""
    data = configio.to_dict(cfg)
    data.pop("num")
    if not cfg.edit.pairs:  # folders written before edit pairs existed keep their fingerprint
        data.pop("edit")
    if cfg.model_draw.fraction == 0:  # nothing redrawn: folders of earlier versions resume
        data.pop("model_draw")
    if not cfg.background.image_dirs:  # no image is read: the limit decides nothing, and
        data["background"].pop("max_pixels")  # folders of earlier versions stay resumable
    return data
