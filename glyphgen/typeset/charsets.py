"""Character sets, derived from codecs and Unicode blocks, never typed by hand.

GB2312 rows 16-55 hold the 3,755 level-1 hanzi (sorted by pinyin), rows 56-87 the 3,008
level-2 hanzi (sorted by radical). Row r, cell c is encoded as bytes (0xA0 + r, 0xA0 + c).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from pathlib import Path

from glyphgen.paths import resolve_data_path

# Unicode blocks of CJK ideographs (Unicode 15.1). Extension A is what GBK/GB18030 add
# beyond the URO most often; B..I are supplementary-plane and need fonts that carry them.
CJK_BLOCKS: dict[str, tuple[int, int]] = {
    "cjk": (0x4E00, 0x9FFF),  # CJK Unified Ideographs (URO)
    "ext-a": (0x3400, 0x4DBF),
    "ext-b": (0x20000, 0x2A6DF),
    "ext-c": (0x2A700, 0x2B73F),
    "ext-d": (0x2B740, 0x2B81F),
    "ext-e": (0x2B820, 0x2CEAF),
    "ext-f": (0x2CEB0, 0x2EBEF),
    "ext-g": (0x30000, 0x3134F),
    "ext-h": (0x31350, 0x323AF),
    "ext-i": (0x2EBF0, 0x2EE5F),
}

DIGITS = "0123456789"
LATIN = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Common CJK (full-width) punctuation used inside Chinese text.
CJK_PUNCT = "，。、；：？！“”‘’（）《》〈〉【】「」『』—…·～"


def _decode_gb2312(row: int, cell: int) -> str | None:
    try:
        return bytes((0xA0 + row, 0xA0 + cell)).decode("gb2312")
    except UnicodeDecodeError:
        return None


@functools.cache
def _gb2312_rows(first: int, last: int) -> str:
    chars = (_decode_gb2312(r, c) for r in range(first, last + 1) for c in range(1, 95))
    return "".join(ch for ch in chars if ch is not None)


def gb2312_level1() -> str:
    """The 3,755 level-1 (common) hanzi of GB2312, in codec order."""
    return _gb2312_rows(16, 55)


def gb2312_level2() -> str:
    """The 3,008 level-2 hanzi of GB2312, in codec order."""
    return _gb2312_rows(56, 87)


def gb2312_hanzi() -> str:
    """All 6,763 GB2312 hanzi (level 1 then level 2)."""
    return gb2312_level1() + gb2312_level2()


def gb2312_all() -> str:
    """Every character of the GB2312 codec: symbols (rows 1-9) and all hanzi."""
    return _gb2312_rows(1, 9) + gb2312_hanzi()


@functools.cache
def gbk_hanzi() -> str:
    """Two-byte hanzi of GBK/GB18030 (GBK/3, GBK/4, GBK/5 ideographs), in Unicode order.

    Enumerated from the gbk codec; keeps code points that are CJK ideographs (URO or
    compatibility block), so symbols and user-defined areas are left out.
    """
    out = set()
    for lead in range(0x81, 0xFF):
        for trail in range(0x40, 0xFF):
            if trail == 0x7F:
                continue
            try:
                ch = bytes((lead, trail)).decode("gbk")
            except UnicodeDecodeError:
                continue
            cp = ord(ch)
            if 0x4E00 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF:
                out.add(ch)
    return "".join(sorted(out))


def unicode_block(name: str) -> str:
    """All assigned-or-not code points of a CJK block by name (see ``CJK_BLOCKS``)."""
    if name not in CJK_BLOCKS:
        raise ValueError(f"unknown Unicode block {name!r}; known: {sorted(CJK_BLOCKS)}")
    lo, hi = CJK_BLOCKS[name]
    return "".join(chr(cp) for cp in range(lo, hi + 1))


def load_charset_file(path: Path) -> str:
    """A user charset: UTF-8 text; every non-whitespace character counts once, order kept.

    Lines starting with ``#`` are comments, so a charset file can explain itself.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ValueError(f"charset file {path} does not exist") from exc
    except UnicodeDecodeError as exc:
        raise ValueError(f"charset file {path} is not UTF-8 text; re-save it as UTF-8") from exc
    body = "".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    chars = unique(ch for ch in body if not ch.isspace())
    if not chars:
        raise ValueError(f"charset file {path} holds no characters")
    return chars


def unique(chars: Iterable[str]) -> str:
    """Characters in first-seen order, each once."""
    return "".join(dict.fromkeys(chars))


# Named charsets for configs: ``charset: gb2312`` or ``charset: [gb2312-l1, digits]``.
_NAMED: dict[str, Callable[[], str]] = {
    "gb2312": gb2312_hanzi,
    "gb2312-l1": gb2312_level1,
    "gb2312-l2": gb2312_level2,
    "gb2312-all": gb2312_all,
    "gbk": gbk_hanzi,
    "digits": lambda: DIGITS,
    "latin": lambda: LATIN,
    "cjk-punct": lambda: CJK_PUNCT,
}


def charset_names() -> list[str]:
    return sorted([*_NAMED, *CJK_BLOCKS])


def resolve_charset(spec: str | list[str], base_dir: Path | None = None) -> str:
    """A charset from a name, a block name, a file path, or a list of those (union, ordered)."""
    if isinstance(spec, list):
        return unique("".join(resolve_charset(s, base_dir) for s in spec))
    if spec in _NAMED:
        return _NAMED[spec]()
    if spec in CJK_BLOCKS:
        return unicode_block(spec)
    path = resolve_data_path(spec, base_dir)
    if path.suffix or path.exists():
        return load_charset_file(path)
    raise ValueError(
        f"unknown charset {spec!r}: use one of {charset_names()} or a path to a UTF-8 file"
    )


def gb2312_level(ch: str) -> int:
    """1 or 2 for GB2312 hanzi, 0 for anything else."""
    if ch in _level_sets()[0]:
        return 1
    if ch in _level_sets()[1]:
        return 2
    return 0


@functools.cache
def _level_sets() -> tuple[frozenset[str], frozenset[str]]:
    return frozenset(gb2312_level1()), frozenset(gb2312_level2())
