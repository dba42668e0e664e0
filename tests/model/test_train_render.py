"""End to end: train 6 steps on factory data, render with the checkpoint, evaluate it."""

import json

import numpy as np
import pytest
import torch
from model_helpers import run_until_crash, tiny_config
from PIL import Image

from glyphgen.cli import main
from glyphgen.model.pipeline import GlyphPipeline
from glyphgen.model.train import Trainer, read_losses


def test_six_step_training_writes_everything_render_needs(trained):
    weights = trained
    out = weights.parent
    for part in ("unet", "controlnet", "text_encoder", "style_adapter"):
        assert (weights / part / "diffusion_pytorch_model.safetensors").is_file()
    assert not list(weights.rglob("*.bin")) and not list(weights.rglob("*.pt"))
    manifest = json.loads((weights / "manifest.json").read_text())
    assert (
        manifest["steps"] == 6 and "unet/diffusion_pytorch_model.safetensors" in manifest["files"]
    )
    assert [r["step"] for r in read_losses(out / "loss.jsonl")] == [1, 2, 3, 4, 5, 6]
    assert [r["stage"] for r in read_losses(out / "loss.jsonl")][3:] == [
        "stage1",
        "stage2",
        "stage2",
    ]
    assert (out / "loss.png").is_file() and list((out / "logs").glob("events.out.tfevents.*"))
    assert (out / "samples" / "step-0000006.png").is_file()
    assert json.loads((out / "checkpoint" / "state.json").read_text())["step"] == 6


def test_render_loads_the_checkpoint_and_eval_reads_its_output(trained, tmp_path):
    weights = trained
    png = tmp_path / "out.png"
    assert main(["render", "--text", "宁静致远", "--weights", str(weights), "--out", str(png)]) == 0
    record = json.loads((tmp_path / "out.json").read_text())
    assert record["image"] == "out.png" and record["texts"][0]["text"] == "宁静致远"
    assert len(record["texts"][0]["chars"]) == 4

    column = tmp_path / "column.png"
    args = ["render", "--text", "书山有路", "--vertical", "--weights", str(weights)]
    assert main([*args, "--out", str(column)]) == 0
    h, w = np.asarray(Image.open(column)).shape[:2]
    assert h > 2 * w
    assert json.loads((tmp_path / "column.json").read_text())["texts"][0]["direction"] == "vertical"

    # Two regions on a background, one vertical file: all through the evaluator unchanged.
    bg = tmp_path / "bg.png"
    Image.fromarray(np.full((120, 300, 3), 200, np.uint8)).save(bg)
    sign = tmp_path / "sign.png"
    args = ["render", "--weights", str(weights), "--background", str(bg), "--out", str(sign)]
    args += [
        "--text",
        "营业中",
        "--region",
        "20,20,140,60",
        "--text",
        "书店",
        "--region",
        "160,30,280,90",
    ]
    assert main(args) == 0
    from glyphgen.eval import evaluate

    report = evaluate(tmp_path / "sign.json")
    assert report.summary.n == 2  # an untrained model's text is not readable yet: only counted
    img = np.asarray(Image.open(sign))
    assert img.shape == (120, 300, 3)
    assert (img[:5, :5] == 200).all()  # outside the regions the background is untouched


def test_same_seed_same_image(trained):
    weights = trained
    pipe = GlyphPipeline.from_pretrained(weights)
    glyph = torch.zeros(1, 1, 32, 128)
    glyph[..., 8:24, 16:112] = 1

    def run(seed):
        return pipe(["你好"], glyph, glyph, generator=torch.Generator().manual_seed(seed)).images

    assert np.array_equal(run(3), run(3))
    assert not np.array_equal(run(3), run(4))


@pytest.mark.slow
def test_training_resumes_from_the_checkpoint(tmp_path, fonts, monkeypatch):
    cfg = tiny_config(tmp_path, "checkpoint_every=2", "sample_every=100")
    run_until_crash(Trainer(cfg, fonts=fonts, progress=False), monkeypatch, call=4)
    assert json.loads((tmp_path / "checkpoint" / "state.json").read_text())["step"] == 2
    second = Trainer(cfg, fonts=fonts, progress=False)
    assert second.state["step"] == 2
    second.run()
    steps = [r["step"] for r in read_losses(tmp_path / "loss.jsonl")]
    assert steps == [1, 2, 3, 3, 4, 5, 6]  # step 3 was logged, then lost with the crash


