"""Edit pairs: one scene drawn twice, with text A and with text B, identical in everything else.

The factory draws a scene as usual (its first line holds A). Its recorded choices are then
replayed twice (``Renderer.replay_scene``, the same replay that rebuilds any sample from its
meta): once with B in place of A, once with no ink at all. Background, style, geometry and
effects come from the record, so the three images differ only where text was inked, and the
text masks are exactly those differences. B has A's length and is drawn with A's fonts, so
the line keeps its geometry (hanzi advance one em in every bundled font).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import numpy as np

from glyphgen.synth.choices import Choices
from glyphgen.synth.record import EditInfo, Sample
from glyphgen.typeset import charsets

if TYPE_CHECKING:
    from glyphgen.synth.render import Renderer

TEXT_B_TRIES = 200  # corpus draws for a line of A's length before random characters


def edit_pair(renderer: Renderer, drawn: Sample, ch: Choices) -> Sample | None:
    """``drawn`` shows A in its first line; the same scene showing B, with the pair attached.
    None (counted in the run report) when no B fits or the replay cannot place B."""
    meta = drawn.meta
    region = _first_region(meta)
    if region is None:
        return None
    line = meta[region]["line0"]
    text_a, faces = line["text"], line["fonts"]
    blank = ch.chance("blank", renderer.cfg.edit.blank_prob)
    text_b = ch.get("text_b", lambda r: pick_text_b(renderer, text_a, faces, r))
    if not text_b:
        renderer.stats["edit_pairs_without_b"] += 1
        return None
    meta_b = copy.deepcopy(meta)
    meta_b[region]["line0"]["text"] = text_b
    target = renderer.replay_scene(drawn.index, meta_b)
    empty = renderer.replay_scene(drawn.index, meta, ink=False)
    if target is None or empty is None or target.lines[0].text != text_b:
        renderer.stats["edit_pairs_replay_failed"] += 1
        return None
    mask_b = ink_mask(target.image, empty.image)
    if blank:
        source, mask_a, text_a = empty.image, np.zeros_like(mask_b), ""
    else:
        source, mask_a = drawn.image, ink_mask(drawn.image, empty.image)
    target.edit = EditInfo(source, text_a, mask_a, mask_b, _style(meta, target))
    target.meta = {**meta, "edit": ch.meta}
    renderer.stats["edit_pairs_blank" if blank else "edit_pairs"] += 1
    return target


def ink_mask(inked: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """255 where the inked scene differs from the same scene without text, else 0."""
    return np.where((inked != empty).any(axis=2), 255, 0).astype(np.uint8)


def pick_text_b(
    renderer: Renderer, text_a: str, faces: list[str], rng: np.random.Generator
) -> str | None:
    """A text of A's length, each character covered by A's font at its position, sharing no
    character with A: a corpus line when one fits (real words read like real signs), else
    characters drawn from the charset."""
    fonts = renderer.fonts
    covers = [fonts.face(f).coverage for f in faces]

    def fits(text: str) -> bool:
        return (
            len(text) == len(text_a)
            and text != text_a
            and not set(text) & set(text_a)
            and all(ord(c) in cov for c, cov in zip(text, covers, strict=True))
        )

    same_length = [t for t in renderer.corpus if len(t) == len(text_a)]
    for _ in range(min(TEXT_B_TRIES, len(same_length))):
        text = same_length[int(rng.integers(len(same_length)))]
        if fits(text):
            return text
    pool = [c for c in renderer.charset or charsets.gb2312_level1() if c not in text_a]
    pool = [c for c in pool if not c.isspace()]
    if not pool:
        return None
    chars = []
    for cov in covers:
        mine = [c for c in pool if ord(c) in cov]
        if not mine:
            return None
        chars.append(mine[int(rng.integers(len(mine)))])
    return "".join(chars)


def _first_region(meta: dict[str, Any]) -> str | None:
    """The recorded key of the first region the scene kept (dropped ones hold no line)."""
    r = 0
    while f"region{r}" in meta:
        if "dropped" not in meta[f"region{r}"]:
            return f"region{r}"
        r += 1
    return None


def _style(meta: dict[str, Any], target: Sample) -> dict[str, Any]:
    """The edited line's style as a user would give it: fill, and stroke / shadow if drawn."""
    drawn = meta.get("style0", {})
    style: dict[str, Any] = {"fill": [int(v) for v in target.lines[0].color]}
    if drawn.get("stroke"):
        style["stroke"] = [int(v) for v in drawn["stroke_color"]]
        style["stroke_width_em"] = round(float(drawn["stroke_width"]), 4)
    if drawn.get("shadow"):
        style["shadow"] = [0, 0, 0]
        style["shadow_opacity"] = round(float(drawn["shadow_opacity"]), 4)
    return style
