"""The recognizer: vocabulary and weights round trip, safetensors only, training legs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from glyphgen.reader.config import load_reader_config
from glyphgen.reader.data import batch_images, make_batch, shuffled, width_buckets
from glyphgen.reader.net import LineRecognizer, NetConfig
from glyphgen.reader.train import train
from glyphgen.reader.vocab import Vocabulary, default_characters
from glyphgen.reader.weights import load_model, save_model
from glyphgen.typeset import charsets

TINY = {"widths": (4, 8, 8, 8), "hidden": 16, "context_layers": 1, "embed": 8}


def tiny(vocab: Vocabulary) -> LineRecognizer:
    torch.manual_seed(0)
    return LineRecognizer(NetConfig(**TINY, num_classes=vocab.size)).eval()


def test_default_vocabulary_holds_all_of_gb2312_and_decodes_ctc():
    vocab = Vocabulary(default_characters())
    assert set(charsets.gb2312_hanzi()) <= set(vocab.chars)
    assert vocab.decode([0, 5, 5, 0, 5, 7, 7, 0]) == vocab.chars[4] * 2 + vocab.chars[6]
    assert vocab.decode(vocab.encode("北京 大学，A1")) == "北京大学，A1"
    with pytest.raises(KeyError, match="𠀀"):
        vocab.encode("北𠀀")


def test_vocabulary_round_trips_with_the_weights(tmp_path):
    vocab = Vocabulary("天地玄黄宇宙洪荒")
    model = tiny(vocab)
    save_model(tmp_path / "m", model, vocab, {"steps": 3})
    loaded, vocab2, manifest = load_model(tmp_path / "m")
    assert vocab2 == vocab and manifest["steps"] == 3 and manifest["vocabulary_size"] == 9
    x = torch.rand(2, 1, 32, 64)
    torch.testing.assert_close(loaded(x), model(x), atol=2e-2, rtol=0)  # fp16 storage
    # a vocabulary file from another model is refused, not silently misread
    Vocabulary("天地玄黄").save(tmp_path / "m" / "vocab.txt")
    with pytest.raises(ValueError, match="different models"):
        load_model(tmp_path / "m")


def test_only_safetensors_are_loaded(tmp_path):
    vocab = Vocabulary("天地")
    torch.save(tiny(vocab).state_dict(), tmp_path / "model.pt")
    with pytest.raises(ValueError, match="only safetensors"):
        load_model(tmp_path / "model.pt")
    with pytest.raises(ValueError, match=r"model\.pt is a pickle file"):  # nor beside them
        load_model(tmp_path)
    with pytest.raises(FileNotFoundError, match="train-reader"):
        load_model(tmp_path / "empty")


def test_batches_pad_to_the_step_and_keep_targets():
    vocab = Vocabulary("天地玄黄")
    greys = [np.ones((32, 30), np.float32), np.zeros((32, 45), np.float32)]
    batch = make_batch(greys, ["天地", "玄黄天"], vocab)
    assert batch.images.shape == (2, 1, 32, 48)
    assert batch.targets.tolist() == [1, 2, 3, 4, 1] and batch.target_lengths.tolist() == [2, 3]
    assert batch_images(greys)[1, 0, :, 45:].max() == 0  # padded with the line's background


def test_shuffle_buffer_is_a_seeded_permutation_that_spreads_neighbours():
    def run(seed: int) -> list[int]:
        return list(shuffled(range(1000), 100, np.random.default_rng(seed)))

    order = run(1)
    assert sorted(order) == list(range(1000)) and order == run(1) and order != run(2)
    gaps = np.abs(np.diff(order))
    assert np.median(gaps) > 20  # neighbours in the stream rarely stay neighbours


def test_width_buckets_group_like_widths_and_lose_no_line():
    rng = np.random.default_rng(0)
    widths = rng.integers(16, 512, size=10 * 8 + 5)  # a short last pool
    items = [(np.zeros((32, int(w)), np.float32), str(i)) for i, w in enumerate(widths)]

    def padded(groups: list[list[tuple[np.ndarray, str]]]) -> int:
        return sum(len(g) * max(grey.shape[1] for grey, _ in g) for g in groups)

    groups = list(width_buckets(items, 8, 4, np.random.default_rng(2)))
    assert sorted(t for g in groups for _, t in g) == sorted(t for _, t in items)
    assert [len(g) for g in groups].count(8) == 10 and len(groups) == 11
    plain = list(width_buckets(items, 8, 1, np.random.default_rng(1)))
    assert [t for g in plain for _, t in g] == [t for _, t in items]  # pool 1: stream order
    assert padded(groups) < 0.8 * padded(plain)
    first_pool = [widths[int(g[0][1])] for g in groups[:4]]
    assert first_pool != sorted(first_pool)  # a pool's batches come out shuffled


def test_training_writes_a_loadable_model_and_resumes_as_a_new_leg(tmp_path):
    sets = [
        "steps=2",
        "batch_size=4",
        "workers=0",
        "shuffle_buffer=8",
        "heldout_every=2",
        "heldout_lines=4",
        "checkpoint_every=1",
        "net.widths=[4, 8, 8, 8]",
        "net.hidden=16",
        "net.context_layers=1",
        "net.embed=8",
        "data_overrides=['text.length=[2, 3]']",
    ]
    out = train(load_reader_config(None, sets), tmp_path / "run", quiet=True)
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    assert state["step"] == 2 and state["next_index"] >= 8
    out = train(load_reader_config(None, [*sets, "steps=3"]), tmp_path / "run", quiet=True)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["steps"] == 3 and len(manifest["legs"]) == 2
    assert manifest["legs"][1]["start_index"] == state["next_index"]
    assert manifest["training_data"]["font_split"] == "train"
    assert manifest["heldout_data"]["font_split"] == "heldout"
    load_model(out)
    with pytest.raises(ValueError, match="another run folder"):
        train(load_reader_config(None, [*sets, "net.hidden=24"]), tmp_path / "run", quiet=True)


@pytest.mark.slow
def test_training_continues_from_exported_weights_and_grows_the_vocabulary(tmp_path):
    sets = ["steps=2", "batch_size=4", "workers=0", "shuffle_buffer=8", "heldout_every=100",
            "checkpoint_every=1",
            "net.widths=[4, 8, 8, 8]", "net.hidden=16", "net.context_layers=1", "net.embed=8",
            "data_overrides=['text.length=[2, 3]']"]  # fmt: skip
    first = train(load_reader_config(None, sets), tmp_path / "a", quiet=True)
    old, old_vocab, old_manifest = load_model(first)
    (tmp_path / "extra.txt").write_text("𠀀𠀁\n", encoding="utf-8")
    # lr=0: the new leg must not move the weights, so the old classes read exactly as before;
    # net.hidden=24 widens the init model's network (what it learnt is kept: tests/reader/test_grow.py)
    more = [*sets, "steps=3", "lr=0", f"init={first}", f"extra_charset={tmp_path / 'extra.txt'}",
            "net.hidden=24"]  # fmt: skip
    out = train(load_reader_config(None, more), tmp_path / "b", quiet=True)
    model, vocab, manifest = load_model(out)
    assert vocab.chars == old_vocab.chars + "𠀀𠀁"
    assert manifest["steps"] == 3 and len(manifest["legs"]) == 2
    assert manifest["legs"][1]["init"] == str(first)
    assert manifest["legs"][1]["start_index"] == old_manifest["training_data"]["sample_indices"][1]
    assert manifest["net"]["hidden"] == 24 and manifest["net"]["widths"] == [4, 8, 8, 8]
    assert manifest["legs"][1]["widened_from"]["hidden"] == 16
    torch.testing.assert_close(model.classifier.weight[: old_vocab.size], old.classifier.weight)


def test_bf16_autocast_keeps_fp32_log_probs_and_trains(tmp_path):
    """precision=bf16 runs the forward pass under CPU autocast; the log-probs CTC gets stay
    fp32 and read as the fp32 pass does, and a training leg runs and says it used bf16."""
    torch.manual_seed(0)
    model = LineRecognizer(NetConfig(num_classes=50, widths=(4, 8, 8, 8), hidden=16, embed=8))
    images = torch.rand(2, 1, 32, 64)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        low = model(images)
    assert low.dtype == torch.float32
    torch.testing.assert_close(low, model(images), atol=0.1, rtol=0)
    sets = ["steps=2", "batch_size=4", "workers=0", "shuffle_buffer=8", "heldout_every=100",
            "net.widths=[4, 8, 8, 8]", "net.hidden=16", "net.context_layers=1", "net.embed=8",
            "data_overrides=['text.length=[2, 3]']", "precision=bf16"]  # fmt: skip
    out = train(load_reader_config(None, sets), tmp_path / "run", quiet=True)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["legs"][-1]["config"]["precision"] == "bf16"
    model, _, _ = load_model(out)
    assert all(torch.isfinite(p).all() for p in model.parameters())
