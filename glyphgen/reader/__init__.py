"""glyphgen's own text-line recognizer: a compact CTC model trained on factory lines.

It judges characters the PP-OCRv4 judge cannot output (``glyphgen eval --backend glyphgen``)
and gives the glyph model a differentiable text-perceptual loss (``glyphgen.reader.loss``).
"""

from glyphgen.reader.vocab import Vocabulary

__all__ = ["Vocabulary"]
