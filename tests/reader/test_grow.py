"""Growing a trained recognizer: new classes and a wider, deeper net keep what it learnt."""

from __future__ import annotations

import pytest
import torch

from glyphgen.reader.grow import grow_vocabulary, larger_net, widen
from glyphgen.reader.net import LineRecognizer, NetConfig
from glyphgen.reader.vocab import Vocabulary

SMALL = NetConfig(widths=(4, 8, 8, 8), hidden=16, context_layers=1, embed=8, num_classes=12)
WIDE = NetConfig(widths=(6, 12, 10, 16), hidden=24, context_layers=2, embed=14, num_classes=12)


def trained_looking(cfg: NetConfig) -> LineRecognizer:
    """A net with non-trivial BatchNorm statistics, as training leaves them."""
    torch.manual_seed(0)
    model = LineRecognizer(cfg).train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.rand(4, 1, 32, 64))
    return model.eval()


def test_growing_the_vocabulary_keeps_what_was_learnt():
    vocab = Vocabulary("天地玄黄")
    torch.manual_seed(0)
    model = LineRecognizer(NetConfig(widths=(4, 8, 8, 8), hidden=16, context_layers=1, embed=8,
                                     num_classes=vocab.size)).eval()  # fmt: skip
    bigger = vocab.extended("宇宙天")
    assert bigger.chars == "天地玄黄宇宙"
    grown = grow_vocabulary(model, bigger.size).eval()
    x = torch.rand(1, 1, 32, 48)
    old = model.classifier(model.features(x).permute(2, 0, 1))
    new = grown.classifier(grown.features(x).permute(2, 0, 1))
    torch.testing.assert_close(new[..., : vocab.size], old)
    assert (new[..., vocab.size :] < new[..., :1]).all()  # new classes start below the blank


def test_widening_without_noise_computes_the_same_function():
    model = trained_looking(SMALL)
    grown = widen(model, WIDE, noise=0.0)
    assert grown.cfg == WIDE and not grown.training
    assert sum(p.numel() for p in grown.parameters()) > sum(p.numel() for p in model.parameters())
    x = torch.rand(3, 1, 32, 80)
    with torch.no_grad():
        torch.testing.assert_close(grown(x), model(x), atol=1e-5, rtol=1e-5)
        # in training mode too: batch statistics of a copied channel are its original's
        torch.testing.assert_close(grown.train()(x), model.train()(x), atol=1e-4, rtol=1e-4)


def test_widening_noise_parts_the_copies_but_keeps_the_readings():
    model = trained_looking(SMALL)
    grown = widen(model, WIDE)  # default noise
    first = grown.backbone[0].weight  # (6, 1, 3, 3): channels 4, 5 copy two of 0..3
    assert not any(torch.equal(first[j], first[i]) for j in (4, 5) for i in range(4))
    x = torch.rand(3, 1, 32, 80)
    with torch.no_grad():
        assert (grown(x).argmax(-1) == model(x).argmax(-1)).float().mean() > 0.95
        torch.testing.assert_close(grown(x), model(x), atol=0.05, rtol=0)


def test_a_trained_net_never_shrinks():
    model = trained_looking(SMALL)
    smaller = NetConfig(widths=(4, 4, 8, 8), hidden=16, context_layers=1, embed=8)
    with pytest.raises(ValueError, match=r"widths \(4, 8, 8, 8\) -> \(4, 4, 8, 8\)"):
        widen(model, smaller)
    with pytest.raises(ValueError, match="hidden 16 -> 12"):
        widen(model, NetConfig(widths=(4, 8, 8, 8), hidden=12, context_layers=1, embed=8))


def test_init_plus_a_net_section_grows_to_the_larger_of_each_size():
    asked = NetConfig(widths=(2, 12, 8, 4), hidden=8, context_layers=3, embed=4)
    grown = larger_net(SMALL, asked)
    assert grown == NetConfig(widths=(4, 12, 8, 8), hidden=16, context_layers=3, embed=8,
                              num_classes=SMALL.num_classes)  # fmt: skip
