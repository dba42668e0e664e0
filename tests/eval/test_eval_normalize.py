"""Normalization: documented folds happen, and no CJK character is ever dropped."""

import pytest

from glyphgen.configio import ConfigError
from glyphgen.eval.config import NormalizeConfig, load_eval_config
from glyphgen.eval.normalize import is_hanzi, normalize
from glyphgen.typeset.charsets import gb2312_hanzi


def test_defaults_fold_width_and_remove_whitespace():
    assert normalize("  北京 大学\t") == "北京大学"
    assert normalize("ＧＢ２３１２　标准") == "GB2312标准"  # full-width letters, digits, U+3000
    assert normalize("\uf900") == "\u8c48"  # compatibility ideograph U+F900 -> unified 豈
    assert normalize("⼤") == "大"  # Kangxi radical U+2F24 -> unified ideograph
    assert normalize("你好，世界！") == "你好,世界!"
    assert normalize("。、《》「」") == "。、《》「」"  # no compatibility mapping: kept


def test_options():
    assert normalize("Hello  World", NormalizeConfig(whitespace="collapse")) == "Hello World"
    assert normalize("a b", NormalizeConfig(whitespace="keep")) == "a b"
    assert normalize("GlyphGen", NormalizeConfig(casefold=True)) == "glyphgen"
    assert normalize("你好，世界！", NormalizeConfig(punctuation="remove")) == "你好世界"
    # width folding alone (NFKC off) still maps full-width ASCII
    assert normalize("ＡＢＣ", NormalizeConfig(nfkc=False)) == "ABC"
    assert normalize("ＡＢＣ", NormalizeConfig(nfkc=False, width=False)) == "ＡＢＣ"


def test_no_option_drops_a_hanzi(judge):
    hanzi = gb2312_hanzi() + "".join(c for c in judge.charset() if is_hanzi(c))
    for cfg in [
        NormalizeConfig(),
        NormalizeConfig(punctuation="remove", casefold=True, whitespace="collapse"),
        NormalizeConfig(nfkc=False, width=False, whitespace="keep"),
    ]:
        out = normalize(hanzi, cfg)
        assert len(out) == len(hanzi)
        assert all(is_hanzi(c) for c in out)
    assert normalize(gb2312_hanzi()) == gb2312_hanzi()  # GB2312 hanzi are untouched


def test_bad_modes_are_rejected_with_the_valid_ones():
    with pytest.raises(ConfigError, match="not one of"):
        load_eval_config(overrides=["normalize.whitespace=squash"])
    with pytest.raises(ConfigError, match="valid keys"):
        load_eval_config(overrides=["normalize.nfc=true"])
