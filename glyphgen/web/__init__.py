"""``glyphgen serve``: a small web page to try the glyph model (pick or upload a
background, drag a box, type text, render) with the evaluator's verdict beside the result."""
