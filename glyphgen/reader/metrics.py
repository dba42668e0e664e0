"""Reading lines with the recognizer and scoring the readings (character and line accuracy)."""

from __future__ import annotations

from collections.abc import Sequence

import Levenshtein
import numpy as np
import torch

from glyphgen.reader.data import batch_images
from glyphgen.reader.net import LineRecognizer, greedy_ids
from glyphgen.reader.vocab import Vocabulary


@torch.no_grad()
def read_lines(
    model: LineRecognizer, vocab: Vocabulary, greys: Sequence[np.ndarray], batch_size: int = 32
) -> list[tuple[str, float]]:
    """(text, confidence) per grey line; lines of similar width are batched together."""
    order = sorted(range(len(greys)), key=lambda i: greys[i].shape[1])
    out: list[tuple[str, float]] = [("", 0.0)] * len(greys)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        log_probs = model(batch_images([greys[i] for i in chunk]))
        ids, conf = greedy_ids(log_probs)
        for i, seq, c in zip(chunk, ids, conf, strict=True):
            out[i] = (vocab.decode(seq), c)
    return out


def score_readings(targets: Sequence[str], reads: Sequence[str]) -> dict[str, float]:
    """Character accuracy = 1 - total edit distance / total target characters (clipped at 0);
    line accuracy = share of exact readings. Both rounded to 4 places for people; the counts
    (``edits``, ``chars``) give the exact figure for a bar check near its threshold."""
    chars = sum(len(t) for t in targets)
    edits = sum(Levenshtein.distance(t, r) for t, r in zip(targets, reads, strict=True))
    exact = sum(t == r for t, r in zip(targets, reads, strict=True))
    return {
        "char_acc": round(max(0.0, 1 - edits / max(1, chars)), 4),
        "line_acc": round(exact / max(1, len(targets)), 4),
        "lines": len(targets),
        "edits": edits,
        "chars": chars,
    }
