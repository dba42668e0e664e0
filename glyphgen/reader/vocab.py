"""The recognizer's output alphabet: index 0 is the CTC blank, then one class per character.

Stored with the weights (``vocab.txt`` beside the safetensors file) so a checkpoint always
decodes with the characters it was trained on. Growing it appends classes at the end, so a
trained model keeps every existing row (see ``grow.grow_vocabulary``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from glyphgen.typeset import charsets

BLANK = 0


def default_characters() -> str:
    """All of GB2312 (hanzi and symbols), ASCII letters and digits, CJK punctuation."""
    ascii_printable = "".join(chr(c) for c in range(0x21, 0x7F))
    every = charsets.gb2312_all() + ascii_printable + charsets.CJK_PUNCT + charsets.DIGITS
    return charsets.unique(c for c in every if not c.isspace())


@dataclass(frozen=True)
class Vocabulary:
    chars: str  # class k + 1 is chars[k]; class 0 is the blank

    def __post_init__(self) -> None:
        if len(set(self.chars)) != len(self.chars):
            raise ValueError("vocabulary characters must be unique")
        if any(c.isspace() for c in self.chars):
            raise ValueError("vocabulary must not hold whitespace (spaces are not read)")

    @property
    def size(self) -> int:
        """Number of classes including the blank."""
        return len(self.chars) + 1

    @property
    def index(self) -> dict[str, int]:
        return _index(self.chars)

    def covers(self, text: str) -> bool:
        idx = self.index
        return all(c in idx for c in text if not c.isspace())

    def encode(self, text: str) -> list[int]:
        """Class ids of ``text`` (spaces dropped); unknown characters raise KeyError."""
        idx = self.index
        missing = sorted({c for c in text if not c.isspace() and c not in idx})
        if missing:
            raise KeyError(f"characters not in the vocabulary: {''.join(missing)}")
        return [idx[c] for c in text if not c.isspace()]

    def decode(self, ids: Sequence[int]) -> str:
        """Greedy CTC collapse: merge repeats, drop blanks."""
        out, prev = [], BLANK
        for i in ids:
            if i != prev and i != BLANK:
                out.append(self.chars[i - 1])
            prev = i
        return "".join(out)

    def extended(self, new_chars: Iterable[str]) -> Vocabulary:
        """This vocabulary with ``new_chars`` appended (existing ids unchanged)."""
        have = set(self.chars)
        extra = charsets.unique(c for c in new_chars if c not in have and not c.isspace())
        return Vocabulary(self.chars + extra)

    def save(self, path: Path) -> None:
        path.write_text("\n".join(self.chars) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Vocabulary:
        lines = path.read_text(encoding="utf-8").split("\n")
        return cls("".join(line for line in lines if line))


_INDEX_CACHE: dict[str, dict[str, int]] = {}


def _index(chars: str) -> dict[str, int]:
    idx = _INDEX_CACHE.get(chars)
    if idx is None:
        idx = {c: i + 1 for i, c in enumerate(chars)}
        _INDEX_CACHE[chars] = idx
    return idx