def test_style_reference_is_optional_and_followed(trained, tmp_path):
    weights = trained
    ref = tmp_path / "ref.png"
    Image.fromarray(np.tile(np.array([[200, 30, 30]], np.uint8), (40, 160, 1))).save(ref)
    plain, styled = tmp_path / "plain.png", tmp_path / "styled.png"
    base = ["render", "--text", "开业", "--weights", str(weights)]
    assert main([*base, "--out", str(plain)]) == 0
    assert main([*base, "--style-ref", str(ref), "--out", str(styled)]) == 0
    assert not np.array_equal(np.asarray(Image.open(plain)), np.asarray(Image.open(styled)))


def test_a_checkpoint_of_another_model_is_not_resumed(tmp_path, fonts):
    Trainer(tiny_config(tmp_path, "stages=[{steps: 1, batch_size: 1}]"), fonts=fonts).run()
    with pytest.raises(ValueError, match="text_dim"):
        Trainer(tiny_config(tmp_path, "model.text_dim=16"), fonts=fonts)


def _checkpoint(out) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """A checkpoint's tensors: the pipeline's weights, and the optimizer's state."""
    from safetensors.torch import load_file

    weights = {}
    for file in sorted((out / "checkpoint" / "pipeline").rglob("*.safetensors")):
        weights |= {f"{file.parent.name}.{k}": v for k, v in load_file(str(file)).items()}
    opt = torch.load(out / "checkpoint" / "optimizer.pt", weights_only=True)
    moments = {
        f"{pid}.{k}": v
        for pid, st in opt["state"].items()
        for k, v in st.items()
        if torch.is_tensor(v)
    }
    return weights, moments


@pytest.mark.slow
def test_a_resumed_run_is_the_run_that_was_never_interrupted(tmp_path, fonts, monkeypatch):
    """Stopped mid stage 1 (its last checkpoint a step back, batches prefetched past it),
    resumed by new objects from the checkpoint alone: every weight and optimizer moment
    at the end of both stages is bit for bit the one of the straight run."""
    sets = ["checkpoint_every=2", "sample_every=100", "model.width=64"]
    Trainer(tiny_config(tmp_path / "straight", *sets), fonts=fonts, progress=False).run()
    cfg = tiny_config(tmp_path / "resumed", *sets)
    run_until_crash(Trainer(cfg, fonts=fonts, progress=False), monkeypatch, call=4)
    Trainer(cfg, fonts=fonts, progress=False).run()
    losses = [read_losses(tmp_path / run / "loss.jsonl") for run in ("straight", "resumed")]
    straight, resumed = ({r["step"]: r["loss"] for r in records} for records in losses)
    assert straight == resumed and len(straight) == 6
    (weights, moments), (weights2, moments2) = (
        _checkpoint(tmp_path / run) for run in ("straight", "resumed")
    )
    assert sorted(weights) == sorted(weights2) and len(moments) == len(moments2) > 0
    assert [k for k in weights if not torch.equal(weights[k], weights2[k])] == []
    assert [k for k in moments if not torch.equal(moments[k], moments2[k])] == []


@pytest.mark.slow
def test_a_checkpoint_without_random_states_resumes_with_a_warning(tmp_path, fonts, monkeypatch):
    """Checkpoints written before random states were saved still resume, and say that the
    run will not be the one that was never interrupted."""
    from glyphgen.model.train import RNG_FILE
    from glyphgen.resume import InexactResume

    cfg = tiny_config(tmp_path, "stages=[{steps: 3, batch_size: 1}]", "checkpoint_every=1")
    run_until_crash(Trainer(cfg, fonts=fonts, progress=False), monkeypatch, call=2)
    ckpt = tmp_path / "checkpoint"
    (ckpt / RNG_FILE).unlink()
    state = json.loads((ckpt / "state.json").read_text())
    del state["data_position"]
    (ckpt / "state.json").write_text(json.dumps(state))
    with pytest.warns(InexactResume, match="not the one that was never interrupted"):
        second = Trainer(cfg, fonts=fonts, progress=False)
    second.run()
    assert json.loads((ckpt / "state.json").read_text())["step"] == 3
