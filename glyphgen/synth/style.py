"""Text colour, outline and shadow, composited onto the background.

Colour is contrast-aware by default: drawn at random until its WCAG contrast ratio with the
mean colour under the text reaches ``min_contrast`` (bounded tries, then black or white).
"""

from __future__ import annotations

import cv2
import numpy as np

from glyphgen.synth.choices import Choices
from glyphgen.synth.config import StyleConfig


def luminance(rgb: np.ndarray) -> float:
    """WCAG relative luminance of an sRGB colour (0-255 per channel)."""
    c = np.asarray(rgb, np.float64) / 255.0
    lin = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2])


def contrast_ratio(a: np.ndarray, b: np.ndarray) -> float:
    la, lb = luminance(a), luminance(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


PALETTE_SAMPLES = 24  # background pixels a "palette" colour is drawn from
PALETTE_PLAIN = 0.25  # share of "palette" colours that are black or white, as on most signs


def pick_colour(
    rng: np.random.Generator,
    under: np.ndarray,
    mode: str,
    min_contrast: float,
    background: np.ndarray | None = None,
) -> list[int]:
    """A text colour: ``random``; ``contrast`` (random, at least ``min_contrast`` against the
    colour ``under`` the text); ``palette`` (a colour of the scene itself, a pixel of
    ``background`` with that contrast, as signs reuse their surroundings' paint; black or
    white for ``PALETTE_PLAIN`` of them). Black or white, whichever contrasts more, when no
    draw meets the contrast."""
    if mode == "random":
        return [int(v) for v in rng.integers(0, 256, size=3)]
    if mode == "palette":
        if background is None:
            raise ValueError("style.color 'palette' needs the scene's background")
        pixels = background.reshape(-1, 3)
        plain = rng.random() < PALETTE_PLAIN
        for index in rng.integers(0, len(pixels), size=0 if plain else PALETTE_SAMPLES):
            if contrast_ratio(pixels[index], under) >= min_contrast:
                return [int(v) for v in pixels[index]]
    elif mode != "contrast":
        raise ValueError(f"unknown style.color {mode!r}; use 'contrast', 'palette' or 'random'")
    else:
        for _ in range(24):
            colour = rng.integers(0, 256, size=3)
            if contrast_ratio(colour, under) >= min_contrast:
                return [int(v) for v in colour]
    black, white = np.zeros(3), np.full(3, 255)
    best = black if contrast_ratio(black, under) >= contrast_ratio(white, under) else white
    return [int(v) for v in best]


def draw_style(
    ch: Choices,
    cfg: StyleConfig,
    under: np.ndarray,
    size: int,
    background: np.ndarray | None = None,
) -> dict:
    """Draw the style of one region: fill colour, optional stroke and shadow."""
    fill = ch.get("color", lambda r: pick_colour(r, under, cfg.color, cfg.min_contrast, background))
    style: dict = {"color": fill}
    if ch.chance("stroke", cfg.stroke_prob):
        style["stroke_width"] = max(1, round(ch.uniform("stroke_width", cfg.stroke_width) * size))
        style["stroke_color"] = ch.get(
            "stroke_color", lambda r: pick_colour(r, np.array(fill), "contrast", 2.0)
        )
    if ch.chance("shadow", cfg.shadow_prob):
        dist = ch.uniform("shadow_offset", cfg.shadow_offset) * size
        angle = np.radians(ch.uniform("shadow_angle", (0.0, 360.0)))
        style["shadow_dx"], style["shadow_dy"] = dist * np.cos(angle), dist * np.sin(angle)
        style["shadow_blur"] = ch.uniform("shadow_blur", cfg.shadow_blur)
        style["shadow_opacity"] = ch.uniform("shadow_opacity", cfg.shadow_opacity)
    return style


def _blend(img: np.ndarray, alpha: np.ndarray, colour: list[int], opacity: float = 1.0) -> None:
    """img = img * (1 - a) + colour * a, in place, on float32 images."""
    a = alpha.astype(np.float32)[..., None] * (opacity / 255.0)
    img *= 1.0 - a
    img += a * np.asarray(colour, np.float32)


def composite(img: np.ndarray, coverage: np.ndarray, style: dict) -> None:
    """Shadow, then stroke, then fill of one region's coverage layer, onto float32 ``img``."""
    if "shadow_dx" in style:
        m = np.array([[1, 0, style["shadow_dx"]], [0, 1, style["shadow_dy"]]], np.float32)
        shadow = cv2.warpAffine(coverage, m, (coverage.shape[1], coverage.shape[0]))
        if style["shadow_blur"] > 0:
            shadow = cv2.GaussianBlur(shadow, (0, 0), style["shadow_blur"])
        _blend(img, shadow, [0, 0, 0], style["shadow_opacity"])
    if "stroke_width" in style:
        r = int(style["stroke_width"])
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        _blend(img, cv2.dilate(coverage, kernel), style["stroke_color"])
    _blend(img, coverage, style["color"])
