"""Build common_words.txt: lines of real Chinese words, drawn by how often they are used.

    pip download jieba==0.42.1 --no-deps -d /tmp/jieba && tar xzf /tmp/jieba/jieba-0.42.1.tar.gz -C /tmp/jieba
    python tools/make_word_corpus.py /tmp/jieba/jieba-0.42.1/jieba/dict.txt

The source is jieba's word dictionary (MIT licence): about 349,000 words, each with a count
from a large text collection. Only words made entirely of GB2312 hanzi are kept. Each output
line joins words drawn with probability proportional to count ** TEMPER (below 1 so the
mid-frequency characters of shop signs and posters are not drowned by 的 and 了) until the
line holds LENGTH characters. The result gives a recognizer or glyph model text whose
characters follow real usage, which a uniform stream over the charset does not.

Never train on bench/sets/common_phrases.txt or bench/sets/lines.jsonl: those are held out.
The output is deterministic for a given dictionary and seed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
TEMPER = 0.5
LENGTH = (4, 14)


def is_gb2312_hanzi(ch: str) -> bool:
    if not "\u4e00" <= ch <= "\u9fff":
        return False
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def read_dictionary(path: Path) -> tuple[list[str], np.ndarray]:
    words, counts = [], []
    for raw in path.read_text(encoding="utf-8").splitlines():
        parts = raw.split()
        if len(parts) < 2 or not parts[1].isdigit():
            continue
        if all(is_gb2312_hanzi(ch) for ch in parts[0]):
            words.append(parts[0])
            counts.append(int(parts[1]))
    if not words:
        raise SystemExit(f"{path}: no 'word count' lines of GB2312 hanzi; is it jieba's dict.txt?")
    return words, np.asarray(counts, dtype=np.float64)


def make_lines(words: list[str], counts: np.ndarray, n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    weights = counts**TEMPER
    weights /= weights.sum()
    picks = iter(rng.choice(len(words), size=n * 12, p=weights))
    lines = []
    for _ in range(n):
        target = int(rng.integers(LENGTH[0], LENGTH[1] + 1))
        line = ""
        while len(line) < target:
            line += words[next(picks)]
        lines.append(line[: LENGTH[1]])
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dictionary", type=Path, help="jieba's dict.txt (word count tag per line)")
    p.add_argument("--out", type=Path, default=HERE / "common_words.txt")
    p.add_argument("--lines", type=int, default=30000)
    p.add_argument("--seed", type=int, default=20261125)
    args = p.parse_args()
    words, counts = read_dictionary(args.dictionary)
    lines = make_lines(words, counts, args.lines, args.seed)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    chars = {ch for line in lines for ch in line}
    print(f"{args.out}: {len(lines)} lines from {len(words)} words; {len(chars)} distinct hanzi")


if __name__ == "__main__":
    main()
