"""Verified rendering: every drawn region read back by a judge, redrawn until it reads.

Per region (``verify_region``, pure: the drawing and the reading are passed in):

1) draw a candidate with the region's first seed (the seed an unverified render uses, so a
   region that reads at once is the unverified render, byte for byte) and have the judge
   read it;
2) while it does not read exactly (normalized target == normalized reading, the evaluator's
   rule) and tries are left, draw again with the next seed; the best candidate so far (by
   Levenshtein ratio, the first on ties) is kept;
3) when no try reads exactly and a fallback is given (the classical edit), it is read too
   and kept when it reads at least as well as the best try.

The ``Verification`` says what happened (``read``, ``exact``, ``tries``, ``fallback``,
``seed``, ``judge``) and goes into the region's JSON record. Which judge selects is the
caller's choice; whatever selects must not be the only reader that grades the result
(``docs/eval.md``: ``ppocrv5`` is the independent judge).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Generic, TypeVar

import numpy as np

from glyphgen.cmdline import SEED_LIMIT
from glyphgen.eval.backends import Reading, Recognizer
from glyphgen.eval.metrics import score
from glyphgen.eval.normalize import normalize

C = TypeVar("C")  # a candidate: whatever the drawer returns and the reader reads

DEFAULT_TRIES = 4  # candidates drawn per region at most, before the fallback


@dataclass(frozen=True)
class Verification:
    read: str  # what the judge read in the kept candidate (normalized as the evaluator does)
    exact: bool  # read == the normalized target
    tries: int  # candidates drawn by the model (the fallback not counted)
    fallback: str | None  # None: a drawn candidate is kept; "classical": the classical edit
    seed: int | None  # the kept candidate's seed; None for the fallback
    ratio: float  # Levenshtein ratio of read against the target
    judge: str  # which recognizer read it (the combined judge names PP-OCRv4 or our reader)

    def record(self) -> dict[str, Any]:
        """The fields a region's JSON record carries."""
        return {
            "read": self.read,
            "exact": self.exact,
            "tries": self.tries,
            "fallback": self.fallback,
            "seed": self.seed,
            "judge": self.judge,
        }


@dataclass(frozen=True)
class Verified(Generic[C]):
    candidate: C
    verification: Verification


def try_seeds(seed: int, region: int, regions: int, tries: int) -> list[int]:
    """The seeds of region ``region``'s tries out of ``regions``: the first is ``seed +
    region`` (an unverified render's), then steps of ``regions``, so no two tries of any
    two regions share a seed; wrapped into [0, 2**63)."""
    if tries < 1:
        raise ValueError(f"tries must be >= 1, got {tries}")
    return [(seed + region + t * regions) % SEED_LIMIT for t in range(tries)]


def verify_region(
    draw: Callable[[int], C],
    read: Callable[[C], Reading],
    target: str,
    seeds: Sequence[int],
    fallback: Callable[[], C] | None = None,
) -> Verified[C]:
    """Draw with each of ``seeds`` in turn until ``read`` reads ``target`` exactly; keep the
    best candidate; when none reads exactly, try ``fallback()`` (the classical edit)."""
    if not seeds:
        raise ValueError("verify_region needs at least one seed (tries >= 1)")
    goal = normalize(target)
    best: Verified[C] | None = None
    for t, seed in enumerate(seeds):
        candidate = draw(seed)
        verdict = _verdict(read(candidate), goal, t + 1, None, seed)
        if best is None or verdict.ratio > best.verification.ratio:
            best = Verified(candidate, verdict)
        if verdict.exact:
            return Verified(candidate, verdict)
    assert best is not None
    tries = len(seeds)
    best = Verified(best.candidate, replace(best.verification, tries=tries))
    if fallback is None:
        return best
    candidate = fallback()
    verdict = _verdict(read(candidate), goal, tries, "classical", None)
    if verdict.ratio >= best.verification.ratio:
        return Verified(candidate, verdict)
    return best


def _verdict(
    reading: Reading, goal: str, tries: int, fallback: str | None, seed: int | None
) -> Verification:
    s = score(goal, normalize(reading.text))
    return Verification(s.read, s.exact, tries, fallback, seed, s.ratio, reading.judge)


Drawn = tuple[np.ndarray, dict[str, Any]]  # an image with one region drawn, and its JSON record


def verify_regions(
    image: np.ndarray,
    texts: Sequence[str],
    draw: Callable[[np.ndarray, int, int], Drawn],
    read: Callable[[np.ndarray, dict[str, Any]], Reading],
    *,
    seed: int = 0,
    tries: int = DEFAULT_TRIES,
    fallback: Callable[[np.ndarray, int], Drawn] | None = None,
) -> tuple[np.ndarray, list[dict[str, Any]], list[Verification]]:
    """Every region drawn and verified in turn, each on the image as the regions before it
    left it (as an unverified render draws them). ``draw(image, k, seed)`` draws region
    ``k``; ``fallback(image, k)`` its classical edit; ``read(image, record)`` reads one
    region. Returns the image, the records with the verification's fields added, and the
    verifications."""
    out, records, verifications = image, [], []
    n = len(texts)
    for k, text in enumerate(texts):
        verified = verify_region(
            partial(draw, out, k),
            _read_drawn(read),
            text,
            try_seeds(seed, k, n, tries),
            None if fallback is None else partial(fallback, out, k),
        )
        out, record = verified.candidate
        records.append({**record, **verified.verification.record()})
        verifications.append(verified.verification)
    return out, records, verifications


def _read_drawn(
    read: Callable[[np.ndarray, dict[str, Any]], Reading],
) -> Callable[[Drawn], Reading]:
    return lambda drawn: read(drawn[0], drawn[1])


def read_record(judge: Recognizer, image: np.ndarray, record: dict[str, Any]) -> Reading:
    """What ``judge`` reads in the region a JSONL text entry describes (text, polygon,
    direction, and the characters' quads where known), cropped as ``glyphgen eval`` crops
    it for that judge."""
    from glyphgen.eval.annotations import Region
    from glyphgen.eval.config import CropConfig
    from glyphgen.eval.crops import crop_region

    chars = record.get("chars")
    region = Region(
        text=record["text"],
        polygon=[tuple(p) for p in record["polygon"]],
        direction=record.get("direction"),
        char_quads=[[tuple(p) for p in c["quad"]] for c in chars] if chars else None,
    )
    target = normalize(record["text"])
    line = crop_region(image, region, CropConfig().for_judge(judge, target))
    reading = judge.recognize_for([line], [target])[0]
    return Reading(reading.text, reading.score, reading.judge or judge.name)
