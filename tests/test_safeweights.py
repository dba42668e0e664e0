"""Weights load from safetensors only: a pickle file in a weights folder is refused by name,
before anything in the folder is read, so the code a pickle carries never runs."""

import json
import pickle

import pytest
import torch
from safetensors.torch import load_file

from glyphgen.cli import main
from glyphgen.model.build import build_pipeline
from glyphgen.model.config import load_train_config
from glyphgen.model.export import ExportError, export_weights
from glyphgen.model.pipeline import GlyphPipeline
from glyphgen.reader.weights import BUNDLED, load_model
from glyphgen.safeweights import PickleWeightsRefused, WeightsChanged


class _Payload:
    """Unpickling this creates ``marker``: the stand-in for code a weights file could run."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def booby_trapped(path, marker):
    """Write a pickle at ``path`` that creates ``marker`` when unpickled (checked to be armed)."""
    payload = pickle.dumps({"weight": _Payload(marker)})
    pickle.loads(payload)  # armed: unpickling does run it
    assert marker.exists()
    marker.unlink()
    path.write_bytes(payload)
    return path


@pytest.fixture(scope="module")
def pipeline_folder(tmp_path_factory):
    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("pipe")
    build_pipeline(load_train_config("tiny", [f"out={out}"]).model).save_pretrained(out / "p")
    return out / "p"


@pytest.fixture
def pipe_copy(pipeline_folder, tmp_path):
    import shutil

    return shutil.copytree(pipeline_folder, tmp_path / "weights")


def test_a_pickle_in_a_pipeline_component_is_refused_and_never_run(pipe_copy, tmp_path):
    unet = pipe_copy / "unet"
    (unet / "diffusion_pytorch_model.safetensors").unlink()
    marker = tmp_path / "ran"
    bait = booby_trapped(unet / "diffusion_pytorch_model.bin", marker)
    with pytest.raises(PickleWeightsRefused, match="only safetensors") as info:
        GlyphPipeline.from_pretrained(pipe_copy)
    assert info.value.files == [bait]
    message = str(info.value)
    assert message.startswith(f"{bait} is a pickle file")
    assert f"convert it to {unet / 'diffusion_pytorch_model.safetensors'}" in message
    assert not marker.exists()
    with pytest.raises(ValueError, match="only safetensors"):
        GlyphPipeline.from_pretrained(pipe_copy, use_safetensors=False)


def test_even_a_harmless_pickle_is_refused_not_loaded(pipe_copy):
    # diffusers alone would load it ("Defaulting to unsafe serialization")
    weights = pipe_copy / "style_adapter" / "diffusion_pytorch_model.safetensors"
    torch.save(load_file(str(weights)), weights.with_suffix(".bin"))
    weights.unlink()
    with pytest.raises(PickleWeightsRefused, match=r"style_adapter/diffusion_pytorch_model\.bin"):
        GlyphPipeline.from_pretrained(pipe_copy)
    # beside its safetensors copy too: one rule, the folder holds no pickle
    torch.save({}, pipe_copy / "unet" / "extra.pt")
    with pytest.raises(PickleWeightsRefused, match=r"and 1 more: .*unet/extra\.pt"):
        GlyphPipeline.from_pretrained(pipe_copy)


def test_a_component_without_safetensors_never_falls_back_to_pickle(pipe_copy, capfd):
    (pipe_copy / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(OSError, match=r"diffusion_pytorch_model\.safetensors"):
        GlyphPipeline.from_pretrained(pipe_copy)
    assert "unsafe serialization" not in capfd.readouterr().err


def test_export_and_render_say_it_in_one_line(pipe_copy, tmp_path, capsys):
    booby_trapped(pipe_copy / "controlnet" / "diffusion_pytorch_model.ckpt", tmp_path / "ran")
    with pytest.raises(ExportError, match=r"controlnet/diffusion_pytorch_model\.ckpt is a pickle"):
        export_weights(pipe_copy, tmp_path / "shipped")
    argv = [
        "render",
        "--weights",
        str(pipe_copy),
        "--text",
        "北京",
        "--out",
        str(tmp_path / "o.png"),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "diffusion_pytorch_model.ckpt is a pickle file" in err and "Traceback" not in err
    assert not (tmp_path / "ran").exists()


def test_a_latent_base_with_pickle_weights_is_refused(tmp_path):
    base = tmp_path / "base"
    for part in ("unet", "vae"):
        (base / part).mkdir(parents=True)
        (base / part / "config.json").write_text("{}")
    booby_trapped(base / "vae" / "diffusion_pytorch_model.bin", tmp_path / "ran")
    cfg = load_train_config("tiny", [f"out={tmp_path}", f"model.base={base}"])
    with pytest.raises(PickleWeightsRefused, match=r"vae/diffusion_pytorch_model\.bin"):
        build_pipeline(cfg.model)
    assert not (tmp_path / "ran").exists()


@pytest.fixture
def reader_folder(tmp_path):
    """The bundled reader's vocabulary and manifest, its weights replaced by a pickle."""
    folder = tmp_path / "reader"
    folder.mkdir()
    for name in ("vocab.txt", "manifest.json"):
        (folder / name).write_bytes((BUNDLED / name).read_bytes())
    return folder


