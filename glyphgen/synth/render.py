"""Builds one sample from (config, seed, index): the factory's pure core.

``Renderer.render(index)`` returns a ``Sample`` (or ``None`` when the text policy skipped
it); it reads no files but fonts and backgrounds and writes none. Sample ``index`` draws
every random choice from ``numpy.random.default_rng([seed, index])``, so its bytes do not
depend on which worker renders it, and ``render(index, recorded=meta)`` replays it.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from glyphgen.synth.background import BackgroundImages, list_images, make_background
from glyphgen.synth.choices import Choices
from glyphgen.synth.config import SynthConfig
from glyphgen.synth.edits import edit_pair
from glyphgen.synth.effects import apply_effects, jpeg_roundtrip
from glyphgen.synth.model_draw import DrawerFactory, RegionDrawer, model_draw_choices
from glyphgen.synth.record import CharBox, Sample, TextLine
from glyphgen.synth.style import composite, draw_style
from glyphgen.synth.text import TextSource, load_corpus
from glyphgen.typeset import charsets
from glyphgen.typeset import geometry as geo
from glyphgen.typeset.fonts import FontLibrary
from glyphgen.typeset.glyphs import GlyphCache
from glyphgen.typeset.layout import Block, layout_block, paint

MAX_TEXT_TRIES = 10  # redraws of a text no font can render (policy "skip"), then give up


class MissingGlyphError(ValueError):
    """A text holds characters no font covers and fonts.on_missing is "error"."""


@dataclass
class _Region:
    block: Block
    h: np.ndarray  # layout frame -> image
    style: dict
    faces: list[list[str]]


def language_of(text: str) -> str:
    cjk = sum(1 for ch in text if _is_cjk(ch))
    if cjk == len(text.replace(" ", "")):
        return "Chinese"
    return "Latin" if cjk == 0 else "Mixed"


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return 0x3000 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFFEF or cp >= 0x20000


class Renderer:
    """Samples of one config. drawer: builds what redraws the regions ``model_draw`` picks
    (``glyphgen.synth.model_draw``); needed when ``model_draw.fraction`` is above 0."""

    def __init__(
        self,
        cfg: SynthConfig,
        fonts: FontLibrary,
        base_dir: Path | None = None,
        drawer: DrawerFactory | None = None,
    ):
        self.cfg = cfg
        self.fonts = fonts
        styles = set(cfg.fonts.styles)
        self.faces = sorted(
            (f for f in fonts.faces if not styles or f.style in styles), key=lambda f: f.id
        )
        if not self.faces:
            raise ValueError(
                f"fonts.styles={sorted(styles)} matches no font; available styles: "
                f"{sorted({f.style for f in fonts.faces})}"
            )
        self.canonical = fonts.canonical()
        charset = ""
        if cfg.text.source != "corpus":
            covered = fonts.charset_union()
            full = charsets.resolve_charset(cfg.text.charset, base_dir)
            charset = "".join(ch for ch in full if ord(ch) in covered)
            self.charset_dropped = len(full) - len(charset)  # reported: no font has them
        else:
            self.charset_dropped = 0
        corpus = load_corpus(cfg.text.corpus, base_dir) if cfg.text.corpus else []
        slots = 1 if cfg.kind == "line" else cfg.scene.regions[1] * cfg.layout.lines[1]
        self.text_source = TextSource(cfg.text, cfg.seed, charset, corpus, slots)
        self.charset, self.corpus = charset, corpus  # edit pairs draw B from them
        self._replacements = charset or charsets.gb2312_level1()
        self.backgrounds = BackgroundImages(
            list_images(cfg.background.image_dirs, base_dir), cfg.background.max_pixels
        )
        self.glyphs = GlyphCache(lambda face_id, size: fonts.pil_font(fonts.face(face_id), size))
        self.stats: Counter[str] = Counter()
        self.model_draw: RegionDrawer | None = None  # text regions redrawn by the glyph model
        if cfg.model_draw.fraction > 0:
            if drawer is None:
                raise ValueError(
                    "model_draw.fraction > 0 needs a drawer of regions: glyphgen synth hands "
                    "the run glyphgen.render.model_drawn.ModelDrawer; from Python, pass "
                    "run(..., drawer=ModelDrawer)"
                )
            self.model_draw = drawer(cfg.model_draw, fonts, self.stats)

    # -- text and fonts ---------------------------------------------------------------
    def _draw_text(self, index: int, slot: int, rng: np.random.Generator) -> str | None:
        policy = self.cfg.fonts.on_missing
        for _ in range(MAX_TEXT_TRIES):
            text = self.text_source.sample(index, rng, slot)
            missing = self.fonts.uncovered(text)
            if not missing:
                return text
            if policy == "error":
                raise MissingGlyphError(
                    f"text {text!r} has characters no font covers: {''.join(sorted(missing))}; "
                    "add a font folder that has them (fonts.dirs) or set fonts.on_missing "
                    "to skip or replace"
                )
            if policy == "replace":
                self.stats["texts_replaced"] += 1
                pool = self._replacements
                return "".join(
                    pool[int(rng.integers(len(pool)))] if ch in missing else ch for ch in text
                )
            self.stats["texts_skipped_missing_glyph"] += 1
        self.stats["texts_given_up"] += 1
        return None

    def _fonts_for(self, ch: Choices, text: str) -> list[str] | None:
        covering = [f for f in self.fonts.covering(text) if f in self.faces]
        if covering:
            face = ch.get("font", lambda r: covering[int(r.integers(len(covering)))].id)
            return [face] * len(text)
        if not self.cfg.fonts.fallback:
            self.stats["texts_skipped_no_single_font"] += 1
            return None
        preferred = self.faces[int(ch.get("font_pref", lambda r: r.integers(len(self.faces))))]
        chain = self.fonts.fallback_chain(text, preferred)
        if chain is None:
            return None
        self.stats["texts_with_fallback"] += 1
        return [f.id for f in chain]

    def _text_and_fonts(self, ch: Choices, index: int, slot: int) -> tuple[str, list[str]] | None:
        text = ch.get("text", lambda r: self._draw_text(index, slot, r))
        if not text:
            return None
        faces = ch.get("fonts", lambda r: self._fonts_for(ch, text))
        if faces is None:
            return None
        return text, faces

    # -- layout of one region -----------------------------------------------------------
    def _block(self, ch: Choices, texts: list[str], faces: list[list[str]], size: int) -> Block:
        lay = self.cfg.layout
        vertical = ch.chance("vertical", lay.vertical)
        arc = 0.0
        if not vertical and len(texts) == 1 and ch.chance("curve", lay.curve_prob):
            arc = ch.uniform("curve_deg", lay.curve) * (1 if ch.chance("arch", 0.5) else -1)
        return layout_block(
            texts,
            faces,
            size,
            vertical,
            spacing=ch.uniform("spacing", lay.spacing),
            line_gap=ch.uniform("line_gap", lay.line_gap),
            align="center" if ch.chance("centred", 0.5) else "start",
            glyphs=self.glyphs,
            arc_degrees=arc,
        )

    def _shape(self, ch: Choices, block: Block) -> np.ndarray:
        """Rotation and perspective of a block about its centre (layout frame -> layout frame)."""
        lay = self.cfg.layout
        h = np.eye(3)
        if ch.chance("perspective", lay.perspective_prob):
            amount = lay.perspective * min(block.width, block.height)
            jitter = np.array(ch.get("jitter", lambda r: r.uniform(-amount, amount, size=(4, 2))))
            h = geo.perspective_from_jitter(block.width, block.height, jitter)
        if ch.chance("rotate", lay.angle_prob):
            angle = ch.uniform("angle", lay.angle)
            h = geo.rotation_about(block.width / 2, block.height / 2, angle) @ h
        return h

    # -- samples ------------------------------------------------------------------------
    def render(self, index: int, recorded: dict[str, Any] | None = None) -> Sample | None:
        rng = np.random.default_rng([self.cfg.seed, index])
        ch = Choices(rng, recorded)
        if self.cfg.kind == "line":
            sample = self._render_line(ch, index)
        elif self.cfg.kind == "scene":
            sample = self._render_scene(ch, index)
            if sample is not None and self.cfg.edit.pairs:
                sample = edit_pair(self, sample, ch.child("edit"))
        else:
            raise ValueError(f"unknown kind {self.cfg.kind!r}; use 'line' or 'scene'")
        if sample is not None and self.model_draw is not None:
            sample = self._read_back(sample, index)
        if sample is None:
            self.stats["samples_skipped"] += 1
        return sample

    def _read_back(self, sample: Sample, index: int) -> Sample | None:
        """The regions the model drew, read again on the sample as stored (after its effects
        and encoding): one no longer read is dropped with the sample, or the sample is drawn
        again from its record with that region in font ink (``model_draw.on_fail``)."""
        assert self.model_draw is not None
        kept = [
            self.model_draw.read_back(sample.pixels, sample.lines[a : a + n], region)
            for region in sample.meta.get("model_draw", {}).values()
            if region.get("kept") == "model"
            for a, n in [region["line_span"]]
        ]
        if "drop" in kept:
            return None
        if "font" not in kept:
            return sample
        counted = Counter(self.stats)  # the redraw's counts are this draw's, counted already
        again = self.render(index, recorded=sample.meta)
        self.stats.clear()
        self.stats.update(counted)
        return again

    def replay_scene(self, index: int, recorded: dict[str, Any], ink: bool = True) -> Sample | None:
        """Scene ``index`` rebuilt from its recorded choices; ``ink=False`` draws everything
        (background, effects) but the text, so it differs from the scene only where ink was."""
        rng = np.random.default_rng([self.cfg.seed, index])
        return self._render_scene(Choices(rng, recorded), index, ink)

    def _render_line(self, ch: Choices, index: int) -> Sample | None:
        cfg = self.cfg.line
        picked = self._text_and_fonts(ch, index, 0)
        if picked is None:
            return None
        text, faces = picked
        size = max(8, round(cfg.height * ch.uniform("fill", cfg.fill)))
        block = self._block(ch, [text], [faces], size)
        shape = self._shape(ch, block)
        vertical = block.lines[0].direction == "vertical"
        # Fit: the across-reading extent plus margins becomes the output height (or width
        # for a vertical column), the along-reading extent plus margins the other side.
        x0, y0, x1, y1 = geo.bounds(geo.apply(shape, block.lines[0].polygon))
        along, across = (y1 - y0, x1 - x0) if vertical else (x1 - x0, y1 - y0)
        m_along = ch.uniform("margin", cfg.margin) * size
        m_across = ch.uniform("margin_across", (0.02, 0.15)) * size
        k = cfg.height / (across + 2 * m_across)
        if vertical:
            offset = geo.translation(m_across - x0, m_along - y0)
            out_w, out_h = cfg.height, max(1, round((along + 2 * m_along) * k))
        else:
            offset = geo.translation(m_along - x0, m_across - y0)
            out_w, out_h = max(1, round((along + 2 * m_along) * k)), cfg.height
        h = geo.scaling(k) @ offset @ shape
        return self._compose(ch.child("bg"), ch, index, (out_w, out_h), [(block, h, [faces])])

    def _render_scene(self, ch: Choices, index: int, ink: bool = True) -> Sample | None:
        sc = self.cfg.scene
        bg_ch = ch.child("bg")
        n_regions = ch.integer("regions", sc.regions)
        occupied = np.zeros((sc.height, sc.width), np.uint8)
        placed: list[tuple[Block, np.ndarray, list[list[str]]]] = []
        slots_per_region = self.cfg.layout.lines[1]
        for r in range(n_regions):
            rc = ch.child(f"region{r}")
            n_lines = rc.integer("lines", self.cfg.layout.lines)
            picks = [
                self._text_and_fonts(rc.child(f"line{k}"), index, r * slots_per_region + k)
                for k in range(n_lines)
            ]
            if any(p is None for p in picks):
                rc.meta["dropped"] = "text"
                continue
            texts = [p[0] for p in picks if p]
            faces = [p[1] for p in picks if p]
            size = rc.integer("size", sc.font_size)
            spot = self._place_region(rc, texts, faces, size, occupied)
            if spot is None:
                rc.meta["dropped"] = "no room"
                self.stats["regions_dropped_no_room"] += 1
                continue
            placed.append((*spot, faces))
        if not placed:
            return None
        return self._compose(bg_ch, ch, index, (sc.width, sc.height), placed, ink)

    def _place_region(
        self,
        rc: Choices,
        texts: list[str],
        faces: list[list[str]],
        size: int,
        occupied: np.ndarray,
    ) -> tuple[Block, np.ndarray] | None:
        """Lay out a region and find a spot inside the image that overlaps no other region.

        Tries random positions; when none fits, shrinks the text and tries again (twice),
        then gives up. The final size and position are recorded, so replays skip the search.
        """
        height, width = occupied.shape
        pad = 4
        shrinks = [int(rc.recorded["shrinks"])] if "shrinks" in rc.recorded else range(3)
        for shrink in shrinks:
            size_now = max(8, round(size * 0.75**shrink))
            block = self._block(rc.child(f"try{shrink}"), texts, faces, size_now)
            shape = self._shape(rc.child(f"shape{shrink}"), block)
            poly = np.vstack([geo.apply(shape, ln.polygon) for ln in block.lines])
            x0, y0, x1, y1 = geo.bounds(poly)
            free_x, free_y = width - (x1 - x0) - 2 * pad, height - (y1 - y0) - 2 * pad
            if free_x < 0 or free_y < 0:
                continue
            tries = [tuple(rc.recorded["pos"])] if "pos" in rc.recorded else None
            for attempt in range(self.cfg.scene.max_tries):
                if tries is not None:
                    if attempt:
                        break
                    px, py = tries[0]
                else:
                    px, py = rc.rng.uniform(0, free_x), rc.rng.uniform(0, free_y)
                h = geo.translation(pad + px - x0, pad + py - y0) @ shape
                mask = np.zeros_like(occupied)
                for ln in block.lines:
                    pts = np.round(geo.apply(h, ln.polygon)).astype(np.int32)
                    cv2.fillPoly(mask, [pts], 1)
                mask = cv2.dilate(mask, np.ones((2 * pad + 1, 2 * pad + 1), np.uint8))
                if not (mask & occupied).any():
                    occupied |= mask
                    rc.meta["pos"] = [float(px), float(py)]
                    rc.meta["shrinks"] = shrink
                    return block, h
        return None

    # -- drawing and annotations ------------------------------------------------------
    def _compose(
        self,
        bg_ch: Choices,
        ch: Choices,
        index: int,
        out_size: tuple[int, int],
        regions: list[tuple[Block, np.ndarray, list[list[str]]]],
        ink: bool = True,
    ) -> Sample | None:
        """The sample drawn: background, each region inked (by font, or by the glyph model
        where ``model_draw`` picks it), effects; None where a model-drawn region was not
        read and ``model_draw.on_fail`` drops the sample."""
        out_w, out_h = out_size
        bg, bg_kind = make_background(
            bg_ch, out_w, out_h, self.cfg.background.kinds, self.backgrounds
        )
        self.stats.update(f"background_refused_{k}" for k in bg_ch.meta.get("refused", {}).values())
        img = bg.astype(np.float32)
        drawer = self.model_draw if ink else None
        if drawer is not None:  # its own stream: the sample's other choices stay as they were
            md = model_draw_choices(self.cfg.seed, index, ch.recorded.get("model_draw"))
            ch.meta["model_draw"] = md.meta
        lines: list[TextLine] = []
        drawn: list[_Region] = []
        for r, (block, h, faces) in enumerate(regions):
            poly = np.vstack([geo.apply(h, ln.polygon) for ln in block.lines])
            under = _mean_under(bg, poly)
            style = draw_style(ch.child(f"style{r}"), self.cfg.style, under, block.size, bg)
            region_lines = self._annotate(block, h, style)
            if ink:
                kept = "font"
                if drawer is not None:
                    kept, region_lines = drawer.region(img, region_lines, md.child(f"region{r}"))
                if kept == "drop":
                    return None
                if kept == "model":  # where its lines are, for the read back as stored
                    md.meta[f"region{r}"]["line_span"] = [len(lines), len(region_lines)]
                if kept == "font":
                    composite(img, paint(block, h, out_size), style)
            drawn.append(_Region(block, h, style, faces))
            lines.extend(region_lines)
        out, jpeg_quality = apply_effects(ch.child("effects"), self.cfg.effects, img)
        fmt = self.cfg.output.image_format
        if fmt == "png" and jpeg_quality is not None:
            out = jpeg_roundtrip(out, jpeg_quality)
        glyph_image = position_mask = None
        if self.cfg.kind == "scene" and self.cfg.scene.glyph_image:
            glyph_image = self._glyph_image(drawn, out_size)
        if self.cfg.kind == "scene" and self.cfg.scene.position_mask:
            position_mask = np.zeros((out_h, out_w), np.uint8)
            for line in lines:
                points = np.round(np.array(line.polygon)).astype(np.int32)
                cv2.fillPoly(position_mask, [points], 255)
        meta = {"seed": self.cfg.seed, "index": index, "background": bg_kind, **ch.meta}
        return Sample(
            index=index,
            kind=self.cfg.kind,
            image=out,
            image_ext=fmt,
            jpeg_quality=jpeg_quality or self.cfg.output.jpeg_quality,
            width=out_w,
            height=out_h,
            lines=lines,
            caption=_caption(lines, bg_kind),
            glyph_image=glyph_image,
            position_mask=position_mask,
            meta=meta,
        )

    def _glyph_image(self, regions: list[_Region], out_size: tuple[int, int]) -> np.ndarray:
        """The same text in the canonical font, in the same cells, mapped the same way."""
        canvas = np.zeros((out_size[1], out_size[0]), np.uint8)
        canon = self.canonical
        for reg in regions:
            texts = [ln.text for ln in reg.block.lines]
            faces = [
                [canon.id if ord(c) in canon.coverage else f for c, f in zip(t, fs, strict=True)]
                for t, fs in zip(texts, reg.faces, strict=True)
            ]
            first = reg.block.lines[0]
            twin = layout_block(
                texts,
                faces,
                reg.block.size,
                first.direction == "vertical",
                spacing=reg.block.meta["spacing"],
                line_gap=reg.block.meta["line_gap"],
                align="start",
                glyphs=self.glyphs,
                arc_degrees=reg.block.meta["arc"],
                like=reg.block,
            )
            np.maximum(canvas, paint(twin, reg.h, out_size), out=canvas)
        return canvas

    def _annotate(self, block: Block, h: np.ndarray, style: dict) -> list[TextLine]:
        angle = _reading_angle(h, block)
        out = []
        for ln in block.lines:
            chars = [
                CharBox(p.char, _points(geo.apply(h, p.quad)), p.face_id) for p in ln.placements
            ]
            out.append(
                TextLine(
                    text=ln.text,
                    polygon=_points(geo.apply(h, ln.polygon)),
                    chars=chars,
                    font=ln.placements[0].face_id,
                    size=block.size,
                    color=(style["color"][0], style["color"][1], style["color"][2]),
                    angle=angle,
                    direction=ln.direction,
                    language=language_of(ln.text),
                )
            )
        return out


def _points(arr: np.ndarray) -> list[tuple[float, float]]:
    return [(round(float(x), 2), round(float(y), 2)) for x, y in arr]


def _mean_under(bg: np.ndarray, poly: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = geo.bounds(poly)
    h, w = bg.shape[:2]
    xa, xb = max(0, math.floor(x0)), min(w, math.ceil(x1))
    ya, yb = max(0, math.floor(y0)), min(h, math.ceil(y1))
    if xb <= xa or yb <= ya:
        return bg.reshape(-1, 3).mean(axis=0)
    return bg[ya:yb, xa:xb].reshape(-1, 3).mean(axis=0)


def _reading_angle(h: np.ndarray, block: Block) -> float:
    """Angle of the block's x axis after ``h``, degrees counter-clockwise on screen."""
    cx, cy = block.width / 2, block.height / 2
    a, b = geo.apply(h, np.array([[cx, cy], [cx + 10.0, cy]]))
    return round(math.degrees(math.atan2(-(b[1] - a[1]), b[0] - a[0])), 2)


def _caption(lines: list[TextLine], bg_kind: str) -> str:
    """``text "A", "B" (vertical) on a noise background``: each column says so itself, so a
    scene of rows with one column is not captioned as columns."""
    quoted = ", ".join(
        f'"{ln.text}"' + (" (vertical)" if ln.direction == "vertical" else "") for ln in lines
    )
    return f"text {quoted} on a {bg_kind} background"
