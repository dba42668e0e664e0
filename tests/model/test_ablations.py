"""The benchmark's ablation models: without the ControlNet branch (``model.controlnet:
false``, text conditioning only) and stage 1 alone (``<out>/weights-stage1``)."""

import hashlib
import json

import pytest
import torch
from model_helpers import run_until_crash, tiny_config

from glyphgen.benchmark import glyph as bm
from glyphgen.cli import main
from glyphgen.model.build import build_pipeline
from glyphgen.model.pipeline import GlyphPipeline
from glyphgen.model.train import Trainer


@pytest.fixture(scope="module")
def noctrl(tmp_path_factory):
    """The weights folder of ``glyphgen train --config tiny --set model.controlnet=false``."""
    out = tmp_path_factory.mktemp("tiny-noctrl")
    args = ["train", "--config", "tiny", "--out", str(out), "--quiet"]
    assert main([*args, "--set", "model.controlnet=false"]) == 0
    return out / "weights"


def _load(weights) -> GlyphPipeline:
    pipe = GlyphPipeline.from_pretrained(weights)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _glyphs() -> tuple[torch.Tensor, torch.Tensor]:
    """An empty glyph image and one with ink in the middle: (1, 1, 32, 128) each."""
    empty = torch.zeros(1, 1, 32, 128)
    inked = empty.clone()
    inked[..., 8:24, 16:112] = 1
    return empty, inked


