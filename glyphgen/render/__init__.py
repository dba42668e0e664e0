"""One render, whoever asks: text drawn into regions of an image by the glyph model or the
classical edit. ``glyphgen render`` (flags and ``--batch``), the web page and Python callers
all build a ``RenderRequest`` (checked where it is made) and hand it to a ``Renderer``::

    from glyphgen.render import RenderRequest, Renderer, Sampling
    result = Renderer().render(RenderRequest(["开业大吉"], ["40,100,360,160"],
                                             background=Path("shop.jpg")))
    result.write(Path("sign.png"))  # the image, and sign.json: what was drawn where

Parts: ``request`` (what is asked), ``regions`` (where texts go, the checks against image
and fonts), ``api`` (``Renderer``), ``result`` (what was drawn, and its JSON), ``jobs``
(``--batch`` lines), ``cli``.
"""

from glyphgen.render.api import FontsUnavailable, ModelUnavailable, Renderer, render
from glyphgen.render.regions import RenderError
from glyphgen.render.request import RenderRequest, Sampling
from glyphgen.render.result import RegionResult, RenderResult

__all__ = [
    "FontsUnavailable",
    "ModelUnavailable",
    "RegionResult",
    "RenderError",
    "RenderRequest",
    "RenderResult",
    "Renderer",
    "Sampling",
    "render",
]
