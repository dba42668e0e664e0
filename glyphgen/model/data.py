"""Training crops: one text line per crop, rectified, with its glyph and masks.

Sources, all turned into ``Scene`` records first:

- ``factory``: scenes rendered on the fly by ``glyphgen.synth`` (sample i depends only on
  (config, seed, i), so a resumed run sees the same data);
- ``wds``: WebDataset shards the factory wrote (``glyphgen synth --format wds``);
- ``anyword``: AnyWord-3M JSON of real annotated images (no glyph image: drawn here).

A crop is the line's quadrilateral warped to the middle of a window ``fill`` times as
high as the line, 4x as long as high (longer when the text needs it), resized to the
model's crop size: 64x256 for a row, 256x64 for a column. ``render`` cuts user regions
the same way (``window``), so the model sees at inference what it saw in training.
"""

from __future__ import annotations

import glob
import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from glyphgen.images import open_image
from glyphgen.model.config import DataConfig, ModelConfig
from glyphgen.model.glyph import draw_line, glyph_cache
from glyphgen.synth.config import load_config
from glyphgen.synth.record import Sample
from glyphgen.synth.render import Renderer
from glyphgen.typeset import charsets
from glyphgen.typeset.fonts import FontLibrary
from glyphgen.typeset.glyphs import GlyphCache

ASPECT = 4.0  # window length / window height
EDIT_MARGIN = 0.15  # the edit mask reaches this far (x line height) around the line


@dataclass
class SceneLine:
    text: str
    polygon: np.ndarray  # (4, 2) clockwise from where reading starts
    vertical: bool
    color: tuple[int, int, int] | None = None
    font_style: str = ""
    stroke: bool = False
    shadow: bool = False


@dataclass
class Scene:
    image: np.ndarray  # (H, W, 3) uint8
    glyph: np.ndarray | None  # (H, W) uint8 canonical-font text, or None: draw it per line
    lines: list[SceneLine]
    background: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Crop:
    image: np.ndarray  # (H, W, 3) uint8
    glyph: np.ndarray  # (H, W) uint8
    position: np.ndarray  # (H, W) uint8: the line's polygon
    edit: np.ndarray  # (H, W) uint8: where the text may change pixels
    box: tuple[int, int, int, int]  # the line's bounding box in the crop (x0, y0, x1, y1)
    text: str
    vertical: bool
    caption: str
    attributes: np.ndarray  # (5,) float32: r, g, b in [0, 1], stroke, shadow


# -- geometry shared with render ---------------------------------------------------------
def crop_size(height: int, vertical: bool, length: float, multiple: int = 8) -> tuple[int, int]:
    """(W, H) of a crop ``height`` across and at least ``length`` along, in multiples."""
    along = max(height, int(np.ceil(length / multiple)) * multiple)
    return (height, along) if vertical else (along, height)


def window(
    polygon: np.ndarray, vertical: bool, height: int, fill: float, fixed_length: int | None
) -> tuple[np.ndarray, tuple[float, float, float, float], float]:
    """Homography from image to crop for a line quadrilateral.

    The line (reading length L, height A) becomes a rectangle ``fill * height`` high,
    centred in the crop. With ``fixed_length`` the crop is that long and the line is
    shrunk if it would not fit; otherwise the crop is as long as the line needs.
    Returns (3x3 matrix, the line's rectangle in the crop, the crop length needed).
    """
    p = np.asarray(polygon, np.float64)
    ab, ad = float(np.linalg.norm(p[1] - p[0])), float(np.linalg.norm(p[3] - p[0]))
    length, across = (ad, ab) if vertical else (ab, ad)
    k = fill * height / max(across, 1e-6)  # image px -> crop px
    margin = (1 - fill) * height / 2  # the same margin along and across
    need = length * k + 2 * margin
    if fixed_length is not None and need > fixed_length:
        k *= (fixed_length - 2 * margin) / (length * k)
        need = fixed_length
    total = float(fixed_length) if fixed_length is not None else need
    a, b = length * k, across * k  # line rectangle, along x across
    s0 = (total - a) / 2  # start along
    c0 = (height - b) / 2  # start across
    # a column has x across and y along
    rect = (c0, s0, c0 + b, s0 + a) if vertical else (s0, c0, s0 + a, c0 + b)
    x0, y0, x1, y1 = rect
    dst = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)
    m = cv2.getPerspectiveTransform(p.astype(np.float32), dst)
    return m, rect, need


