"""Recipe levers of the glyph model: batches rendered ahead, Min-SNR weighting, rectified flow."""

import json

import numpy as np
import pytest
import torch
from diffusers import DDPMScheduler, FlowMatchEulerDiscreteScheduler
from model_helpers import tiny_config

from glyphgen.cli import main
from glyphgen.model.batch_files import read_batch_files, write_batch_files
from glyphgen.model.config import ModelConfig, load_train_config
from glyphgen.model.data import batches
from glyphgen.model.losses import timestep_weights
from glyphgen.model.objectives import FlowObjective
from glyphgen.model.pipeline import GlyphPipeline
from glyphgen.model.train import Trainer, read_losses


def test_batches_written_ahead_read_back_as_the_live_stream_gave_them(tmp_path, fonts):
    cfg = tiny_config(tmp_path / "run")
    stage = cfg.stages[0]
    live = list(zip(range(3), batches(stage.data, cfg.model, 2, fonts), strict=False))
    stream = batches(stage.data, cfg.model, 2, fonts)
    write_batch_files(stream, 3, tmp_path / "b")
    read = read_batch_files([str(tmp_path / "b" / "batch-*.safetensors")])
    for (_, want), got in zip(live, read, strict=False):
        for key in ("image", "source", "style_ref", "glyph", "position", "edit"):
            # pixels were uint8 before they were tensors: stored exactly
            assert torch.allclose(got[key], want[key], atol=1e-5), key
        for key in ("use_source", "keep_ref", "attributes", "keep_attr"):
            assert torch.equal(got[key], want[key]), key
        for key in ("texts", "captions", "boxes", "vertical"):
            assert got[key] == want[key], key
    again = next(read_batch_files([str(tmp_path / "b" / "batch-*.safetensors")], start=4))
    assert again["texts"] == live[1][1]["texts"] and again["next"] == 5  # passes wrap around


def test_a_rerun_keeps_the_batches_already_written(tmp_path, fonts):
    cfg = tiny_config(tmp_path / "run")
    stage = cfg.stages[0]
    folder = tmp_path / "b"
    write_batch_files(batches(stage.data, cfg.model, 2, fonts), 2, folder)
    first = (folder / "batch-000000.safetensors").stat().st_mtime_ns
    paths = write_batch_files(batches(stage.data, cfg.model, 2, fonts), 3, folder)
    assert [p.name for p in paths][-1] == "batch-000002.safetensors"
    assert (folder / "batch-000000.safetensors").stat().st_mtime_ns == first


def test_no_batch_files_is_a_named_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="--write-batches"):
        next(read_batch_files([str(tmp_path / "none-*.safetensors")]))


def test_train_writes_batches_then_trains_on_them(tmp_path, capsys):
    folder = tmp_path / "batches"
    assert main(["train", "--config", "tiny", "--quiet", "--write-batches", "2", "--out", str(folder)]) == 0  # fmt: skip
    assert sorted(p.name for p in folder.iterdir()) == [
        "batch-000000.safetensors",
        "batch-000001.safetensors",
    ]
    stage = f"stages=[{{name: s, steps: 3, batch_size: 2, warmup: 1, data: {{source: batches, shards: ['{folder}/batch-*.safetensors']}}}}]"  # fmt: skip
    run = tmp_path / "run"
    assert main(["train", "--config", "tiny", "--quiet", "--set", stage, "--out", str(run)]) == 0
    losses = list(read_losses(run / "loss.jsonl"))
    assert [r["step"] for r in losses] == [1, 2, 3]
    assert all(r["cpu_seconds"] > 0 for r in losses)


def test_write_batches_is_bounded(tmp_path, capsys):
    assert main(["train", "--config", "tiny", "--write-batches", "0", "--out", str(tmp_path)]) == 2
    assert "--write-batches must be" in capsys.readouterr().err


def test_min_snr_weights_follow_the_paper_for_each_target():
    t = torch.tensor([0, 100, 500, 900, 999])
    for kind in ("sample", "epsilon", "v_prediction"):
        sched = DDPMScheduler(beta_schedule="squaredcos_cap_v2", prediction_type=kind)
        a = sched.alphas_cumprod[t]
        snr = a / (1 - a)
        w = timestep_weights(sched, t, "min_snr", gamma=5.0)
        x0_weight = {"sample": 1, "epsilon": snr, "v_prediction": snr + 1}[kind] * w
        # in the units of the clean sample's error, every target gets min(SNR, gamma)
        assert torch.allclose(x0_weight, snr.clamp(max=5.0), rtol=1e-4)
        assert torch.equal(timestep_weights(sched, t, "uniform"), torch.ones(5))
    with pytest.raises(ValueError, match="unknown loss weighting"):
        timestep_weights(sched, t, "p2")


def test_flow_objective_is_the_straight_path_and_its_velocity():
    flow = FlowObjective()
    clean, noise = torch.zeros(2, 1, 2, 2), torch.ones(2, 1, 2, 2)
    t = torch.tensor([0, 999])
    noisy, model_t = flow.noised(clean, noise, t)
    assert noisy[0].max().item() == pytest.approx(0.001) and noisy[1].min().item() == 1.0
    assert model_t.tolist() == [1.0, 1000.0]  # what FlowMatchEulerDiscreteScheduler gives
    v = flow.target(clean, noise, t)
    assert torch.allclose(flow.clean_from(noisy, v, t), clean, atol=1e-6)
    with pytest.raises(ValueError, match="flow trains with uniform"):
        flow.weights(t, "min_snr", 5.0)


def test_flow_needs_velocity_and_euler():
    with pytest.raises(ValueError, match="prediction_type=v_prediction"):
        ModelConfig(objective="flow")
    ModelConfig(objective="flow", prediction_type="v_prediction", sampler="euler")


def test_a_flow_model_trains_saves_and_samples_from_noise_and_from_a_draft(tmp_path, fonts):
    flow = ["model.objective=flow", "model.prediction_type=v_prediction", "model.sampler=euler"]
    cfg = load_train_config("tiny", [f"out={tmp_path / 'run'}", *flow])
    cfg.stages = cfg.stages[:1]
    cfg.stages[0].steps = 2
    weights = Trainer(cfg, fonts=fonts, progress=False).run()
    pipe = GlyphPipeline.from_pretrained(weights)
    assert isinstance(pipe.scheduler, FlowMatchEulerDiscreteScheduler)
    glyph = torch.zeros(1, 1, 32, 128)
    glyph[..., 8:24, 16:112] = 1
    g = torch.Generator().manual_seed(0)
    for strength in (1.0, 0.5):
        out = pipe(["春天"], glyph, glyph, strength=strength, generator=g, output_type="pt")
        assert out.shape == (1, 3, 32, 128) and torch.isfinite(out).all()
    manifest = json.loads((weights / "manifest.json").read_text())
    assert manifest["config"]["model"]["objective"] == "flow"
    assert np.isfinite([r["loss"] for r in read_losses(tmp_path / "run" / "loss.jsonl")]).all()