def _generate(pipe: GlyphPipeline, glyph: torch.Tensor, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return pipe(["你好"], glyph, glyph, generator=generator, output_type="pt")


def _sha256(folder, part: str) -> str:
    return hashlib.sha256(
        (folder / part / "diffusion_pytorch_model.safetensors").read_bytes()
    ).hexdigest()


# -- without the ControlNet branch ------------------------------------------------------
@pytest.mark.slow
def test_a_model_without_controlnet_saves_no_controlnet_and_loads_as_such(noctrl):
    assert not (noctrl / "controlnet").exists()
    for part in ("unet", "text_encoder", "style_adapter"):
        assert (noctrl / part / "diffusion_pytorch_model.safetensors").is_file()
    assert json.loads((noctrl / "model_index.json").read_text())["controlnet"] == [None, None]
    manifest = json.loads((noctrl / "manifest.json").read_text())
    assert manifest["controlnet"] is False and manifest["steps"] == 6
    assert _load(noctrl).controlnet is None


@pytest.mark.slow
def test_without_controlnet_the_glyph_image_reaches_nothing(noctrl, tmp_path):
    empty, inked = _glyphs()
    alone = _load(noctrl)
    assert torch.equal(_generate(alone, empty), _generate(alone, inked))
    # the same check would fail with a ControlNet whose output convolutions carry weights
    torch.manual_seed(0)
    with_cn = build_pipeline(tiny_config(tmp_path).model)
    with_cn.set_progress_bar_config(disable=True)
    cn = with_cn.controlnet  # its zero-initialised convolutions, as training leaves them
    for conv in [
        *cn.controlnet_down_blocks,
        cn.controlnet_mid_block,
        cn.controlnet_cond_embedding.conv_out,
    ]:
        torch.nn.init.normal_(conv.weight, std=0.1)
    assert not torch.equal(_generate(with_cn, empty), _generate(with_cn, inked))


@pytest.mark.slow
def test_with_and_without_controlnet_draw_differently_from_one_seed(trained, noctrl):
    _, inked = _glyphs()
    assert _load(trained).controlnet is not None
    a, b = _generate(_load(trained), inked, seed=3), _generate(_load(noctrl), inked, seed=3)
    assert (a - b).abs().max() > 0.01


@pytest.mark.slow
def test_control_scale_without_a_controlnet_is_refused(noctrl):
    pipe = _load(noctrl)
    _, inked = _glyphs()
    with pytest.raises(ValueError, match=r"model\.controlnet: false"):
        pipe(["你好"], inked, inked, control_scale=0.5)


@pytest.mark.slow
def test_a_checkpoint_from_before_the_switch_resumes_and_a_switched_one_does_not(tmp_path, fonts):
    cfg = tiny_config(tmp_path, "stages=[{steps: 1, batch_size: 1}]")
    Trainer(cfg, fonts=fonts, progress=False).run()
    state_file = tmp_path / "checkpoint" / "state.json"
    state = json.loads(state_file.read_text())
    del state["model"]["controlnet"]  # as a run started before model.controlnet existed
    state_file.write_text(json.dumps(state))
    assert Trainer(cfg, fonts=fonts, progress=False).state["step"] == 1
    off = tiny_config(tmp_path, "stages=[{steps: 1, batch_size: 1}]", "model.controlnet=false")
    with pytest.raises(ValueError, match=r"differs in \['controlnet'\]"):
        Trainer(off, fonts=fonts, progress=False)


# -- stage 1 alone ---------------------------------------------------------------------
def test_each_stage_is_exported_as_it_ended(trained):
    out = trained.parent
    stage1, stage2 = out / "weights-stage1", out / "weights-stage2"
    m1 = json.loads((stage1 / "manifest.json").read_text())
    m2 = json.loads((stage2 / "manifest.json").read_text())
    final = json.loads((trained / "manifest.json").read_text())
    assert (m1["steps"], m1["stage"], m1["stages"]) == (4, "stage1", ["stage1"])
    assert (m2["steps"], m2["stages"]) == (6, ["stage1", "stage2"])
    assert final["stages"] == ["stage1", "stage2"] and final["controlnet"] is True
    assert m2["files"] == final["files"]  # the last stage's export is the shipped pipeline
    assert _sha256(stage1, "unet") != _sha256(trained, "unet")  # stage 2 trained on
    assert _load(stage1).controlnet is not None


@pytest.mark.slow
def test_a_run_resumed_after_stage_one_keeps_its_export(tmp_path, fonts, monkeypatch):
    cfg = tiny_config(tmp_path, "checkpoint_every=100", "sample_every=100")
    # stage 1 is 4 steps: interrupted at stage 2's second step, before any checkpoint of it
    run_until_crash(Trainer(cfg, fonts=fonts, progress=False), monkeypatch, call=6)
    stage1 = tmp_path / "weights-stage1"

    def tensors():
        files = json.loads((stage1 / "manifest.json").read_text())["files"]
        return {k: v for k, v in files.items() if k.endswith(".safetensors")}

    exported = tensors()
    assert len(exported) == 4 and not (tmp_path / "weights").exists()
    weights = Trainer(cfg, fonts=fonts, progress=False).run()
    # re-exported from the checkpoint at the end of stage 1: the same weights
    assert tensors() == exported
    assert json.loads((weights / "manifest.json").read_text())["steps"] == 6


# -- render and the benchmark take both ---------------------------------------------------
@pytest.mark.slow
def test_render_draws_with_either_ablation(trained, noctrl, tmp_path):
    for name, weights in (("noctrl", noctrl), ("stage1", trained.parent / "weights-stage1")):
        png = tmp_path / f"{name}.png"
        args = ["render", "--text", "书山有路", "--weights", str(weights), "--out", str(png)]
        assert main(args) == 0
        assert json.loads(png.with_suffix(".json").read_text())["texts"][0]["text"] == "书山有路"


@pytest.mark.slow
def test_the_benchmark_takes_both_ablation_rows(trained, noctrl, tmp_path):
    torch.set_num_threads(1)
    models = [
        bm.parse_model(f"stage1={trained.parent / 'weights-stage1'}"),
        bm.parse_model(f"no-controlnet={noctrl}"),
    ]
    results = bm.run_benchmark(models, tmp_path / "work", limit=2, threads=1, log=print)
    _, stage1, alone = results["rows"]
    assert (stage1["name"], stage1["controlnet"]) == ("stage1", True)
    assert (alone["name"], alone["controlnet"]) == ("no-controlnet", False)
    for row in (stage1, alone):
        assert row["latency"]["regions"] == 2
        assert row["summary"]["n"] + row["uncovered"]["n"] == 2