def test_reader_weights_in_a_pickle_are_refused_and_never_run(reader_folder, tmp_path, capsys):
    marker = tmp_path / "ran"
    bait = booby_trapped(reader_folder / "model.bin", marker)
    with pytest.raises(
        PickleWeightsRefused, match=f"convert it to {reader_folder}/model.safetensors"
    ):
        load_model(reader_folder)
    with pytest.raises(PickleWeightsRefused, match=f"^{bait} is a pickle file"):
        load_model(bait)  # the file itself
    # as an eval judge: one line, exit 2
    labels = tmp_path / "labels.jsonl"
    labels.write_text(json.dumps({"image": "x.png", "text": "出口"}) + "\n", encoding="utf-8")
    argv = ["eval", "--quiet", "--annotations", str(labels), "--backend", "glyphgen"]
    assert main([*argv, "--backend-option", f"weights={reader_folder}"]) == 2
    assert "model.bin is a pickle file" in capsys.readouterr().err
    assert not marker.exists()


# -- files checked against the manifest's sha256 --------------------------------------------
def flip_a_bit(path, at=0.5):
    """Flip one bit in the tensor data of a safetensors file: its header stays valid."""
    data = bytearray(path.read_bytes())
    header = 8 + int.from_bytes(data[:8], "little")
    spot = header + int((len(data) - header) * at)
    data[spot] ^= 0x10
    path.write_bytes(bytes(data))


@pytest.fixture
def listed_copy(pipe_copy):
    """A pipeline folder whose manifest lists its files' sha256, as exports and runs write."""
    from glyphgen.model.export import file_table

    (pipe_copy / "manifest.json").write_text(json.dumps({"files": file_table(pipe_copy)}))
    GlyphPipeline.from_pretrained(pipe_copy)  # as written, it loads
    return pipe_copy


def test_glyph_weights_with_flipped_bits_are_refused_naming_the_file(listed_copy, tmp_path, capsys):
    weights = listed_copy / "unet" / "diffusion_pytorch_model.safetensors"
    flip_a_bit(weights)
    load_file(str(weights))  # still a valid safetensors file: only the hash tells
    with pytest.raises(WeightsChanged, match=f"^{weights} is not the file .*manifest.json lists"):
        GlyphPipeline.from_pretrained(listed_copy)
    argv = ["render", "--weights", str(listed_copy), "--text", "北京"]
    assert main([*argv, "--out", str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err
    assert "unet/diffusion_pytorch_model.safetensors is not the file" in err
    assert "Traceback" not in err and not (tmp_path / "o.png").exists()


def test_weights_the_manifest_does_not_list_are_refused(listed_copy):
    extra = listed_copy / "unet" / "extra.safetensors"
    extra.write_bytes((listed_copy / "unet" / "diffusion_pytorch_model.safetensors").read_bytes())
    with pytest.raises(WeightsChanged, match=f"^{extra} is not listed in"):
        GlyphPipeline.from_pretrained(listed_copy)
    extra.unlink()
    (listed_copy / "unet" / "config.json").unlink()
    with pytest.raises(WeightsChanged, match=r"unet/config\.json is listed in .* but missing"):
        GlyphPipeline.from_pretrained(listed_copy)


def test_reader_weights_with_flipped_bits_are_refused(tmp_path, capsys):
    import shutil

    folder = shutil.copytree(BUNDLED, tmp_path / "reader")
    flip_a_bit(folder / "model.safetensors", at=0.3)
    with pytest.raises(WeightsChanged, match=f"^{folder}/model.safetensors is not the file"):
        load_model(folder)


@pytest.mark.parametrize("where", ["unet/old", "unet/old/deeper", "backup"])
def test_a_pickle_anywhere_in_a_weights_folder_is_refused(pipe_copy, tmp_path, where):
    (pipe_copy / where).mkdir(parents=True)
    bait = booby_trapped(pipe_copy / where / "model.pth", tmp_path / "ran")
    with pytest.raises(PickleWeightsRefused) as info:
        GlyphPipeline.from_pretrained(pipe_copy)
    assert info.value.files == [bait]
    assert not (tmp_path / "ran").exists()


def test_a_pickle_in_a_subfolder_of_a_reader_folder_is_refused(reader_folder, tmp_path):
    (reader_folder / "old").mkdir()
    bait = booby_trapped(reader_folder / "old" / "model.pth", tmp_path / "ran")
    with pytest.raises(PickleWeightsRefused, match=f"^{bait} is a pickle file"):
        load_model(reader_folder)
