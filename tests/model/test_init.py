"""``init``: a new run starts from trained (exported, fp16) weights and records the legs."""

import dataclasses
import json
import logging

import pytest
import torch
from model_helpers import tiny_config
from safetensors.torch import load_file

from glyphgen.model.export import export_weights
from glyphgen.model.pipeline import GlyphPipeline
from glyphgen.model.train import InitRefused, Trainer, previous_legs

COMPONENTS = ("unet", "controlnet", "text_encoder", "style_adapter")


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    """The tiny model of ``trained`` (6 steps) exported in fp16, as weights/glyph-default is."""
    return export_weights(trained, tmp_path_factory.mktemp("export") / "glyph-tiny")


def one_stage(out, *overrides):
    return tiny_config(out, "stages=[{name: leg2, steps: 2, batch_size: 2, warmup: 1}]", *overrides)


def test_a_new_run_starts_from_the_exported_weights_and_counts_on_from_their_steps(
    exported, tmp_path
):
    trainer = Trainer(one_stage(tmp_path / "leg2", f"init={exported}"), progress=False)
    for name in COMPONENTS:
        file = exported / name / "diffusion_pytorch_model.safetensors"
        saved = load_file(str(file))
        assert {t.dtype for t in saved.values()} == {torch.float16}
        weights = getattr(trainer.pipe, name).state_dict()
        for key, value in saved.items():
            # the fp32 training model holds the fp16 values exactly (upcasting is exact)
            assert weights[key].dtype == torch.float32
            assert torch.equal(weights[key], value.float()), f"{name}.{key}"
    assert trainer.state["step"] == 6

    weights = trainer.run()
    manifest = json.loads((weights / "manifest.json").read_text())
    assert manifest["steps"] == 8
    export_manifest = json.loads((exported / "manifest.json").read_text())
    assert manifest["init"] == {
        "folder": str(exported),
        "steps": 6,
        "files": {k: v["sha256"] for k, v in export_manifest["files"].items()},
    }
    legs = manifest["legs"]
    assert [(leg["start_step"], leg["end_step"]) for leg in legs] == [(0, 6), (6, 8)]
    assert legs[0]["stages"] == ["stage1", "stage2"] and legs[0]["init"] is None
    assert legs[1]["stages"] == ["leg2"] and legs[1]["seconds"] > 0
    assert legs[1]["init"]["folder"] == str(exported)
    # the next leg from these weights lists all three
    leg3 = Trainer(one_stage(tmp_path / "leg3", f"init={weights}"), progress=False).run()
    legs3 = json.loads((leg3 / "manifest.json").read_text())["legs"]
    assert [(leg["start_step"], leg["end_step"]) for leg in legs3] == [(0, 6), (6, 8), (8, 10)]


def test_weights_of_another_model_config_are_refused_by_name(exported, tmp_path):
    cfg = one_stage(tmp_path / "run", f"init={exported}", "model.text_layers=2")
    with pytest.raises(InitRefused, match=r"text_layers: 1 there, 2 here"):
        Trainer(cfg, progress=False)


def test_a_leg_may_teach_box_mask_weights_to_keep_what_is_known(exported, tmp_path):
    """keep_known changes what is taught and how it samples, not the weights' shapes."""
    trainer = Trainer(
        one_stage(tmp_path / "run", f"init={exported}", "model.keep_known=true"), progress=False
    )
    assert trainer.cfg.model.keep_known and trainer.state["step"] == 6


def test_a_folder_that_is_not_a_trained_pipeline_is_refused(tmp_path):
    with pytest.raises(InitRefused, match="not a trained pipeline folder"):
        Trainer(one_stage(tmp_path / "run", f"init={tmp_path}"), progress=False)


def test_weights_changed_since_their_manifest_are_refused(exported, tmp_path):
    copy = tmp_path / "copy"
    GlyphPipeline.from_pretrained(exported).save_pretrained(copy)  # fp32: other bytes
    (copy / "manifest.json").write_text((exported / "manifest.json").read_text())
    with pytest.raises(InitRefused, match="files differ from its manifest"):
        Trainer(one_stage(tmp_path / "run", f"init={copy}"), progress=False)


def test_a_run_with_a_checkpoint_resumes_from_it_and_ignores_init(exported, tmp_path, caplog):
    out = tmp_path / "run"
    Trainer(one_stage(out), progress=False).run()  # from random weights: 2 steps
    caplog.set_level(logging.WARNING, logger="glyphgen.model.train")
    trainer = Trainer(one_stage(out, f"init={exported}"), progress=False)
    assert trainer.state["step"] == 2 and "init" not in trainer.state
    assert "init=" in caplog.text and "ignored" in caplog.text
    saved = load_file(str(out / "checkpoint/pipeline/unet/diffusion_pytorch_model.safetensors"))
    unet = trainer.pipe.unet.state_dict()
    assert all(torch.equal(unet[k], v) for k, v in saved.items())


def test_weights_from_before_legs_were_recorded_count_as_one_leg_from_step_0():
    manifest = {"steps": 1250, "stages": ["stage1", "stage2"], "command": "glyphgen train"}
    assert previous_legs(manifest) == [
        {
            "start_step": 0,
            "end_step": 1250,
            "stages": ["stage1", "stage2"],
            "seconds": None,
            "command": "glyphgen train",
            "init": None,
        }
    ]


def test_the_campaign_leg_continues_the_shipped_model_on_half_photo_backgrounds():
    from glyphgen.model.config import load_train_config
    from glyphgen.model.train import init_manifest
    from glyphgen.paths import resolve_data_path
    from glyphgen.synth.config import load_config

    leg, cpu = load_train_config("cpu-campaign"), load_train_config("cpu")
    assert leg.model.condition_in_unet and leg.mixed_precision == "no"
    assert dataclasses.replace(leg.model, condition_in_unet=False) == cpu.model
    manifest = init_manifest(resolve_data_path(leg.init), leg.model)  # accepted as it is
    assert manifest["steps"] >= 2450
    (stage,) = leg.stages
    # scenes no leg saw: neither the cpu stages' seeds nor any recorded leg's
    seen = {s["data"]["seed"] for s in manifest["config"]["stages"]}
    assert stage.data.seed not in seen | {s.data.seed for s in cpu.stages}
    data = load_config(preset=stage.data.preset, overrides=stage.data.overrides)
    kinds = data.background.kinds
    assert kinds["image"] / sum(kinds.values()) == 0.5
    assert data.background.image_dirs == ["out/photos/train"]  # the train split only
    # every style and effect of stage 1 stays on
    stage1 = load_config(preset=stage.data.preset, overrides=cpu.stages[0].data.overrides)
    assert (data.style, data.effects, data.layout) == (stage1.style, stage1.effects, stage1.layout)


def test_fp16_that_would_silently_train_in_fp32_on_cpu_is_refused(tmp_path):
    with pytest.raises(ValueError, match="mixed_precision=fp16 would train in fp32 on cpu"):
        Trainer(tiny_config(tmp_path, "mixed_precision=fp16"), progress=False)
