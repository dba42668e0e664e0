"""A killed recognizer run, resumed from its folder, is the run that was never killed."""

from __future__ import annotations

import itertools
import json

import pytest
import torch
from safetensors.torch import load_file

import glyphgen.reader.train as reader_train
from glyphgen.reader.config import load_reader_config
from glyphgen.reader.data import FactoryLines, StreamPosition, batches
from glyphgen.reader.train import factory_config, train, wanted_vocabulary
from glyphgen.resume import InexactResume

TINY = ["batch_size=4", "shuffle_buffer=8", "bucket_batches=2", "heldout_every=100",
        "heldout_lines=2", "net.widths=[4, 8, 8, 8]", "net.hidden=16", "net.context_layers=1",
        "net.embed=8", "data_overrides=['text.length=[2, 5]']"]  # fmt: skip


def _stream(cfg, workers: int, position: StreamPosition | None = None):
    lines = FactoryLines(factory_config(cfg), wanted_vocabulary(cfg), 0)
    return batches(lines, 4, workers, shuffle=8, seed=5, bucket=2, position=position)


def test_the_line_stream_resumes_from_any_batch_and_ignores_the_worker_count():
    cfg = load_reader_config(None, TINY)
    straight = list(itertools.islice(_stream(cfg, 0), 7))
    assert [b.texts for b in itertools.islice(_stream(cfg, 2), 7)] == [b.texts for b in straight]
    for n in (0, 2, 3):  # positions mid pool (batches queued) and at a pool's end
        position = straight[n].position
        assert position is not None and len(position.buffer) == 8
        resumed = _stream(cfg, 1, StreamPosition.from_dict(position.to_dict()))
        for a, b in zip(straight[n + 1 :], resumed, strict=False):
            assert a.texts == b.texts and torch.equal(a.images, b.images)


def _crash_at(monkeypatch, call: int) -> None:
    """Make the ``call``-th optimizer step raise, as a kill would stop the run there."""
    step, calls = reader_train.optimizer_step, [0]

    def crashing(*args, **kwargs):
        calls[0] += 1
        if calls[0] == call:
            raise KeyboardInterrupt
        return step(*args, **kwargs)

    monkeypatch.setattr(reader_train, "optimizer_step", crashing)


def test_a_resumed_run_is_the_run_that_was_never_interrupted(tmp_path, monkeypatch):
    """Killed at step 4 (its checkpoint at 3, lines in the shuffle buffer and width pools,
    two workers rendering ahead), resumed from the run folder: every weight, batch-norm
    statistic and optimizer moment at step 6 is bit for bit the straight run's."""
    cfg = [*TINY, "steps=6", "checkpoint_every=3", "workers=2"]
    train(load_reader_config(None, cfg), tmp_path / "straight", quiet=True)
    with monkeypatch.context() as patch:
        _crash_at(patch, call=4)
        with pytest.raises(KeyboardInterrupt):
            train(load_reader_config(None, cfg), tmp_path / "resumed", quiet=True)
    assert json.loads((tmp_path / "resumed" / "state.json").read_text())["step"] == 3
    train(load_reader_config(None, cfg), tmp_path / "resumed", quiet=True)
    a = load_file(str(tmp_path / "straight" / "state.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "state.safetensors"))
    assert sorted(a) == sorted(b) and any(k.startswith("opt.") for k in a)
    assert [k for k in a if not torch.equal(a[k], b[k])] == []


def test_a_run_folder_without_a_stream_position_resumes_with_a_warning(tmp_path):
    cfg = [*TINY, "steps=1", "checkpoint_every=1", "workers=0"]
    train(load_reader_config(None, cfg), tmp_path, quiet=True)
    state = json.loads((tmp_path / "state.json").read_text())
    del state["stream"]  # as runs written before stream positions were saved
    (tmp_path / "state.json").write_text(json.dumps(state))
    with pytest.warns(InexactResume, match="fresh shuffle buffer"):
        train(load_reader_config(None, [*cfg, "steps=2"]), tmp_path, quiet=True)
    assert json.loads((tmp_path / "state.json").read_text())["step"] == 2
