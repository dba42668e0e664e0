"""render's geometry, with the model replaced by an ideal writer (dark glyphs on the source):
what it pastes back and what out.json says must let the judge read the text exactly."""

import numpy as np
import pytest
import torch
from model_helpers import tiny_config

from glyphgen.model.build import build_pipeline
from glyphgen.model.pipeline import GlyphPipeline, GlyphPipelineOutput
from glyphgen.model.render import RegionRequest, parse_region, render_regions, write_outputs


def _ideal_writer(self, texts, glyph, position_mask, source=None, edit_mask=None, **kwargs):
    """Ink where the glyph control says, the source everywhere else."""
    out = source * (1 - glyph) + (-0.9) * glyph
    arr = ((out + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return GlyphPipelineOutput(images=arr)


@pytest.fixture
def ideal(tmp_path, monkeypatch):
    monkeypatch.setattr(GlyphPipeline, "__call__", _ideal_writer)
    return build_pipeline(tiny_config(tmp_path, "model.height=64").model)


def test_rows_tilted_quads_and_columns_land_where_the_annotation_says(ideal, fonts, tmp_path):
    from glyphgen.eval import evaluate

    bg = np.full((360, 520, 3), (235, 225, 200), np.uint8)
    requests = [
        RegionRequest("营业时间", parse_region("20,20,260,76")),
        RegionRequest("欢迎光临", parse_region("40,130,300,110,306,170,46,190")),  # tilted quad
        RegionRequest("书山有路", parse_region("440,20,496,300"), vertical=True),
    ]
    image, texts = render_regions(ideal, bg, requests, fonts)
    ann = write_outputs(tmp_path / "out.png", image, texts)
    report = evaluate(ann)
    assert report.summary.n == 3
    assert report.summary.sentence_acc == 1.0, [r.read for r in report.regions]
    assert (image[330:, :200] == bg[330:, :200]).all()  # away from the regions: untouched
