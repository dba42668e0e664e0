"""Image-level degradations applied after the text is drawn: blur, lighting, noise, JPEG.

Each effect draws its parameters through ``Choices`` (recorded, replayable) and then
applies them; the order is fixed (blur, light, noise, JPEG) as a camera would produce them.
"""

from __future__ import annotations

import cv2
import numpy as np

from glyphgen.synth.choices import Choices
from glyphgen.synth.config import EffectsConfig


def apply_effects(
    ch: Choices, cfg: EffectsConfig, img: np.ndarray
) -> tuple[np.ndarray, int | None]:
    """Degrade float32 RGB ``img``; returns uint8 RGB and the JPEG quality drawn (or None)."""
    if ch.chance("blur", cfg.blur_prob):
        img = cv2.GaussianBlur(img, (0, 0), ch.uniform("blur_sigma", cfg.blur))
    if ch.chance("light", cfg.light_prob):
        strength = ch.uniform("light_strength", cfg.light)
        angle = np.radians(ch.uniform("light_angle", (0.0, 360.0)))
        h, w = img.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        t = xx * np.cos(angle) + yy * np.sin(angle)
        t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
        img = img * (1.0 - strength + 2.0 * strength * t)[..., None]
    if ch.chance("noise", cfg.noise_prob):
        std = ch.uniform("noise_std", cfg.noise)
        rng = np.random.default_rng(ch.seed("noise_seed"))
        img = img + rng.normal(0.0, std, size=img.shape).astype(np.float32)
    out = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    quality = (
        ch.integer("jpeg_quality", cfg.jpeg_quality) if ch.chance("jpeg", cfg.jpeg_prob) else None
    )
    return out, quality


def encode(img: np.ndarray, fmt: str, jpeg_quality: int) -> bytes:
    """Encode RGB uint8 (or single-channel) ``img`` as "jpg" or "png" bytes."""
    bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR) if img.ndim == 3 else img
    if fmt == "jpg":
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
    elif fmt == "png":
        ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    else:
        raise ValueError(f"unknown image format {fmt!r}; use 'jpg' or 'png'")
    if not ok:
        raise RuntimeError(f"could not encode a {img.shape} image as {fmt}")
    return buf.tobytes()


def decode(data: bytes) -> np.ndarray:
    """Bytes this module encoded -> RGB uint8 (trusted: never user files, see glyphgen.images)."""
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if decoded is None:
        raise RuntimeError("could not decode an image the factory encoded itself")
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)


def jpeg_roundtrip(img: np.ndarray, quality: int) -> np.ndarray:
    """JPEG artefacts for outputs stored losslessly."""
    return decode(encode(img, "jpg", quality))
