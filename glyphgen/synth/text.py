"""Where sample texts come from: corpus lines, random strings, coverage streams, and mixes.

A ``TextSource`` is a pure function of (config, seed, sample index, per-sample rng): the
same sample index always gets the same text, whichever worker renders it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from glyphgen import limits
from glyphgen.paths import resolve_data_path
from glyphgen.typeset import charsets

# A single em dash between hanzi looks just like 一; Chinese text writes them doubled.
PAIRED_MARKS = frozenset("—…")
DIGIT_RUN = (1, 4)  # text.mix.digits splices a run of 1-4 digits
LATIN_RUN = (2, 5)  # text.mix.latin a run of 2-5 letters
MIX_MAX_EXTRA = DIGIT_RUN[1] + LATIN_RUN[1] + 2  # the most a mix adds (and a doubled mark)


@dataclass
class MixConfig:
    """Probabilities of splicing non-hanzi runs into a text (each applied independently)."""

    digits: float = 0.0  # a run of 1-4 digits, e.g. prices, phone fragments
    latin: float = 0.0  # a run of 2-5 Latin letters, e.g. brand names
    punct: float = 0.0  # one CJK punctuation mark inside or at the end


@dataclass
class TextConfig:
    # "random": uniform over the charset; "corpus": lines from files; "coverage": every charset
    # character appears at least ``min_count`` times over the run; "mixed": corpus or random,
    # half and half.
    source: Literal["random", "corpus", "coverage", "mixed"] = "random"
    charset: str | list[str] = "gb2312"  # names (see charsets.charset_names()) or file paths
    corpus: list[str] = field(default_factory=list)  # UTF-8 files, one text per line
    length: tuple[int, int] = (2, 12)  # inclusive range of characters per text line
    min_count: int = 1  # coverage mode: minimum occurrences of every charset character
    # corpus: "random" draws a line per text; "sequential" gives text slot k (sample i, slot
    # s: k = i * slots + s) line k of the corpus, whole, wrapping around at the end: a fixed
    # set of lines (an evaluation set) rendered exactly, one per sample.
    order: Literal["random", "sequential"] = "random"
    mix: MixConfig = field(default_factory=MixConfig)

    def __post_init__(self) -> None:
        lo, hi = self.length
        if not 1 <= lo <= hi:
            raise ValueError(f"text.length must be 1 <= min <= max, got {self.length}")
        limits.at_most("text.length", hi, limits.MAX_TEXT_LENGTH, "split longer texts into lines")
        if self.source in ("corpus", "mixed") and not self.corpus:
            raise ValueError(f"text.source={self.source!r} needs text.corpus: a list of files")
        if self.min_count < 1:
            raise ValueError("text.min_count must be at least 1")
        limits.at_most("text.min_count", self.min_count, limits.MAX_COVERAGE_COUNT)
        if self.order not in ("random", "sequential"):
            raise ValueError(f"unknown text.order {self.order!r}; use random or sequential")
        if self.order == "sequential" and self.source != "corpus":
            raise ValueError(f"text.order=sequential needs text.source=corpus, got {self.source!r}")


def load_corpus(paths: list[str], base_dir: Path | None = None) -> list[str]:
    """Non-empty stripped lines of every corpus file, in file order."""
    lines: list[str] = []
    for name in paths:
        path = resolve_data_path(name, base_dir)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise ValueError(f"corpus file {name} does not exist (looked at {path})") from exc
        except UnicodeDecodeError as exc:
            raise ValueError(f"corpus file {path} is not UTF-8; re-save it as UTF-8") from exc
        lines.extend(s for s in (raw.strip() for raw in text.splitlines()) if s)
    if not lines:
        raise ValueError(f"corpus files {paths} hold no non-empty lines")
    return lines


class TextSource:
    """Draws the text of sample ``index``; all randomness comes from the caller's rng."""

    def __init__(self, cfg: TextConfig, seed: int, charset: str, corpus: list[str], slots: int = 1):
        if not charset and cfg.source in ("random", "coverage", "mixed"):
            raise ValueError("the charset is empty after removing characters no font covers")
        self.cfg = cfg
        self.seed = seed
        self.charset = charset
        self.corpus = corpus
        self.slots = slots  # texts per sample (scenes: regions x lines), each its own stream slot
        self._chars = np.array(list(charset)) if charset else np.array([], dtype="<U1")
        if cfg.order == "sequential":
            lo, hi = cfg.length
            bad = [line for line in corpus if not lo <= len(line) <= hi]
            if bad:  # sequential lines are drawn whole: no window may cut them
                raise ValueError(
                    f"text.order=sequential: {len(bad)} corpus line(s) are outside "
                    f"text.length {list(cfg.length)}, e.g. {bad[0]!r}; widen text.length"
                )

    # -- coverage ------------------------------------------------------------------------
    # The stream is an endless concatenation of permutations of the charset (permutation e
    # seeded by (seed, e)). Sample i reads positions [i*m, i*m + len_i) with m = min length
    # and len_i >= m, so consecutive samples tile the stream: N samples cover every
    # character at least floor(N*m / |charset|) times, and sample i still depends on i only.

    def samples_for_coverage(self) -> int:
        """Samples needed so every charset character appears at least ``min_count`` times."""
        m = self.cfg.length[0]
        return -(-self.cfg.min_count * len(self.charset) // m)

    @functools.lru_cache(maxsize=4)  # noqa: B019 - a handful of epochs per worker, freed with it
    def _epoch(self, epoch: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, 0xC0FE, epoch])
        return rng.permutation(len(self.charset))

    def _coverage_text(self, slot: int, length: int) -> str:
        n = len(self.charset)
        start = slot * self.cfg.length[0]
        out = []
        for pos in range(start, start + length):
            out.append(self._chars[self._epoch(pos // n)[pos % n]])
        return "".join(out)

    # -- other sources -------------------------------------------------------------------
    def _random_text(self, rng: np.random.Generator, length: int) -> str:
        return "".join(rng.choice(self._chars, size=length))

    def _corpus_text(self, rng: np.random.Generator) -> str:
        line = self.corpus[int(rng.integers(len(self.corpus)))]
        hi = self.cfg.length[1]
        if len(line) > hi:  # a window of the longest allowed length, so long lines still serve
            start = int(rng.integers(len(line) - hi + 1))
            line = line[start : start + hi].strip() or line[start : start + hi]
        return line

    def _mix(self, rng: np.random.Generator, text: str) -> str:
        mix = self.cfg.mix
        if mix.digits and rng.random() < mix.digits:
            run = "".join(
                rng.choice(
                    list(charsets.DIGITS), size=int(rng.integers(DIGIT_RUN[0], DIGIT_RUN[1] + 1))
                )
            )
            text = _splice(text, run, int(rng.integers(len(text) + 1)))
        if mix.latin and rng.random() < mix.latin:
            run = "".join(
                rng.choice(
                    list(charsets.LATIN), size=int(rng.integers(LATIN_RUN[0], LATIN_RUN[1] + 1))
                )
            )
            text = _splice(text, run, int(rng.integers(len(text) + 1)))
        if mix.punct and rng.random() < mix.punct:
            mark = str(rng.choice(list(charsets.CJK_PUNCT)))
            if mark in PAIRED_MARKS:  # Chinese dashes and ellipses come in pairs: —— ……
                mark *= 2
            text = _splice(text, mark, int(rng.integers(1, len(text) + 1)))
        return text

    def sample(self, index: int, rng: np.random.Generator, slot: int = 0) -> str:
        """Text for slot ``slot`` (0 <= slot < slots) of sample ``index``."""
        lo, hi = self.cfg.length
        length = int(rng.integers(lo, hi + 1))
        source = self.cfg.source
        if source == "mixed":
            source = "corpus" if rng.random() < 0.5 else "random"
        if source == "coverage":
            text = self._coverage_text(index * self.slots + slot, length)
        elif source == "random":
            text = self._random_text(rng, length)
        elif source == "corpus" and self.cfg.order == "sequential":
            text = self.corpus[(index * self.slots + slot) % len(self.corpus)]
        elif source == "corpus":
            text = self._corpus_text(rng)
        else:
            raise ValueError(f"unknown text.source {source!r}")
        return self._mix(rng, text)


def _splice(text: str, run: str, at: int) -> str:
    return text[:at] + run + text[at:]
