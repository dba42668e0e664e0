"""Upper bounds on every size a config, a flag or a request can set, in one place.

Each bound is checked where the value enters (the typed config loaders, the argument
parsers), before anything is allocated, and a value over it is refused by name: a
:class:`LimitError` saying the limit, the value and what to do. The figures keep one sample
of the factory under 2 GB (a 3072x3072 scene of 1024 px text peaks at 1.4 GB on one
worker) and every file name and index format valid; docs/limits.md lists them with what you
see.
"""

from __future__ import annotations

import math

# -- images the factory makes ---------------------------------------------------------------
MAX_IMAGE_SIDE = 16_384  # px, either side of a sample (JPEG itself stops at 65,535)
MAX_IMAGE_PIXELS = 3072 * 3072  # width x height of a sample: ~110 MB per float32 RGB copy
MAX_LINE_HEIGHT = 512  # px, recognition crops (typical: 32-64)
MAX_FONT_SIZE = 1024  # px, em size of scene text
MAX_REGIONS = 64  # text regions per scene
MAX_LINES_PER_REGION = 16  # lines of text in one region
MAX_TEXT_LENGTH = 256  # characters per text line (before digits/Latin/punctuation are mixed in)
MAX_PLACEMENT_TRIES = 1_000  # scene.max_tries: positions tried per region
MAX_BLUR_SIGMA = 50.0  # px, gaussian sigma of effects.blur and style.shadow_blur
MAX_EM_FRACTION = 2.0  # em: spacing, line gap, shadow offset, margins
MAX_STROKE_EM = 0.25  # em: style.stroke_width (a dilation that wide of a 1024 px glyph)
MAX_BACKGROUND_PIXELS = 100_000_000  # background.max_pixels: ~300 MB of RGB decoded

# -- a render (glyphgen render, --batch lines, the web page: glyphgen.render) -----------------
# Its regions, lines per region and characters per line are bounded by MAX_REGIONS,
# MAX_LINES_PER_REGION and MAX_TEXT_LENGTH above, as the factory's are.
# The smallest character that still reads: the em, in image pixels, a rendered line may
# have (PP-OCRv4 reads its crops 48 px high; below about 10 px the strokes of hanzi merge).
MIN_CHAR_PX = 10
MAX_THREADS = 256  # model_draw.threads: torch and judge threads of one factory worker
MAX_TRIES = 16  # verified rendering: candidates per region (each a full draw of the model)

# -- a run ----------------------------------------------------------------------------------
MAX_SAMPLES = 1_000_000_000  # sample names are 9 digits (000000000.jpg, image-%09d)
MAX_SHARDS = 100_000  # shard folders are 5 digits (shards/00000)
MAX_SHARD_SIZE = 100_000  # samples per shard (a shard's labels are held until it is sealed)
MAX_COVERAGE_COUNT = 10_000  # text.min_count
WORKERS_PER_CORE = 4  # local processes per core: each holds its own fonts and glyph cache
MAX_WORKERS = 1_024  # --workers on a Ray cluster


class LimitError(ValueError):
    """A size over one of the bounds above; the message names the setting, the bound and the fix."""


def at_most(name: str, value: float, high: float, fix: str = "") -> None:
    """Refuse ``value`` above ``high`` naming ``name``; ``fix`` says what to do instead."""
    if not value <= high:  # also refuses NaN
        shown = f"{high:,}" if isinstance(high, int) else f"{high:g}"
        raise LimitError(f"{name} must be <= {shown}, got {value}" + (f"; {fix}" if fix else ""))


def line_image_width(height: int, length: int, spacing: float, margin: float) -> int:
    """The widest recognition crop a line config can draw, in px: ``length`` characters of at
    most 1 em plus ``spacing`` em each, one more em for a rotated or curved line's spread,
    and a margin (a fraction of the height) on each side. The em size cancels out: the crop is
    scaled so the line's height is ``height``."""
    ems = length * (1.0 + max(spacing, 0.0)) + 1.0 + 2.0 * margin
    return math.ceil(height * ems)
