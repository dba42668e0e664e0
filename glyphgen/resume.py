"""What exact resumes of both trainers share (glyph model and recognizer).

A checkpoint holds every random state a run draws from and where its data stream stood, so
a run resumed any number of times is the run that was never interrupted. Checkpoints
written before that still resume, with an ``InexactResume`` warning.
"""

from __future__ import annotations

import numpy as np


class InexactResume(UserWarning):
    """A checkpoint without random states or data position: the resumed run goes on with
    fresh draws, so it is not the run that was never interrupted."""


def seed_for(*key: int) -> int:
    """A 63-bit seed from integers (mixed by numpy's SeedSequence), for a torch.Generator."""
    return int(np.random.SeedSequence(list(key)).generate_state(1, np.uint64)[0] >> np.uint64(1))
