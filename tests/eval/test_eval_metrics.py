"""Every metric against values computed by hand (the arithmetic is in the comments)."""

import pytest

from glyphgen.eval.config import NormalizeConfig
from glyphgen.eval.metrics import (
    CharErrorTable,
    aggregate,
    char_errors,
    lev_ratio,
    matched_chars,
    ned,
    score,
)
from glyphgen.eval.normalize import normalize


@pytest.mark.parametrize(
    ("target", "read", "expected"),
    [
        ("北京大学", "北京大学", 1.0),  # d = 0
        ("北京大学", "北京大字", 0.75),  # one substitution: 1 - 1/4
        ("北京大学", "北京学", 0.75),  # one deletion: 1 - 1/max(4, 3)
        ("北京大学", "北京大大学", 0.8),  # one insertion: 1 - 1/max(4, 5)
        ("北京", "", 0.0),  # nothing read: 1 - 2/2
        ("", "北京", 0.0),  # nothing expected, two read: 1 - 2/2
        ("", "", 1.0),  # both empty: defined as a match
        ("欢迎光临", "迎欢光临", 0.5),  # a swap is two substitutions: 1 - 2/4
        ("abc", "xyz", 0.0),  # 1 - 3/3
    ],
)
def test_ned(target, read, expected):
    assert ned(target, read) == pytest.approx(expected, abs=1e-12)


def test_ned_of_a_perfect_line_is_exactly_one():
    # AnyText divides by max(...) + 1e-5; a perfect score must be exactly 1.0 here.
    assert ned("中华人民共和国", "中华人民共和国") == 1.0
    assert aggregate([score("北京", "北京")] * 3).ned == 1.0


@pytest.mark.parametrize(
    ("target", "read", "expected"),
    [
        # ratio = 1 - indel / (|t| + |r|); a substitution is one deletion plus one insertion
        ("北京大学", "北京大字", 1 - 2 / 8),  # 0.75
        ("北京大学", "北京学", 1 - 1 / 7),  # one deletion: 6/7
        ("北京大学", "北京大大学", 1 - 1 / 9),  # one insertion: 8/9
        ("欢迎光临", "迎欢光临", 1 - 2 / 8),  # LCS 3 (欢光临): indel = 4 + 4 - 2*3 = 2
        ("北京", "", 0.0),  # 1 - 2/2
        ("", "", 1.0),
    ],
)
def test_levenshtein_ratio(target, read, expected):
    assert lev_ratio(target, read) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("target", "read", "lcs"),
    [
        ("北京大学", "北京大字", 3),
        ("欢迎光临", "迎欢光临", 3),
        ("ab", "ba", 1),  # edit alignments disagree here (0 or 1 match); the LCS does not
        ("abc", "", 0),
        ("", "", 0),
        ("北京北京", "北京", 2),
    ],
)
def test_matched_chars_is_the_longest_common_subsequence(target, read, lcs):
    assert matched_chars(target, read) == lcs


def test_character_precision_and_recall_are_micro_averaged():
    # region 1: 北京大学 read as 北京大字:     matched 3, target 4, read 4
    # region 2: 欢迎光临 read as 欢迎光临光临: matched 4, target 4, read 6
    # region 3: 出口 read as nothing:          matched 0, target 2, read 0
    agg = aggregate(
        [score("北京大学", "北京大字"), score("欢迎光临", "欢迎光临光临"), score("出口", "")]
    )
    assert (agg.matched_chars, agg.target_chars, agg.read_chars) == (7, 10, 10)
    assert agg.char_precision == pytest.approx(7 / 10)
    assert agg.char_recall == pytest.approx(7 / 10)
    assert agg.n == 3 and agg.exact == 0 and agg.sentence_acc == 0.0
    # NED: 0.75, 1 - 2/6, 0.0  -> mean
    assert agg.ned == pytest.approx((0.75 + 4 / 6 + 0.0) / 3)


def test_precision_with_nothing_read():
    assert aggregate([score("出口", "")]).char_precision == 0.0  # something expected, nothing read
    assert aggregate([score("出口", "")]).char_recall == 0.0
    empty = aggregate([])
    assert empty.n == 0 and empty.sentence_acc is None and empty.ned is None


def test_sentence_accuracy_counts_exact_regions():
    scores = [
        score("北京", "北京"),
        score("上海", "上海"),
        score("广州", "广洲"),
        score("深圳", "深圳"),
    ]
    agg = aggregate(scores)
    assert agg.exact == 3
    assert agg.sentence_acc == 0.75


def test_char_errors_follow_one_alignment():
    assert char_errors("北京大学", "北京大字") == [("学", "字")]
    assert char_errors("北京大学", "北京学") == [("大", "")]  # deletion: read as nothing
    assert char_errors("北京大学", "北京大大学") == [("", "大")]  # insertion: spurious
    assert char_errors("北京", "北京") == []


def test_char_error_table_counts_and_orders():
    table = CharErrorTable()
    for t, r in [("北京大学", "北京大字"), ("大学", "大字"), ("学习", "习"), ("北京", "北京北")]:
        table.add(score(t, r))
    rows = table.rows()
    # 学 appears 3 times, wrong 3 times (字, 字, missed); nothing else is wrong
    assert [(e.char, e.count, e.wrong) for e in rows] == [("学", 3, 3)]
    assert rows[0].read_as == {"字": 2, "": 1}
    assert rows[0].error_rate == 1.0
    assert dict(table.spurious) == {"北": 1}


def test_full_width_forms_are_equal_after_normalization():
    cfg = NormalizeConfig()
    t, r = normalize("ＡＢＣ１２３，欢迎", cfg), normalize("ABC123,欢迎", cfg)
    assert t == r == "ABC123,欢迎"
    s = score(t, r)
    assert s.exact and s.ned == 1.0 and s.ratio == 1.0
    # without normalization the same pair differs in 7 of 9 characters: NED 1 - 7/9
    raw = score("ＡＢＣ１２３，欢迎", "ABC123,欢迎")
    assert raw.ned == pytest.approx(1 - 7 / 9)
