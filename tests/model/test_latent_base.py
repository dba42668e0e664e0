"""The same ControlNet + adapter code attaches to a user's local latent diffusion base."""

import numpy as np
import pytest
import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from model_helpers import tiny_config

from glyphgen.model.build import build_pipeline
from glyphgen.model.pipeline import GlyphPipeline
from glyphgen.model.text_encoder import CharTextEncoder
from glyphgen.model.train import Trainer


def _tiny_base(folder, with_text_encoder=True):
    """A 2x-downsampling VAE with 4 latent channels, a 2-level UNet: a miniature SD folder."""
    torch.manual_seed(0)
    UNet2DConditionModel(
        sample_size=16,
        in_channels=4,
        out_channels=4,
        block_out_channels=(16, 32),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=24,
        attention_head_dim=8,
        norm_num_groups=8,
    ).save_pretrained(folder / "unet")
    AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        block_out_channels=(8, 16),
        latent_channels=4,
        norm_num_groups=8,
    ).save_pretrained(folder / "vae")
    if with_text_encoder:
        CharTextEncoder(dim=16, out_dim=24, layers=1, max_chars=12).save_pretrained(
            folder / "text_encoder"
        )
    return folder


def test_controlnet_and_adapter_attach_to_a_local_latent_base(tmp_path, fonts):
    base = _tiny_base(tmp_path / "base")
    cfg = tiny_config(
        tmp_path / "run",
        f"model.base={base}",
        "model.train_base=false",
        "model.height=32",
        "model.width=64",
        "stages=[{name: s, steps: 2, batch_size: 2, warmup: 1, data: {overrides: [scene.width=256, scene.height=128, 'scene.regions=[1,1]', 'layout.lines=[1,1]', layout.curve_prob=0, 'text.length=[2,3]']}}]",
    )
    pipe = build_pipeline(cfg.model)
    assert pipe.vae is not None and pipe.space_factor == 2
    # the condition is given at pixel size; ControlNet's embedding downsamples it once, like the VAE
    assert len(pipe.controlnet.config.conditioning_embedding_out_channels) == 2
    assert pipe.text_encoder.config.out_dim == 24  # the base folder's own CharTextEncoder
    base_unet = UNet2DConditionModel.from_pretrained(base / "unet")
    trainer = Trainer(cfg, fonts=fonts, progress=False)
    before = {k: v.clone() for k, v in trainer.pipe.controlnet.state_dict().items()}
    weights = trainer.run()
    # the base stays frozen; ControlNet learns
    for k, v in trainer.pipe.unet_state_dict().items():
        assert torch.equal(v, base_unet.state_dict()[k]), k
    after = trainer.pipe.controlnet.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)

    loaded = GlyphPipeline.from_pretrained(weights)
    assert isinstance(loaded.vae, AutoencoderKL)
    glyph = torch.zeros(1, 1, 32, 64)
    out = loaded(
        ["你好"], glyph, glyph, num_inference_steps=2, generator=torch.Generator().manual_seed(0)
    )
    assert out.images.shape == (1, 32, 64, 3) and out.images.dtype == np.uint8


def test_a_base_without_character_encoder_gets_a_new_one(tmp_path):
    base = _tiny_base(tmp_path / "base", with_text_encoder=False)
    cfg = tiny_config(tmp_path, f"model.base={base}", "model.height=32", "model.width=64")
    pipe = build_pipeline(cfg.model)
    assert pipe.text_encoder.config.out_dim == pipe.unet.config.cross_attention_dim == 24


def test_a_folder_that_is_not_a_base_is_refused(tmp_path):
    cfg = tiny_config(tmp_path, f"model.base={tmp_path}")
    with pytest.raises(FileNotFoundError, match=r"unet/config\.json"):
        build_pipeline(cfg.model)
