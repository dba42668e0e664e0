"""The glyph benchmark's fixed set of text lines, built deterministically from the corpora.

Three kinds of items, in one seeded shuffle (``build_items``):

1. every signboard / poster phrase of the corpora (2-12 characters), as it is;
2. two phrases joined into one longer line (5-12 characters), as posters often read;
3. lines sampled to cover GB2312 level-2 hanzi: distinct level-2 characters, taken in order
   from a seeded permutation of all 3,008, set among level-1 characters (one level-2
   character in lines of up to 6, two in longer ones), lengths uniform in 2-12.

A smaller validation set (``build_validation_items``: lines of real words, and level-2
lines, with their own seed) is where settings are chosen; the benchmark set only measures.

Every third item of the shuffle is vertical. Each item carries the groups the benchmark
reports: ``source`` (phrase / level2), ``level`` (l2 when any character is level 2),
``direction`` and ``length`` (short <= 4 characters < long).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from glyphgen.typeset import charsets

SET_SEED = 6  # the set's own seed (issue 6); not a factory seed
MIN_LEN, MAX_LEN = 2, 12
SHORT_MAX = 4  # "short": at most this many characters
JOINED = 60  # lines of two phrases joined
LEVEL2_LINES = 150  # lines sampled to cover level-2 hanzi
VERTICAL_EVERY = 3  # every third item is a column
VALIDATION_SEED = 7  # the validation set's own seed
VALIDATION_PHRASES = 150  # word lines in the validation set
VALIDATION_LEVEL2 = 60  # level-2 lines in the validation set
VALIDATION_MAX_LEN = 8  # word lines are cut to MIN_LEN..this many characters (sign lengths)


def phrases(*corpora: list[str]) -> list[str]:
    """Unique corpus lines (first occurrence order) of an allowed length."""
    seen = dict.fromkeys(line for corpus in corpora for line in corpus)
    return [p for p in seen if MIN_LEN <= len(p) <= MAX_LEN]


def joined_phrases(pool: list[str], n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct lines of two different phrases, 5-12 characters, none already in pool."""
    taken = set(pool)
    out: list[str] = []
    while len(out) < n:
        a, b = (pool[int(i)] for i in rng.choice(len(pool), size=2, replace=False))
        line = a + b
        if 5 <= len(line) <= MAX_LEN and line not in taken:
            taken.add(line)
            out.append(line)
    return out


def level2_lines(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` lines, each holding distinct level-2 hanzi not used by another line."""
    level1 = np.array(list(charsets.gb2312_level1()))
    level2 = np.array(list(charsets.gb2312_level2()))
    order2 = rng.permutation(len(level2))
    next2 = 0
    out: list[str] = []
    for _ in range(n):
        length = int(rng.integers(MIN_LEN, MAX_LEN + 1))
        k = 1 if length <= 6 else 2
        chars = list(rng.choice(level1, size=length))
        for pos in rng.choice(length, size=k, replace=False):
            chars[int(pos)] = str(level2[order2[next2]])
            next2 += 1
        out.append("".join(str(c) for c in chars))
    return out


def item_groups(text: str, source: str, vertical: bool) -> dict[str, str]:
    return {
        "source": source,
        "level": "l2" if any(charsets.gb2312_level(c) == 2 for c in text) else "l1",
        "direction": "vertical" if vertical else "horizontal",
        "length": "short" if len(text) <= SHORT_MAX else "long",
    }


def build_items(
    phrase_corpora: list[list[str]],
    seed: int = SET_SEED,
    joined: int = JOINED,
    level2: int = LEVEL2_LINES,
) -> list[dict[str, Any]]:
    """The benchmark items: ``{"id", "text", "source", "level", "direction", "length"}``."""
    rng = np.random.default_rng([seed, 0xBE7C])
    pool = phrases(*phrase_corpora)
    drawn = [(p, "phrase") for p in pool]
    drawn += [(p, "phrase") for p in joined_phrases(pool, joined, rng)]
    drawn += [(t, "level2") for t in level2_lines(level2, rng)]
    items = []
    for k, i in enumerate(rng.permutation(len(drawn))):
        text, source = drawn[int(i)]
        vertical = k % VERTICAL_EVERY == VERTICAL_EVERY - 1
        items.append({"id": k, "text": text, **item_groups(text, source, vertical)})
    return items


def build_validation_items(
    words: list[str],
    exclude: set[str],
    seed: int = VALIDATION_SEED,
    n: int = VALIDATION_PHRASES,
) -> list[dict[str, Any]]:
    """The validation set (for choosing settings such as the sampling strength, so the
    benchmark set is only ever measured): ``n`` lines of real words, each cut to
    MIN_LEN..VALIDATION_MAX_LEN characters, and VALIDATION_LEVEL2 level-2 lines, drawn with their
    own seed; an item whose text is in ``exclude`` (the benchmark's lines) is dropped and
    the rest renumbered, so no validation line is a benchmark line."""
    rng = np.random.default_rng([seed, 0x7A11])
    pool = phrases(words)
    picked = rng.choice(len(pool), size=n, replace=False)
    chosen = [
        pool[int(i)][: int(rng.integers(MIN_LEN, VALIDATION_MAX_LEN + 1))] for i in sorted(picked)
    ]
    items = build_items([chosen], seed, joined=0, level2=VALIDATION_LEVEL2)
    kept = [it for it in items if it["text"] not in exclude]
    return [{**it, "id": k} for k, it in enumerate(kept)]


def dumps_items(items: list[dict[str, Any]]) -> str:
    """The set file's text: one JSON object per line."""
    return "".join(json.dumps(it, ensure_ascii=False) + "\n" for it in items)


def dumps_texts(items: list[dict[str, Any]]) -> str:
    """The factory's corpus (``text.order: sequential``): item i's text on line i."""
    return "".join(it["text"] + "\n" for it in items)


def load_items(path: Path) -> list[dict[str, Any]]:
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    for k, it in enumerate(items):
        if it.get("id") != k:
            raise ValueError(f"{path}: line {k + 1} has id {it.get('id')!r}, expected {k}")
    return items


def set_digest(items: list[dict[str, Any]]) -> str:
    """sha256 of the set file's text: names the exact set in results."""
    return hashlib.sha256(dumps_items(items).encode("utf-8")).hexdigest()
