"""What a render drew, and the one place its annotation JSON is written from.

A ``RenderResult`` holds the image and one ``RegionResult`` per region asked for. The JSON
beside the image is one record of our JSONL annotation format (``glyphgen eval
--annotations out.json`` checks it): one text entry per line drawn, each carrying its
region's own fields (``RegionResult.fields``). A new fact about a region is a field of
``RegionResult`` and a key in ``fields``: the command line, batch jobs, the web page and
Python callers all see it, and the JSON writes it, with no other change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from glyphgen.render.request import Sampling


@dataclass
class RegionResult:
    """One region as drawn."""

    index: int  # the region's place in the request (0-based)
    text: str  # as asked, its lines joined by "\n"
    vertical: bool
    # one JSONL text entry per line drawn, in reading order: text, polygon (where the line's
    # glyphs stand, image pixels), direction, chars (one quad per character)
    lines: list[dict[str, Any]]
    # the style the classical edit drew in (``glyphgen.edit.style.TextStyle.to_json``: face,
    # weight, fill, outline, shadow); None where the model drew or nothing was estimated
    style: dict[str, Any] | None = None

    def fields(self) -> dict[str, Any]:
        """The region's own facts, written into each of its line entries."""
        return {"region": self.index, "style": self.style}

    @property
    def exact(self) -> bool | None:
        """A verified render's verdict: the judge read every line exactly (each line entry
        carries ``read``, ``exact``, ``tries``, ``fallback``, ``seed``, ``judge``); None when
        the region was not read back."""
        if not self.lines or not all("exact" in line for line in self.lines):
            return None
        return all(bool(line["exact"]) for line in self.lines)

    def entries(self) -> list[dict[str, Any]]:
        """The region's JSONL text entries: each line's, with the region's fields."""
        return [{**line, **self.fields()} for line in self.lines]


@dataclass
class RenderResult:
    image: np.ndarray  # (H, W, 3) uint8: the background with every region drawn
    regions: list[RegionResult]
    sampling: Sampling  # as drawn: the weights' defaults filled in (strength 0: no model)

    def unread(self) -> list[RegionResult]:
        """The regions a verified render could not get read exactly (what ``--strict``
        refuses)."""
        return [r for r in self.regions if r.exact is False]

    def record(self, image_name: str) -> dict[str, Any]:
        """The JSONL annotation record of the image saved as ``image_name``."""
        h, w = self.image.shape[:2]
        texts = [entry for region in self.regions for entry in region.entries()]
        return {"image": image_name, "width": w, "height": h, "texts": texts}

    def write(self, path: Path) -> Path:
        """The image at ``path`` and its record beside it (``path`` with ``.json``); the
        record's path."""
        from PIL import Image

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(self.image).save(path)
        ann = path.with_suffix(".json")
        record = json.dumps(self.record(path.name), ensure_ascii=False)
        ann.write_text(record + "\n", encoding="utf-8")
        return ann