def edit_mask(rect: tuple[float, float, float, float], size: tuple[int, int], vertical: bool):
    x0, y0, x1, y1 = rect
    pad = EDIT_MARGIN * ((x1 - x0) if vertical else (y1 - y0))
    out = np.zeros((size[1], size[0]), np.uint8)
    xa, ya = max(0, round(x0 - pad)), max(0, round(y0 - pad))
    out[ya : round(y1 + pad), xa : round(x1 + pad)] = 255
    return out


def line_crop(
    scene: Scene,
    k: int,
    cfg: ModelConfig,
    fill: float,
    fonts: FontLibrary,
    glyphs: GlyphCache,
) -> Crop | None:
    line = scene.lines[k]
    if len(line.polygon) != 4 or not line.text.strip():
        return None  # curves are not rectified to one window here
    size = crop_size(cfg.height, line.vertical, cfg.width)
    m, rect, _ = window(line.polygon, line.vertical, cfg.height, fill, max(size))
    image = cv2.warpPerspective(
        scene.image, m, size, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE
    )
    if scene.glyph is not None:
        glyph = cv2.warpPerspective(scene.glyph, m, size, flags=cv2.INTER_AREA)
        poly = cv2.perspectiveTransform(line.polygon.reshape(1, -1, 2).astype(np.float32), m)[0]
    else:
        try:
            glyph, poly, _ = draw_line(line.text, rect, line.vertical, size, fonts, glyphs)
        except ValueError:
            return None
    position = np.zeros((size[1], size[0]), np.uint8)
    cv2.fillPoly(position, [np.round(poly).astype(np.int32)], 255)
    colour = np.array(line.color or (0, 0, 0), np.float32) / 255
    attributes = np.concatenate([colour, [float(line.stroke), float(line.shadow)]]).astype(
        np.float32
    )
    words = ["vertical" if line.vertical else "horizontal", line.font_style, scene.background]
    words += ["stroke"] * line.stroke + ["shadow"] * line.shadow
    x0, y0, x1, y1 = rect
    return Crop(
        image=image,
        glyph=glyph,
        position=position,
        edit=edit_mask(rect, size, line.vertical),
        box=(int(x0), int(y0), int(np.ceil(x1)), int(np.ceil(y1))),
        text=line.text,
        vertical=line.vertical,
        caption=" ".join(w for w in words if w),
        attributes=attributes,
    )


# -- scenes from each source -------------------------------------------------------------
def _png(data: bytes, mode: str, name: str | None = None) -> np.ndarray:
    return open_image(data, mode, name=name)


def scene_from_record(
    record: dict[str, Any], image: np.ndarray, glyph: np.ndarray | None, styles: dict[str, str]
) -> Scene:
    """A scene from our JSONL record (factory meta: region styles, background kind)."""
    meta = record.get("meta", {})
    lines = []
    for k, t in enumerate(record.get("texts", [])):
        if t.get("polygon") is None:
            continue
        style = meta.get(f"style{k}", {}) if len(record["texts"]) == meta.get("regions", -1) else {}
        lines.append(
            SceneLine(
                text=t["text"],
                polygon=np.asarray(t["polygon"], np.float64),
                vertical=t.get("direction") == "vertical",
                color=tuple(t["color"]) if t.get("color") else None,
                font_style=styles.get(t.get("font", ""), ""),
                stroke="stroke_width" in style or bool(style.get("stroke")),
                shadow="shadow_dx" in style or bool(style.get("shadow")),
            )
        )
    return Scene(image, glyph, lines, meta.get("background", ""), meta)


def scene_from_sample(sample: Sample, styles: dict[str, str]) -> Scene:
    from glyphgen.synth.writers.jsonl import sample_record

    record = json.loads(json.dumps(sample_record(sample, None), default=str))
    return scene_from_record(record, sample.pixels, sample.glyph_image, styles)


