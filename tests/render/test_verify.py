"""Verified rendering's core with a fake drawer and a fake judge (no model, no OCR)."""

import pytest

from glyphgen.eval.backends import Reading
from glyphgen.render.verify import try_seeds, verify_region

TARGET = "开业大吉"


class Fake:
    """Draws the candidate ``("model", seed)``; the judge reads ``reads[seed]`` for it and
    ``classical`` for the fallback. Records every call, in order."""

    def __init__(self, reads: dict[int, str], classical: str = TARGET):
        self.reads, self.classical, self.calls = reads, classical, []

    def draw(self, seed):
        self.calls.append(("draw", seed))
        return ("model", seed)

    def fallback(self):
        self.calls.append(("fallback",))
        return ("classical", None)

    def read(self, candidate):
        kind, seed = candidate
        return Reading(self.classical if kind == "classical" else self.reads[seed], 0.9, "fake")


def test_the_first_exact_try_is_kept_and_no_more_are_drawn():
    fake = Fake({10: "开业大", 11: "开业大吉", 12: TARGET})
    got = verify_region(fake.draw, fake.read, TARGET, [10, 11, 12], fake.fallback)
    assert got.candidate == ("model", 11)
    assert got.verification.record() == {
        "read": TARGET,
        "exact": True,
        "tries": 2,
        "fallback": None,
        "seed": 11,
        "judge": "fake",
    }
    assert fake.calls == [("draw", 10), ("draw", 11)]  # neither a third try nor the fallback


def test_reading_is_compared_after_normalization():
    # full-width and spaces differ from the target only in what the evaluator normalizes away
    fake = Fake({0: "ＡＢ 12"})
    got = verify_region(fake.draw, fake.read, "AB12", [0])
    assert got.verification.exact and got.verification.read == "AB12"


def test_no_exact_try_falls_back_to_the_classical_edit():
    fake = Fake({0: "开业", 1: "开业大", 2: "大吉"})
    got = verify_region(fake.draw, fake.read, TARGET, [0, 1, 2], fake.fallback)
    assert got.candidate == ("classical", None)
    v = got.verification
    assert (v.read, v.exact, v.tries, v.fallback, v.seed) == (TARGET, True, 3, "classical", None)
    assert fake.calls == [("draw", 0), ("draw", 1), ("draw", 2), ("fallback",)]


def test_without_a_fallback_the_best_try_is_kept_and_said_inexact():
    fake = Fake({0: "开", 1: "开业大", 2: "开业"})
    got = verify_region(fake.draw, fake.read, TARGET, [0, 1, 2])
    assert got.candidate == ("model", 1)  # highest Levenshtein ratio
    v = got.verification
    assert (v.read, v.exact, v.tries, v.fallback, v.seed) == ("开业大", False, 3, None, 1)


def test_a_fallback_reading_worse_than_the_best_try_is_not_used():
    fake = Fake({0: "开业大", 1: "开"}, classical="吉")
    got = verify_region(fake.draw, fake.read, TARGET, [0, 1], fake.fallback)
    assert got.candidate == ("model", 0)
    assert got.verification.fallback is None and not got.verification.exact


def test_ties_keep_the_earliest_try():
    fake = Fake({0: "开业大x", 1: "开业大y"})
    assert verify_region(fake.draw, fake.read, TARGET, [0, 1]).candidate == ("model", 0)


def test_try_seeds_start_at_the_unverified_seed_and_never_collide():
    assert try_seeds(7, 0, 3, 2) == [7, 10]
    seeds = [s for k in range(3) for s in try_seeds(7, k, 3, 4)]
    assert len(set(seeds)) == len(seeds) == 12
    assert try_seeds(2**63 - 1, 1, 2, 2) == [0, 2]  # wrapped into [0, 2**63)
    with pytest.raises(ValueError, match="tries must be >= 1"):
        try_seeds(0, 0, 1, 0)
    with pytest.raises(ValueError, match="at least one seed"):
        verify_region(lambda s: s, lambda c: Reading("", 0.0), TARGET, [])


def test_regions_are_verified_in_turn_on_the_image_the_last_one_left():
    """Region k's value is written into pixel k: the judge "reads" region 0 exactly for
    seed 5 (its second try: seeds 3, 5 of regions 0, 1 with seed 3), region 1 never, so
    region 1 falls back, drawn on the image that holds region 0's kept try."""
    import numpy as np

    from glyphgen.render.verify import verify_regions

    texts = ["一二", "三四"]
    seen = []

    def draw(image, k, seed):
        seen.append((k, seed, image.tolist()))
        out = image.copy()
        out[k] = seed
        return out, {"text": texts[k], "k": k}

    def fallback(image, k):
        out = image.copy()
        out[k] = 99
        return out, {"text": texts[k], "k": k, "classical": True}

    def read(image, record):
        k = record["k"]
        good = (k == 0 and image[0] == 5) or image[k] == 99
        return Reading(record["text"] if good else "一", 0.5, "fake")

    image, records, checks = verify_regions(
        np.zeros(2, np.int64), texts, draw, read, seed=3, tries=2, fallback=fallback
    )
    assert image.tolist() == [5, 99]
    assert [(k, s) for k, s, _ in seen] == [(0, 3), (0, 5), (1, 4), (1, 6)]
    assert all(before == [5, 0] for k, _, before in seen if k == 1)
    assert records == [
        {"text": "一二", "k": 0, "read": "一二", "exact": True, "tries": 2, "fallback": None,
         "seed": 5, "judge": "fake"},
        {"text": "三四", "k": 1, "classical": True, "read": "三四", "exact": True, "tries": 2,
         "fallback": "classical", "seed": None, "judge": "fake"},
    ]  # fmt: skip
    assert [c.exact for c in checks] == [True, True]
