"""EMA weights: the average a run keeps of its trained weights, saved beside the last step's."""

import json

import pytest
import torch
from model_helpers import run_until_crash, tiny_config
from safetensors.torch import load_file

from glyphgen.cli import main
from glyphgen.model.ema import EmaWeights
from glyphgen.model.pipeline import GlyphPipeline
from glyphgen.model.train import CHECKPOINT, EMA_FILE, Trainer


def test_the_average_follows_the_weights_at_the_warmed_up_rate():
    layer = torch.nn.Linear(1, 1, bias=False)
    layer.weight.data.fill_(0.0)
    ema = EmaWeights({"layer": layer}, decay=0.5)
    expected = 0.0
    for value in (1.0, 2.0, 3.0, 4.0):
        layer.weight.data.fill_(value)
        d = min(0.5, (1 + ema.updates) / (10 + ema.updates))  # 0.1, 0.18, 0.25, 0.31
        expected = d * expected + (1 - d) * value
        ema.update({"layer": layer})
    assert ema.average["layer.weight"].item() == pytest.approx(expected)
    assert expected != pytest.approx(4.0)  # an average, not the last weight
    with ema.swapped_in({"layer": layer}):
        assert layer.weight.item() == pytest.approx(expected)
    assert layer.weight.item() == 4.0  # the model's own weights come back


def test_a_decay_outside_0_1_is_refused_by_name():
    with pytest.raises(ValueError, match="ema_decay must be between 0 and 1"):
        EmaWeights({"layer": torch.nn.Linear(1, 1)}, decay=1.0)


def _unet(folder):
    return load_file(str(folder / "unet" / "diffusion_pytorch_model.safetensors"))


@pytest.mark.slow
def test_a_run_with_ema_saves_the_average_and_the_last_step_and_resumes_both_exactly(
    tmp_path, fonts, monkeypatch
):
    sets = ["ema_decay=0.9", "checkpoint_every=2", "sample_every=100", "model.width=64"]
    straight = Trainer(tiny_config(tmp_path / "straight", *sets), fonts=fonts, progress=False)
    weights = straight.run()
    raw = weights.with_name("weights-raw")
    average, last = _unet(weights), _unet(raw)
    assert any(not torch.equal(average[k], last[k]) for k in average)
    manifests = [json.loads((f / "manifest.json").read_text()) for f in (weights, raw)]
    assert [m["weights"] for m in manifests] == ["EMA, decay 0.9", "last step"]
    assert (weights.with_name("weights-stage1-raw") / "manifest.json").is_file()
    # the last step's weights are the model the checkpoint resumes
    assert all(
        torch.equal(last[k], v)
        for k, v in _unet(tmp_path / "straight" / CHECKPOINT / "pipeline").items()
    )
    # stopped mid-run and resumed: the same average, bit for bit
    cfg = tiny_config(tmp_path / "resumed", *sets)
    run_until_crash(Trainer(cfg, fonts=fonts, progress=False), monkeypatch, call=4)
    assert (tmp_path / "resumed" / CHECKPOINT / EMA_FILE).is_file()
    resumed = _unet(Trainer(cfg, fonts=fonts, progress=False).run())
    assert [k for k in average if not torch.equal(average[k], resumed[k])] == []
    # export ships the average; --raw the last step
    for flag, want in (([], average), (["--raw"], last)):
        dst = tmp_path / f"export{flag}"
        args = ["train", "--out", str(tmp_path / "straight"), "--export", str(dst), *flag]
        assert main(args) == 0
        shipped = _unet(dst)
        assert all(torch.allclose(shipped[k].float(), want[k], atol=1e-2) for k in want)
    GlyphPipeline.from_pretrained(tmp_path / "export[]")  # loads as any pipeline


def test_ema_switched_on_for_a_run_under_way_starts_from_its_checkpoint(
    tmp_path, fonts, monkeypatch, caplog
):
    sets = ["checkpoint_every=2", "sample_every=100", "model.width=64"]
    run_until_crash(
        Trainer(tiny_config(tmp_path, *sets), fonts=fonts, progress=False), monkeypatch, call=4
    )
    trainer = Trainer(tiny_config(tmp_path, *sets, "ema_decay=0.9"), fonts=fonts, progress=False)
    assert "no EMA weights: the average starts at step 2" in caplog.text
    assert trainer.run().with_name("weights-raw").is_dir()


def test_raw_export_of_a_run_without_ema_says_there_is_no_average(tmp_path, capsys):
    (tmp_path / "weights").mkdir()
    args = ["train", "--out", str(tmp_path), "--export", str(tmp_path / "x"), "--raw"]
    assert main(args) == 2
    assert "trained with ema_decay > 0" in capsys.readouterr().err
