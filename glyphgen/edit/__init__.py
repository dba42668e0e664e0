"""Text editing in real images: replace the text A of a region by a text B in A's style.

``classical``: the no-model baseline (colour clustering finds A, OpenCV inpainting removes
it, B is drawn in the canonical font in A's estimated colours). Scored with
``glyphgen.eval.edit_metrics``.
"""
