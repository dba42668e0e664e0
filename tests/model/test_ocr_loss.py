"""The OCR-aware loss: a recognizer on the predicted x0 inside text lines sends gradients
into the trainable parts, at the timesteps the config allows."""

import json

import pytest
import torch
import torch.nn.functional as F
from model_helpers import tiny_config
from torch import nn

from glyphgen.model.data import batches
from glyphgen.model.losses import line_crops
from glyphgen.model.train import Trainer


class TinyCtcRecognizer(nn.Module):
    """A frozen conv + CTC line reader over a small alphabet, built here for the test."""

    def __init__(self, alphabet: str):
        super().__init__()
        torch.manual_seed(0)
        self.index = {c: i + 1 for i, c in enumerate(alphabet)}  # 0 is the CTC blank
        self.net = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, len(alphabet) + 1, 3, padding=1)
        )
        self.requires_grad_(False)
        self.calls = 0

    def __call__(self, pred, target, texts):
        self.calls += 1
        assert pred.dim() == 4 and pred.shape[1] == 3 and pred.shape[2] == 32
        assert target is not None and target.shape == pred.shape
        logits = self.net((pred + 1) / 2).mean(dim=2)  # (B, K, W)
        logp = logits.permute(2, 0, 1).log_softmax(-1)  # (W, B, K)
        ids = [torch.tensor([self.index.get(c, 1) for c in t]) for t in texts]
        return F.ctc_loss(
            logp,
            torch.cat(ids),
            [logp.shape[0]] * len(texts),
            [len(t) for t in texts],
            zero_infinity=True,
        )


def test_ocr_loss_contributes_gradients(tmp_path, fonts):
    cfg = tiny_config(tmp_path, "ocr_loss.weight=1.0", "ocr_loss.max_timestep=1000")
    recognizer = TinyCtcRecognizer(
        "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严"
    )
    trainer = Trainer(cfg, fonts=fonts, text_loss=recognizer, progress=False)
    batch = next(batches(cfg.stages[0].data, cfg.model, 2, fonts))
    losses = trainer.training_step(batch)
    assert "ocr" in losses and recognizer.calls == 1
    # gradients of the OCR term alone reach the ControlNet and the text encoder
    trainer.pipe.controlnet.zero_grad()
    losses["ocr"].backward()
    grads = [p.grad for p in trainer.pipe.controlnet.parameters() if p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)
    assert all(p.grad is None for p in recognizer.net.parameters())  # the judge stays frozen


def test_ocr_loss_is_skipped_at_high_noise(tmp_path, fonts):
    cfg = tiny_config(tmp_path, "ocr_loss.weight=1.0", "ocr_loss.max_timestep=-1")
    recognizer = TinyCtcRecognizer("一二三")
    trainer = Trainer(cfg, fonts=fonts, text_loss=recognizer, progress=False)
    batch = next(batches(cfg.stages[0].data, cfg.model, 2, fonts))
    assert "ocr" not in trainer.training_step(batch) and recognizer.calls == 0


def test_the_readers_own_loss_plugs_in(tmp_path, fonts):
    """glyphgen.reader's TextPerceptualLoss (on a tiny recognizer) is a TextPerceptualLoss."""
    reader_loss = pytest.importorskip("glyphgen.reader.loss")
    from glyphgen.reader.net import LineRecognizer, NetConfig
    from glyphgen.reader.vocab import Vocabulary

    cfg = tiny_config(tmp_path, "ocr_loss.weight=1.0", "ocr_loss.max_timestep=1000")
    batch = next(batches(cfg.stages[0].data, cfg.model, 2, fonts))
    vocab = Vocabulary("".join(sorted(set(batch["texts"][0]))))  # reads line 0, not line 1
    torch.manual_seed(0)
    net = NetConfig((4, 8, 8, 8), hidden=16, context_layers=1, embed=8, num_classes=vocab.size)
    source = {"weights": "tiny", "steps": 1, "sha256": "0" * 64}
    loss = reader_loss.TextPerceptualLoss(LineRecognizer(net), vocab, source=source)
    trainer = Trainer(cfg, fonts=fonts, text_loss=loss, progress=False)
    losses = trainer.training_step(batch)
    losses["ocr"].backward()
    assert any(
        p.grad is not None and p.grad.abs().sum() > 0 for p in trainer.pipe.controlnet.parameters()
    )
    # the weights say which recognizer shaped them: the bundled one gets retrained
    trainer.save_weights(tmp_path / "weights")
    manifest = json.loads((tmp_path / "weights" / "manifest.json").read_text())
    assert manifest["ocr_loss_reader"] == source


def test_line_crops_turn_columns_into_rows_of_one_height():
    images = torch.zeros(2, 3, 128, 32)
    rows = line_crops(images, [(4, 8, 28, 120), (4, 8, 28, 60)], vertical=True)
    assert rows.shape[:3] == (2, 3, 32) and rows.shape[3] > 32


def test_with_keep_known_the_ocr_loss_reads_the_prediction_with_the_known_pixels_back(
    tmp_path, fonts
):
    cfg = tiny_config(
        tmp_path, "ocr_loss.weight=1.0", "ocr_loss.max_timestep=1000", "model.keep_known=true"
    )
    seen = []

    def reader(pred, target, texts):
        seen.append((pred.detach(), target))
        return pred.mean() * 0

    trainer = Trainer(cfg, fonts=fonts, text_loss=reader, progress=False)
    batch = next(batches(cfg.stages[0].data, cfg.model, 2, fonts))
    batch["use_source"][:] = True
    batch["glyph"][:] = 0  # no glyph, no stand-in old text: every pixel is known
    trainer.generator.manual_seed(1)
    trainer.training_step(batch)
    pred, target = seen[0]
    assert torch.allclose(pred, target, atol=1e-4)  # what the reader saw is the photo itself
