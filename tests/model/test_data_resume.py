"""A batch stream resumed from the position a batch carried goes on as if never stopped."""

import itertools

import torch

from glyphgen.model.config import DataConfig, ModelConfig
from glyphgen.model.data import DataPosition, batches

# several lines per scene, rows and columns: crops wait in both buckets between batches
LINES = [
    "scene.width=256",
    "scene.height=128",
    "scene.regions=[1,2]",
    "layout.lines=[1,3]",
    "layout.curve_prob=0",
    "text.length=[2,4]",
]


def _same(a: dict, b: dict) -> bool:
    return all(
        torch.equal(a[k], b[k]) if torch.is_tensor(a[k]) else a[k] == b[k] for k in a.keys() | b
    )


def test_factory_stream_resumes_exactly_with_crops_waiting_in_its_buckets(fonts):
    cfg = ModelConfig(height=32, width=64)
    data = DataConfig(overrides=LINES, vertical=0.5, seed=3)
    straight = list(itertools.islice(batches(data, cfg, 3, fonts), 5))
    cuts = [b["data_position"] for b in straight[:3]]
    assert cuts[0]["columns"] and cuts[2]["line"] > 0  # crops waiting; a scene half cut
    for n, cut in enumerate(cuts):
        resumed = batches(data, cfg, 3, fonts, DataPosition.from_dict(cut))
        for a, b in zip(straight[n + 1 :], resumed, strict=False):
            assert _same(a, b)
