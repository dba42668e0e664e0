"""Text metrics, as pure functions of (normalized target, normalized read text).

For one region with target ``t`` and read text ``r`` (both after ``normalize``), with
``d(t, r)`` the Levenshtein distance (insert, delete, substitute, each costing 1):

- exact:      ``t == r``. Sentence accuracy is the fraction of regions that are exact.
- NED:        ``1 - d(t, r) / max(len(t), len(r))``, and 1.0 when both are empty. This is
              AnyText's benchmark definition (its script adds 1e-5 to the denominator, so a
              perfect line scores 0.99999...; we do not).
- ratio:      ``Levenshtein.ratio(t, r)`` from python-Levenshtein:
              ``1 - indel(t, r) / (len(t) + len(r))`` where indel counts insertions and
              deletions only (a substitution costs 2); 1.0 when both are empty.
- matched:    the length of the longest common subsequence of ``t`` and ``r``: characters
              read correctly, in order. Unique (unlike the matches of an edit alignment).
- character precision = sum(matched) / sum(len(r)); character recall =
  sum(matched) / sum(len(t)), both summed over regions (micro average). With nothing read,
  precision is 1.0 if nothing was expected either, else 0.0; likewise recall with nothing
  expected.

Means over regions: sentence accuracy, NED and ratio are plain means of the per-region
values, so a set of perfect lines scores exactly 1.0.

The per-character error table walks one optimal edit alignment (``Levenshtein.opcodes``):
a substituted target character is "read as" the character aligned to it, a deleted one
is read as "" (missed), and read characters aligned to nothing are "spurious".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import Levenshtein


@dataclass(frozen=True)
class Score:
    target: str  # normalized target
    read: str  # normalized read text
    exact: bool
    distance: int  # Levenshtein distance
    ned: float
    ratio: float
    matched: int  # longest common subsequence length


def ned(target: str, read: str) -> float:
    """1 - edit distance / max length; 1.0 for two empty strings."""
    longest = max(len(target), len(read))
    if longest == 0:
        return 1.0
    return 1.0 - Levenshtein.distance(target, read) / longest


def lev_ratio(target: str, read: str) -> float:
    """``Levenshtein.ratio``: 1 - indel distance / total length; 1.0 for two empty strings."""
    return float(Levenshtein.ratio(target, read))


def matched_chars(target: str, read: str) -> int:
    """Longest common subsequence length, from the indel distance: indel = |t| + |r| - 2 LCS."""
    indel = Levenshtein.distance(target, read, weights=(1, 1, 2))
    return (len(target) + len(read) - indel) // 2


def score(target: str, read: str) -> Score:
    return Score(
        target=target,
        read=read,
        exact=target == read,
        distance=Levenshtein.distance(target, read),
        ned=ned(target, read),
        ratio=lev_ratio(target, read),
        matched=matched_chars(target, read),
    )


def alignment(target: str, read: str) -> list[tuple[str, str, str]]:
    """One optimal edit alignment as (op, target part, read part) runs.

    ``op`` is "equal", "replace" (same length on both sides), "delete" (read part empty)
    or "insert" (target part empty). Joining the target parts gives ``target`` back, and
    joining the read parts gives ``read``.
    """
    return [
        (op, target[i1:i2], read[j1:j2]) for op, i1, i2, j1, j2 in Levenshtein.opcodes(target, read)
    ]


def char_errors(target: str, read: str) -> list[tuple[str, str]]:
    """(target char, read as) for every aligned pair that differs; "" marks a missing side."""
    out: list[tuple[str, str]] = []
    for op, t, r in alignment(target, read):
        if op == "replace":
            out.extend(zip(t, r, strict=True))
        elif op == "delete":
            out.extend((ch, "") for ch in t)
        elif op == "insert":
            out.extend(("", ch) for ch in r)
    return out


@dataclass
class Aggregate:
    """Metrics over a set of regions; metric fields are None when the set is empty."""

    n: int = 0
    exact: int = 0
    sentence_acc: float | None = None
    ned: float | None = None
    ratio: float | None = None
    char_precision: float | None = None
    char_recall: float | None = None
    target_chars: int = 0
    read_chars: int = 0
    matched_chars: int = 0

    METRICS = ("sentence_acc", "ned", "ratio", "char_precision", "char_recall")


def aggregate(scores: Iterable[Score]) -> Aggregate:
    scores = list(scores)
    agg = Aggregate(n=len(scores))
    if not scores:
        return agg
    agg.exact = sum(s.exact for s in scores)
    agg.sentence_acc = agg.exact / agg.n
    agg.ned = sum(s.ned for s in scores) / agg.n
    agg.ratio = sum(s.ratio for s in scores) / agg.n
    agg.target_chars = sum(len(s.target) for s in scores)
    agg.read_chars = sum(len(s.read) for s in scores)
    agg.matched_chars = sum(s.matched for s in scores)
    agg.char_precision = _safe_div(agg.matched_chars, agg.read_chars, agg.target_chars)
    agg.char_recall = _safe_div(agg.matched_chars, agg.target_chars, agg.read_chars)
    return agg


def _safe_div(matched: int, denominator: int, other_side: int) -> float:
    if denominator:
        return matched / denominator
    return 1.0 if other_side == 0 else 0.0


@dataclass
class CharError:
    char: str  # target character
    count: int  # occurrences in targets
    wrong: int  # occurrences substituted or missed
    read_as: dict[str, int]  # what it was read as ("" = missed), most frequent first

    @property
    def error_rate(self) -> float:
        return self.wrong / self.count if self.count else 0.0


@dataclass
class CharErrorTable:
    """Which target characters are most often wrong, and what the judge read instead."""

    counts: Counter[str] = field(default_factory=Counter)
    wrong: Counter[str] = field(default_factory=Counter)
    read_as: dict[str, Counter[str]] = field(default_factory=dict)
    spurious: Counter[str] = field(default_factory=Counter)  # read characters aligned to nothing

    def add(self, s: Score) -> None:
        self.counts.update(s.target)
        for t, r in char_errors(s.target, s.read):
            if t:
                self.wrong[t] += 1
                self.read_as.setdefault(t, Counter())[r] += 1
            else:
                self.spurious[r] += 1

    def rows(self, top: int | None = None) -> list[CharError]:
        """Most often wrong first (ties: higher error rate, then the character)."""
        order = sorted(
            self.wrong, key=lambda c: (-self.wrong[c], -self.wrong[c] / self.counts[c], c)
        )
        return [
            CharError(
                char=c,
                count=self.counts[c],
                wrong=self.wrong[c],
                read_as=dict(self.read_as[c].most_common()),
            )
            for c in order[:top]
        ]