def wds_scenes(patterns: list[str], styles: dict[str, str]) -> Iterator[Scene]:
    """Scenes from factory WebDataset tars, in order, one pass."""
    files = sorted(f for pat in patterns for f in glob.glob(pat)) if patterns else []
    if not files:
        raise FileNotFoundError(f"no WebDataset shard matches {patterns}")
    for file in files:
        members: dict[str, dict[str, bytes]] = {}
        with tarfile.open(file) as tar:
            for info in tar:
                f = tar.extractfile(info)
                if f is None:
                    continue
                key, _, ext = info.name.partition(".")
                members.setdefault(key, {})[ext] = f.read()
        for key in sorted(members):
            m = members[key]
            data = m.get("png") or m.get("jpg")
            if data is None or "json" not in m:
                continue
            where = f"{file}:{key}"
            glyph = _png(m["glyph.png"], "L", where) if "glyph.png" in m else None
            yield scene_from_record(json.loads(m["json"]), _png(data, "RGB", where), glyph, styles)


def anyword_scenes(path: str, images: str) -> Iterator[Scene]:
    """Scenes from an AnyWord-3M JSON (``{"data_root", "data_list": [...]}``), one pass."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    root = Path(images or doc.get("data_root", "") or Path(path).parent)
    for item in doc["data_list"]:
        lines = []
        for ann in item.get("annotations", []):
            if not ann.get("valid", True) or len(ann.get("polygon", [])) != 4:
                continue
            poly = np.asarray(ann["polygon"], np.float64)
            w, h = np.linalg.norm(poly[1] - poly[0]), np.linalg.norm(poly[3] - poly[0])
            lines.append(SceneLine(ann["text"], poly, vertical=h > 1.5 * w))
        if lines:
            image = open_image(root / item["img_name"], "RGB")
            yield Scene(image, None, lines, "photo")


class FactoryScenes:
    """Scenes rendered on the fly; ``scene(i)`` and its style reference are replayable."""

    def __init__(self, data: DataConfig, fonts: FontLibrary):
        overrides = [*data.overrides, f"seed={data.seed}", f"layout.vertical={data.vertical}"]
        cfg = load_config(preset=data.preset, overrides=overrides)
        heldout = sorted(f.id for f in fonts.faces if f.split == "heldout")
        if cfg.fonts.split != "train" or heldout:  # held-out fonts are the benchmark's alone
            raise ValueError(
                f"training scenes must use the train font split, got fonts.split="
                f"{cfg.fonts.split!r} and held-out faces {heldout}; held-out fonts are kept "
                "for evaluation (eval/benchmark)"
            )
        self.renderer = Renderer(cfg, fonts)
        self.fonts = fonts
        self.styles = {f.id: f.style for f in fonts.faces}
        self._pool = charsets.gb2312_level1()

    def scene(self, index: int) -> Scene | None:
        sample = self.renderer.render(index)
        return None if sample is None else scene_from_sample(sample, self.styles)

    def style_reference(self, index: int, scene: Scene) -> Scene | None:
        """The same scene (background, font, colour, effects) with other characters."""
        meta = json.loads(json.dumps(scene.meta))
        line = meta.get("region0", {}).get("line0")
        if not line or "fonts" not in line:
            return None
        rng = np.random.default_rng([self.renderer.cfg.seed, index, 1])
        coverage = self.fonts.face(line["fonts"][0]).coverage
        pool = [c for c in self._pool if ord(c) in coverage]
        line["text"] = "".join(
            pool[int(i)] for i in rng.integers(len(pool), size=len(line["text"]))
        )
        line["fonts"] = [line["fonts"][0]] * len(line["text"])
        try:
            sample = self.renderer.render(index, recorded=meta)
        except (ValueError, KeyError, IndexError):
            return None
        return (
            None if sample is None or not sample.lines else scene_from_sample(sample, self.styles)
        )


# -- batches -----------------------------------------------------------------------------
def _to_tensor(arr: np.ndarray, rgb: bool) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(arr)).float()
    if rgb:
        return t.permute(2, 0, 1) / 127.5 - 1  # (3, H, W) in [-1, 1]
    return (t / 255)[None]  # (1, H, W) in [0, 1]


def collate(
    crops: list[Crop], refs: list[Crop | None], rng: np.random.Generator, data: DataConfig
) -> dict[str, Any]:
    """Stack crops of one orientation; draw which samples get source, reference, attributes."""
    n = len(crops)
    keep_ref = torch.tensor([r is not None for r in refs]) & torch.from_numpy(
        rng.random(n) < data.style_ref_prob
    )
    ref_images = [_to_tensor((r or c).image, True) for c, r in zip(crops, refs, strict=True)]
    return {
        "image": torch.stack([_to_tensor(c.image, True) for c in crops]),
        "glyph": torch.stack([_to_tensor(c.glyph, False) for c in crops]),
        "position": torch.stack([_to_tensor(c.position, False) for c in crops]),
        "edit": torch.stack([_to_tensor(c.edit, False) for c in crops]),
        "use_source": torch.from_numpy(rng.random(n) < data.edit_prob),
        "style_ref": torch.stack(ref_images),
        "keep_ref": keep_ref,
        "attributes": torch.from_numpy(np.stack([c.attributes for c in crops])),
        "keep_attr": torch.from_numpy(rng.random(n) < data.attr_prob),
        "texts": [c.text for c in crops],
        "captions": [
            c.caption if u < data.caption_prob else ""
            for c, u in zip(crops, rng.random(n), strict=True)
        ],
        "boxes": [c.box for c in crops],
        "vertical": crops[0].vertical,
    }


def batches(
    data: DataConfig,
    cfg: ModelConfig,
    batch_size: int,
    fonts: FontLibrary,
    start: int = 0,
) -> Iterator[dict[str, Any]]:
    """Endless batches; rows and columns are batched apart (their crops differ in shape).

    ``start`` is the first scene index (factory) or scenes to skip (files), so a resumed
    run continues where it stopped. Each yielded batch has ``"next"``: the resume point.
    """
    glyphs = glyph_cache(fonts)
    rng = np.random.default_rng([data.seed, start, 2])
    buckets: dict[bool, tuple[list[Crop], list[Crop | None]]] = {False: ([], []), True: ([], [])}
    factory = FactoryScenes(data, fonts) if data.source == "factory" else None
    index = start
    while True:
        for scene, ref in _scene_stream(data, factory, fonts, index):
            index += 1
            if scene is None:
                continue
            fill = float(np.random.default_rng([data.seed, index, 3]).uniform(*data.fill))
            for k in range(len(scene.lines)):
                crop = line_crop(scene, k, cfg, fill, fonts, glyphs)
                if crop is None:
                    continue
                ref_crop = line_crop(ref, 0, cfg, fill, fonts, glyphs) if ref and k == 0 else None
                if ref_crop is not None and ref_crop.vertical != crop.vertical:
                    ref_crop = None
                crops, refs = buckets[crop.vertical]
                crops.append(crop)
                refs.append(ref_crop)
                if len(crops) == batch_size:
                    batch = collate(crops, refs, rng, data)
                    batch["next"] = index
                    buckets[crop.vertical] = ([], [])
                    yield batch
        if factory is None:
            index = 0  # files: start another pass


def _scene_stream(
    data: DataConfig, factory: FactoryScenes | None, fonts: FontLibrary, start: int
) -> Iterator[tuple[Scene | None, Scene | None]]:
    if factory is not None:
        index = start
        while True:
            scene = factory.scene(index)
            ref = factory.style_reference(index, scene) if scene is not None else None
            yield scene, ref
            index += 1
    styles = {f.id: f.style for f in fonts.faces}
    if data.source == "wds":
        stream: Iterator[Scene] = wds_scenes(data.shards, styles)
    elif data.source == "anyword":
        if not data.annotations:
            raise ValueError("data.source=anyword needs data.annotations (an AnyWord-3M JSON)")
        stream = anyword_scenes(data.annotations, data.images)
    else:
        raise ValueError(f"unknown data.source {data.source!r}; use factory, wds or anyword")
    for i, scene in enumerate(stream):
        if i >= start:
            yield scene, None
