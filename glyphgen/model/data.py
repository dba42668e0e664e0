"""Training crops: one text line per crop, rectified, with its glyph and masks.

Sources, all turned into ``Scene`` records first:

- ``factory``: scenes rendered on the fly by ``glyphgen.synth`` (sample i depends only on
  (config, seed, i), so a resumed run sees the same data);
- ``wds``: WebDataset shards the factory wrote (``glyphgen synth --format wds``);
- ``anyword``: AnyWord-3M JSON of real annotated images (no glyph image: drawn here);
- ``batches``: training batches written ahead (``glyphgen.model.batch_files``), read as
  they were written: no rendering or cutting in the training loop.

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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from glyphgen.images import open_image
from glyphgen.model.batch_files import read_batch_files
from glyphgen.model.config import DataConfig, ModelConfig
from glyphgen.model.crops import edit_mask, style_vector
from glyphgen.synth.config import SynthConfig, load_config
from glyphgen.synth.record import Sample
from glyphgen.synth.render import Renderer
from glyphgen.typeset import charsets
from glyphgen.typeset.fonts import FontLibrary
from glyphgen.typeset.glyphs import GlyphCache
from glyphgen.typeset.line import crop_size, draw_line, glyph_cache, window

ASPECT = 4.0  # window length / window height


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
class EditPair:
    """The scene as it was before its first line was edited (the factory's edit pairs)."""

    source: np.ndarray  # (H, W, 3) uint8: the same scene showing A (or no text)
    text_a: str  # "" for a blank pair


@dataclass
class Scene:
    image: np.ndarray  # (H, W, 3) uint8
    glyph: np.ndarray | None  # (H, W) uint8 canonical-font text, or None: draw it per line
    lines: list[SceneLine]
    background: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    pair: EditPair | None = None  # the first line's edit pair, when the factory drew one


@dataclass
class Crop:
    image: np.ndarray  # (H, W, 3) uint8: what the model learns to produce
    source: np.ndarray  # (H, W, 3) uint8: what it sees outside the edit mask (A, for a pair)
    glyph: np.ndarray  # (H, W) uint8
    position: np.ndarray  # (H, W) uint8: the line's polygon
    edit: np.ndarray  # (H, W) uint8: where the text may change pixels
    box: tuple[int, int, int, int]  # the line's bounding box in the crop (x0, y0, x1, y1)
    text: str
    vertical: bool
    caption: str
    attributes: np.ndarray  # (5,) float32: r, g, b in [0, 1], stroke, shadow


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

    def warp(pixels: np.ndarray) -> np.ndarray:
        return cv2.warpPerspective(
            pixels, m, size, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE
        )

    image = warp(scene.image)
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
    attributes = style_vector(line.color or (0, 0, 0), line.stroke, line.shadow)
    words = ["vertical" if line.vertical else "horizontal", line.font_style, scene.background]
    words += ["stroke"] * line.stroke + ["shadow"] * line.shadow
    pair = scene.pair if k == 0 else None
    x0, y0, x1, y1 = rect
    return Crop(
        image=image,
        source=image if pair is None else warp(pair.source),
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
    scene = scene_from_record(record, sample.pixels, sample.glyph_image, styles)
    if sample.edit is not None:
        e = sample.edit
        scene.pair = EditPair(e.source, e.text_a)
    return scene


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


def factory_config(data: DataConfig) -> SynthConfig:
    """The factory config a training stage's ``data`` renders its scenes with."""
    overrides = [*data.overrides, f"seed={data.seed}", f"layout.vertical={data.vertical}"]
    return load_config(preset=data.preset, overrides=overrides)


class FactoryScenes:
    """Scenes rendered on the fly; ``scene(i)`` and its style reference are replayable."""

    def __init__(self, data: DataConfig, fonts: FontLibrary):
        cfg = factory_config(data)
        heldout = sorted(f.id for f in fonts.faces if f.split == "heldout")
        if cfg.fonts.split != "train" or heldout:  # held-out fonts are the benchmark's alone
            raise ValueError(
                f"training scenes must use the train font split, got fonts.split="
                f"{cfg.fonts.split!r} and held-out faces {heldout}; held-out fonts are kept "
                "for evaluation (bench/sets)"
            )
        self.renderer = Renderer(cfg, fonts)
        self.fonts = fonts
        self.styles = {f.id: f.style for f in fonts.faces}
        self._pool = charsets.gb2312_level1()

    def scene(self, index: int) -> Scene | None:
        sample = self.renderer.render(index)
        return None if sample is None else scene_from_sample(sample, self.styles)

    def style_reference(self, index: int, scene: Scene) -> Scene | None:
        """The same scene (background, font, colour, effects) with other characters: for an
        edit pair, its source showing A (None for a blank pair: no text to take style from),
        as a user gives the old text's region; otherwise the scene drawn again."""
        if scene.pair is not None:
            if not scene.pair.text_a or not scene.lines:
                return None
            line = replace(scene.lines[0], text=scene.pair.text_a)
            return Scene(scene.pair.source, None, [line], scene.background, scene.meta)
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
        "source": torch.stack([_to_tensor(c.source, True) for c in crops]),
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


@dataclass
class DataPosition:
    """Where a batch stream stands after a batch: enough to continue it exactly.

    Crops wait in their orientation's bucket until it holds a batch, so a stream that
    stopped holds crops of earlier scenes; they are named here, rendered again (scenes are
    replayable from their index) and batched with the same draws as before.
    """

    scene: int  # the scene being cut into lines (factory index, or scenes into a file pass)
    line: int  # its first line not yet in a bucket
    rows: list[tuple[int, int]]  # (scene, line) of the crops waiting in the rows' bucket
    columns: list[tuple[int, int]]  # the same for columns
    rng: dict[str, Any]  # the condition draws' generator (numpy bit_generator.state)

    @classmethod
    def start(cls, data: DataConfig, scene: int) -> DataPosition:
        """A stream starting at ``scene`` with empty buckets (a new stage, or a checkpoint
        older than data positions)."""
        rng = np.random.default_rng([data.seed, scene, 2])
        return cls(scene, 0, [], [], dict(rng.bit_generator.state))

    def to_dict(self) -> dict[str, Any]:
        return {
            "scene": self.scene,
            "line": self.line,
            "rows": [list(p) for p in self.rows],
            "columns": [list(p) for p in self.columns],
            "rng": self.rng,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataPosition:
        pairs = {k: [(int(i), int(j)) for i, j in d[k]] for k in ("rows", "columns")}
        return cls(int(d["scene"]), int(d["line"]), pairs["rows"], pairs["columns"], d["rng"])


def batches(
    data: DataConfig,
    cfg: ModelConfig,
    batch_size: int,
    fonts: FontLibrary,
    start: int | DataPosition = 0,
) -> Iterator[dict[str, Any]]:
    """Endless batches; rows and columns are batched apart (their crops differ in shape).

    ``start`` is the first scene index (factory) or scenes to skip (files), or the
    ``"data_position"`` a batch of an earlier stream carried: the stream goes on from there as
    if it had never stopped. Each yielded batch has ``"data_position"`` (a ``DataPosition``
    as a dict) and ``"next"``: the first scene not yet drawn.
    """
    if data.source == "batches":  # written ahead: the files in order, pass after pass
        first = start.scene if isinstance(start, DataPosition) else start
        for batch in read_batch_files(data.shards, first):
            batch["data_position"] = DataPosition(batch["next"], 0, [], [], {}).to_dict()
            yield batch
    glyphs = glyph_cache(fonts)
    pos = start if isinstance(start, DataPosition) else DataPosition.start(data, start)
    rng = np.random.Generator(np.random.PCG64())
    rng.bit_generator.state = pos.rng
    factory = FactoryScenes(data, fonts) if data.source == "factory" else None

    def fill_of(scene_index: int) -> float:
        return float(np.random.default_rng([data.seed, scene_index + 1, 3]).uniform(*data.fill))

    def crop_pair(
        scene: Scene, ref: Scene | None, i: int, k: int
    ) -> tuple[Crop | None, Crop | None]:
        fill = fill_of(i)
        crop = line_crop(scene, k, cfg, fill, fonts, glyphs)
        if crop is None:
            return None, None
        ref_crop = line_crop(ref, 0, cfg, fill, fonts, glyphs) if ref and k == 0 else None
        if ref_crop is not None and ref_crop.vertical != crop.vertical:
            ref_crop = None
        return crop, ref_crop

    # the buckets as the position left them: (crops, their style references, their names)
    buckets: dict[bool, tuple[list[Crop], list[Crop | None], list[tuple[int, int]]]] = {
        False: ([], [], []),
        True: ([], [], []),
    }
    waiting = {False: pos.rows, True: pos.columns}
    scenes = _scenes_at(data, factory, fonts, {i for names in waiting.values() for i, _ in names})
    for vertical, names in waiting.items():
        for i, k in names:
            crop, ref_crop = crop_pair(*scenes[i], i, k)
            if crop is None or crop.vertical != vertical:
                raise RuntimeError(
                    f"scene {i} line {k} no longer renders as it did when the checkpoint was "
                    "written (fonts or factory changed?); start the stage over"
                )
            buckets[vertical][0].append(crop)
            buckets[vertical][1].append(ref_crop)
            buckets[vertical][2].append((i, k))

    index, first_line = pos.scene, pos.line
    while True:
        for scene, ref in _scene_stream(data, factory, fonts, index):
            i, index, first, first_line = index, index + 1, first_line, 0
            if scene is None:
                continue
            for k in range(first, len(scene.lines)):
                crop, ref_crop = crop_pair(scene, ref, i, k)
                if crop is None:
                    continue
                crops, refs, names = buckets[crop.vertical]
                crops.append(crop)
                refs.append(ref_crop)
                names.append((i, k))
                if len(crops) == batch_size:
                    batch = collate(crops, refs, rng, data)
                    buckets[crop.vertical] = ([], [], [])
                    here = (i, k + 1) if k + 1 < len(scene.lines) else (i + 1, 0)
                    batch["next"] = index
                    batch["data_position"] = DataPosition(
                        *here, list(buckets[False][2]), list(buckets[True][2]),
                        dict(rng.bit_generator.state),
                    ).to_dict()  # fmt: skip
                    yield batch
        if factory is None:
            index = 0  # files: start another pass


def _scenes_at(
    data: DataConfig, factory: FactoryScenes | None, fonts: FontLibrary, wanted: set[int]
) -> dict[int, tuple[Scene, Scene | None]]:
    """The scenes (and style references) at these indices, rendered or read again."""
    found: dict[int, tuple[Scene, Scene | None]] = {}
    if factory is not None:
        for i in sorted(wanted):
            scene = factory.scene(i)
            if scene is not None:
                found[i] = (scene, factory.style_reference(i, scene))
    elif wanted:  # files: one pass from the start, as far as the last one wanted
        for i, (scene, ref) in enumerate(_scene_stream(data, None, fonts, 0)):
            if i in wanted and scene is not None:
                found[i] = (scene, ref)
            if i >= max(wanted):
                break
    if len(found) != len(wanted):
        raise RuntimeError(
            f"scenes {sorted(wanted - set(found))} of the checkpoint's data position are "
            "gone from the data (files changed?); start the stage over"
        )
    return found


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
        raise ValueError(
            f"unknown data.source {data.source!r}; use factory, wds, anyword or batches"
        )
    for i, scene in enumerate(stream):
        if i >= start:
            yield scene, None
