"""glyphgen: exact Chinese text in images.

Parts, each a package (README, "Layout of the repository"):

- ``glyphgen.typeset``: typography every part shares (fonts and verified coverage, charsets,
  glyphs, layout, geometry)
- ``glyphgen.synth``: the synthetic-data factory (``glyphgen synth``)
- ``glyphgen.eval``: the OCR evaluator (``glyphgen eval``)
- ``glyphgen.reader``: our line recognizer, a judge of its own (``glyphgen train-reader``)
- ``glyphgen.model``: the glyph-controlled diffusion model (``glyphgen train``)
- ``glyphgen.edit``: the classical (no-model) text edit
- ``glyphgen.render``: one render, whoever asks (``glyphgen render``, the web page, Python)
- ``glyphgen.benchmark``: the glyph and style-edit benchmarks (``glyphgen bench``)
- ``glyphgen.web``: the try-it page (``glyphgen serve``)
- ``glyphgen.data``: the bundled data (presets, corpora, fonts, photos, weights), found
  through ``glyphgen.paths``

and the shared modules ``cli`` (the one command line), ``configio``, ``images``,
``cmdline``, ``limits``, ``resume``, ``safeweights``, ``hashing`` and ``paths``.
"""

__version__ = "0.1.0"
