"""YAML configs become typed dataclasses; typos are rejected with the valid keys listed."""

import pytest

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
