"""Charsets come from codecs and blocks; text sources are deterministic and cover what they promise."""

from collections import Counter

import numpy as np
import pytest

from glyphgen.synth.text import MixConfig, TextConfig, TextSource
from glyphgen.typeset import charsets


def test_gb2312_levels_have_the_standard_sizes_and_no_overlap():
    l1, l2 = charsets.gb2312_level1(), charsets.gb2312_level2()
    assert (len(l1), len(l2)) == (3755, 3008)
    assert not set(l1) & set(l2)
    assert l1[0] == "啊" and l2[0] == "亍"  # first hanzi of each level in the standard
    assert len(charsets.gb2312_all()) == 7445
    assert charsets.gb2312_level("啊") == 1 and charsets.gb2312_level("亍") == 2
    assert charsets.gb2312_level("A") == 0


def test_gbk_hanzi_extend_gb2312():
    gbk = set(charsets.gbk_hanzi())
    assert set(charsets.gb2312_hanzi()) <= gbk
    assert 20_000 < len(gbk) < 21_100
    assert "䶮" not in gbk  # Ext A is a separate block, not GBK's two-byte hanzi


def test_unicode_blocks_and_unknown_names():
    assert len(charsets.unicode_block("ext-a")) == 0x4DBF - 0x3400 + 1
    with pytest.raises(ValueError, match="unknown charset"):
        charsets.resolve_charset("gb9999")


def test_user_charset_file_keeps_order_skips_comments(tmp_path):
    f = tmp_path / "mine.txt"
    f.write_text("# my shop's characters\n店 铺\n铺子\n", encoding="utf-8")
    assert charsets.resolve_charset(str(f)) == "店铺子"
    bad = tmp_path / "gbk.txt"
    bad.write_bytes("店铺".encode("gbk"))
    with pytest.raises(ValueError, match="not UTF-8"):
        charsets.resolve_charset(str(bad))


def test_coverage_source_covers_every_character_k_times():
    charset = charsets.gb2312_level2()[:500]
    cfg = TextConfig(source="coverage", charset="gb2312-l2", length=(3, 7), min_count=4)
    src = TextSource(cfg, seed=7, charset=charset, corpus=[])
    n = src.samples_for_coverage()
    assert n == -(-4 * 500 // 3)
    counts = Counter()
    for i in range(n):
        counts.update(src.sample(i, np.random.default_rng([7, i])))
    assert min(counts[c] for c in charset) >= 4
    # Sample i's text depends on i only, not on what was drawn before it.
    assert src.sample(123, np.random.default_rng([7, 123])) == TextSource(
        cfg, 7, charset, []
    ).sample(123, np.random.default_rng([7, 123]))


def test_random_texts_are_reproducible_and_mixes_splice_runs():
    cfg = TextConfig(length=(4, 4), mix=MixConfig(digits=1.0, latin=1.0, punct=1.0))
    src = TextSource(cfg, 0, charsets.gb2312_level1(), [])
    a = src.sample(5, np.random.default_rng([0, 5]))
    assert a == src.sample(5, np.random.default_rng([0, 5]))
    assert any(c.isdigit() for c in a) and any(c.isascii() and c.isalpha() for c in a)
    assert any(c in charsets.CJK_PUNCT for c in a)


def test_dashes_and_ellipses_are_spliced_in_pairs_as_chinese_writes_them():
    cfg = TextConfig(length=(4, 4), mix=MixConfig(digits=0.0, latin=0.0, punct=1.0))
    src = TextSource(cfg, 0, charsets.gb2312_level1(), [])
    texts = [src.sample(i, np.random.default_rng([0, i])) for i in range(400)]
    for mark in "—…":
        with_mark = [t for t in texts if mark in t]
        assert with_mark, mark
        assert all(mark * 2 in t and t.count(mark) == 2 for t in with_mark), with_mark


def test_corpus_lines_longer_than_the_limit_are_windowed():
    cfg = TextConfig(source="corpus", corpus=["x"], length=(2, 4))
    src = TextSource(cfg, 0, "", ["一二三四五六七八"])
    for i in range(20):
        text = src.sample(i, np.random.default_rng(i))
        assert len(text) == 4 and text in "一二三四五六七八"


def test_text_config_errors_name_the_fix():
    with pytest.raises(ValueError, match=r"text\.corpus"):
        TextConfig(source="corpus")
    with pytest.raises(ValueError, match=r"text\.length"):
        TextConfig(length=(5, 2))


def test_sequential_order_gives_slot_k_line_k_whole_and_wraps():
    lines = ["一二", "三四五", "六七八九十"]
    cfg = TextConfig(source="corpus", corpus=["x"], length=(2, 5), order="sequential")
    one = TextSource(cfg, 0, "", lines)
    got = [one.sample(i, np.random.default_rng([0, i])) for i in range(5)]
    assert got == ["一二", "三四五", "六七八九十", "一二", "三四五"]
    two = TextSource(cfg, 0, "", lines, slots=2)  # scenes: sample i, slot s reads line 2i + s
    assert two.sample(1, np.random.default_rng(1), slot=0) == "六七八九十"
    assert two.sample(1, np.random.default_rng(1), slot=1) == "一二"


def test_sequential_order_refuses_what_it_cannot_render_exactly():
    with pytest.raises(ValueError, match=r"text\.source=corpus"):
        TextConfig(source="random", order="sequential")
    cfg = TextConfig(source="corpus", corpus=["x"], length=(2, 4), order="sequential")
    with pytest.raises(ValueError, match=r"outside text\.length.*六七八九十"):
        TextSource(cfg, 0, "", ["一二", "六七八九十"])
