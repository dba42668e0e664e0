"""YAML configs become typed dataclasses; typos are rejected with the valid keys listed."""

import pytest
import yaml

from glyphgen.configio import ConfigError, parse_override
from glyphgen.synth.config import load_config, preset_names


def test_presets_load_and_flags_override_them():
    assert {"lines", "scenes-det", "scenes-diffusion"} <= set(preset_names())
    cfg = load_config(preset="lines", overrides=["line.height=32", "layout.angle=[-5, 5]"])
    assert cfg.line.height == 32
    assert cfg.layout.angle == (-5.0, 5.0)  # ints become floats, lists become tuples
    assert cfg.kind == "line"


def test_unknown_key_lists_the_valid_ones(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("line:\n  hieght: 32\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "hieght" in str(err.value) and "height" in str(err.value)


def test_wrong_types_and_modes_are_rejected():
    with pytest.raises(ConfigError, match="expected int"):
        load_config(overrides=["line.height=tall"])
    with pytest.raises(ConfigError, match="not one of"):
        load_config(overrides=["kind=poster"])
    with pytest.raises(ConfigError, match="unknown preset"):
        load_config(preset="nope")


def test_override_syntax():
    assert parse_override("a.b.c=1") == {"a": {"b": {"c": 1}}}
    assert parse_override("text.charset=[gb2312-l1, digits]") == {
        "text": {"charset": ["gb2312-l1", "digits"]}
    }
    with pytest.raises(ConfigError, match=r"section\.key=value"):
        parse_override("line.height")


# Every command's config, one precedence: defaults < files < --set < explicit flags.
# (loader, a key path, values for the file / --set / flag layers)
def _synth(path, overrides, flags):
    return load_config(path, None, overrides, flags).line.height


def _eval(path, overrides, flags):
    from glyphgen.eval.config import load_eval_config

    return load_eval_config(path, overrides, flags).chunk


def _train(path, overrides, flags):
    from glyphgen.model.config import load_train_config

    return load_train_config(path, overrides, flags).out


def _reader(path, overrides, flags):
    from glyphgen.reader.config import load_reader_config

    return load_reader_config(path, overrides, flags).steps


@pytest.mark.parametrize(
    ("load", "key", "values"),
    [
        (_synth, "line.height", (40, 44, 52)),
        (_eval, "chunk", (10, 20, 30)),
        (_train, "out", ("from-file", "from-set", "from-flag")),
        (_reader, "steps", (100, 200, 300)),
    ],
    ids=["synth", "eval", "train", "train-reader"],
)
def test_every_loader_orders_file_then_set_then_flags(tmp_path, load, key, values):
    file_value, set_value, flag_value = values
    section, _, name = key.rpartition(".")
    path = tmp_path / "cfg.yaml"
    nested = {name: file_value}
    path.write_text(yaml.safe_dump({section: nested} if section else nested), encoding="utf-8")
    flags = {section: {name: flag_value}} if section else {name: flag_value}
    overrides = [f"{key}={set_value}"]

    assert load(path, [], {}) == file_value
    assert load(path, overrides, {}) == set_value
    assert load(path, overrides, flags) == flag_value
    assert load(None, [], flags) == flag_value


def test_a_variant_extends_its_base_and_unknown_keys_are_still_refused(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("kind: scene\nseed: 1\ntext: {length: [2, 8], source: coverage}\n")
    variant = tmp_path / "variant.yaml"
    variant.write_text("extends: base.yaml\nseed: 2\ntext: {length: [3, 4]}\n")
    cfg = load_config(variant)
    assert (cfg.seed, cfg.text.length, cfg.text.source) == (2, (3, 4), "coverage")
    # the bundled variants are their bases plus what differs
    photo, heldout = load_config(preset="scenes-photo"), load_config(preset="scenes-photo-heldout")
    assert photo.scene == load_config(preset="scenes-diffusion").scene == heldout.scene
    assert heldout.background.image_dirs == ["photos/heldout"] != photo.background.image_dirs
    variant.write_text("extends: base.yaml\ntext: {lenght: [3, 4]}\n")
    with pytest.raises(ConfigError, match=r"lenght.*valid keys"):
        load_config(variant)
    variant.write_text("extends: missing.yaml\n")
    with pytest.raises(ConfigError, match=r"missing\.yaml.*extended by.*variant\.yaml.*does not"):
        load_config(variant)
    base.write_text("extends: variant.yaml\n")
    variant.write_text("extends: base.yaml\n")
    with pytest.raises(ConfigError, match="loop"):
        load_config(variant)
    variant.write_text("extends: [base.yaml]\n")
    with pytest.raises(ConfigError, match="extends must name one YAML file"):
        load_config(variant)
