"""Benchmarks of the glyph model: the glyph benchmark (``glyph``: held-out lines on factory
scenes, each erased and redrawn by a model, judged by OCR) and its fixed line set
(``glyph_set``). Run with ``glyphgen bench``."""
