"""glyphgen: exact Chinese text in images.

Parts: ``glyphgen.synth`` (synthetic-data factory), ``glyphgen.eval`` (OCR evaluator),
``glyphgen.model`` (glyph-controlled diffusion model).
"""

__version__ = "0.1.0"
