"""The glyph model's tests share ``trained`` (tests/conftest.py): a tiny model trained 6 steps."""

import torch

# Tiny models gain nothing from a second thread, and two OpenMP threads on a machine
# whose other core is busy wait on each other (seen here: 141 s instead of 28 s).
torch.set_num_threads(1)
