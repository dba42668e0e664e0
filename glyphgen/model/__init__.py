"""The glyph model: draw exact Chinese text into image regions with diffusion.

Parts: ``text_encoder`` (characters + style caption), ``adapter`` (weak style control,
decoupled cross-attention), ``pipeline`` (``GlyphPipeline``: ControlNet strong control on a
UNet base, few-step sampling), ``build`` (our pixel-space base from scratch, or a local
latent base), ``data`` (rectified line crops from the factory, shards or AnyWord JSON),
``losses`` (diffusion + OCR-aware hook), ``train`` (``glyphgen train``), ``render``
(``glyphgen render``), ``cli``. Configs: ``glyphgen/model/configs``.
"""
