"""Training and evaluation lines, rendered on the fly by the factory.

Line ``i`` of a stream is factory sample ``i`` of its config and seed, so a seed range names
its data exactly: training uses ``[seed_start, seed_start + n)`` of one seed, held-out sets
another seed and the held-out font split (recorded in the weights' manifest).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch
from PIL import Image

from glyphgen.reader.net import HEIGHT, WIDTH_STEP
from glyphgen.reader.vocab import Vocabulary
from glyphgen.synth.config import SynthConfig
from glyphgen.synth.render import Renderer
from glyphgen.synth.runner import load_fonts


def to_grey(image: np.ndarray | Image.Image) -> np.ndarray:
    """A line crop (RGB/L array or PIL image, any height) as a HEIGHT-px grey float array."""
    pil = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))
    pil = pil.convert("L")
    w, h = pil.size
    new_w = max(WIDTH_STEP, round(w * HEIGHT / max(h, 1)))
    pil = pil.resize((new_w, HEIGHT), Image.Resampling.BILINEAR)
    return np.asarray(pil, dtype=np.float32) / 255.0


def batch_images(greys: Sequence[np.ndarray]) -> torch.Tensor:
    """Pad grey lines on the right (with each line's own border colour) to one width."""
    width = max(g.shape[1] for g in greys)
    width = -(-width // WIDTH_STEP) * WIDTH_STEP
    out = np.empty((len(greys), 1, HEIGHT, width), np.float32)
    for i, g in enumerate(greys):
        out[i, 0, :, : g.shape[1]] = g
        out[i, 0, :, g.shape[1] :] = np.median(g[:, -2:])  # continue the background
    return torch.from_numpy(out)


@dataclass
class Batch:
    images: torch.Tensor  # (B, 1, HEIGHT, W)
    targets: torch.Tensor  # concatenated class ids
    target_lengths: torch.Tensor  # (B,)
    texts: list[str]
    last_index: int = -1  # the highest factory sample index drawn so far (see ``batches``)


def make_batch(
    greys: Sequence[np.ndarray], texts: Sequence[str], vocab: Vocabulary, last_index: int = -1
) -> Batch:
    ids = [vocab.encode(t) for t in texts]
    return Batch(
        images=batch_images(greys),
        targets=torch.tensor([i for seq in ids for i in seq], dtype=torch.long),
        target_lengths=torch.tensor([len(seq) for seq in ids], dtype=torch.long),
        texts=list(texts),
        last_index=last_index,
    )


class FactoryLines(torch.utils.data.IterableDataset):
    """Samples ``start, start + step, ...`` of a factory line config as (grey, text) pairs.

    Texts the vocabulary cannot encode, and samples the factory skips, are passed over.
    Several DataLoader workers split the indices between them.
    """

    def __init__(self, cfg: SynthConfig, vocab: Vocabulary, start: int, stop: int | None = None):
        if cfg.kind != "line":
            raise ValueError("the recognizer trains on line crops: set kind: line")
        self.cfg, self.vocab, self.start, self.stop = cfg, vocab, start, stop

    def __iter__(self) -> Iterator[tuple[np.ndarray, str, int]]:
        info = torch.utils.data.get_worker_info()
        offset, step = (info.id, info.num_workers) if info else (0, 1)
        renderer = Renderer(self.cfg, load_fonts(self.cfg))
        index = self.start + offset
        while self.stop is None or index < self.stop:
            sample = renderer.render(index)
            here, index = index, index + step
            if sample is None or sample.lines[0].direction != "horizontal":
                continue
            text = "".join(sample.text.split())
            if not text or not self.vocab.covers(text):
                continue
            yield to_grey(sample.pixels), text, here


T = TypeVar("T")


def shuffled(items: Iterable[T], size: int, rng: np.random.Generator) -> Iterator[T]:
    """``items`` through a shuffle buffer of ``size``: each new item takes the place of a
    randomly chosen one, which is yielded. Coverage texts are a sliding window over a
    permutation of the charset, so consecutive lines share characters; the buffer spreads
    them, so a batch holds several hundred different characters instead of a few dozen."""
    buf: list[T] = []
    for item in items:
        if len(buf) < size:
            buf.append(item)
            continue
        j = int(rng.integers(size))
        yield buf[j]
        buf[j] = item
    rng.shuffle(buf)
    yield from buf


def width_buckets(
    items: Iterable[tuple[np.ndarray, str]], batch_size: int, pool: int, rng: np.random.Generator
) -> Iterator[list[tuple[np.ndarray, str]]]:
    """Groups of ``batch_size`` lines of like width: ``pool`` batches' worth of lines at a
    time, sorted by width, cut into batches, yielded in a random order. A batch is padded to
    its widest line, so random batches of 2-12 character lines cost 1.8x the compute of
    their lines; like widths cut that to about 1.07x (bench/results/reader_train_speed.md)."""
    held: list[tuple[np.ndarray, str]] = []

    def cut() -> Iterator[list[tuple[np.ndarray, str]]]:
        count = -(-len(held) // batch_size)  # the last may be short
        order: Iterable[int] = range(count)
        if pool > 1:  # (a pool of one batch stays in stream order, drawing nothing)
            held.sort(key=lambda item: item[0].shape[1])
            order = rng.permutation(count)
        for k in order:
            yield held[k * batch_size : (k + 1) * batch_size]
        held.clear()

    for item in items:
        held.append(item)
        if len(held) == batch_size * pool:
            yield from cut()
    if held:
        yield from cut()


def batches(
    lines: FactoryLines,
    batch_size: int,
    workers: int = 1,
    shuffle: int = 0,
    seed: int = 0,
    bucket: int = 0,
) -> Iterator[Batch]:
    """Endless (or until the stream stops) batches from a line stream, drawn through a
    shuffle buffer of ``shuffle`` lines when it is > 0 (its order seeded by ``seed``), and
    grouped by width over pools of ``bucket`` batches when it is > 1 (``width_buckets``).

    ``Batch.last_index`` is the highest factory index *drawn* so far, buffered lines included:
    a run resumed from it skips what its buffer held, and never sees a line twice."""
    # workers render a pool of batches ahead (the default, two lines, left them idle while
    # the steps ran, and the steps waiting while the next pool was rendered)
    pool = max(1, bucket)
    ahead = max(2, batch_size * pool // workers) if workers > 0 else None
    loader = torch.utils.data.DataLoader(
        lines,
        batch_size=None,
        num_workers=workers,
        persistent_workers=workers > 0,
        prefetch_factor=ahead,
    )
    drawn = [-1]

    def tracked() -> Iterator[tuple[np.ndarray, str]]:
        for grey, text, index in loader:
            drawn[0] = max(drawn[0], int(index))
            yield np.asarray(grey), text

    rng = np.random.default_rng(seed)
    stream: Iterator[tuple[np.ndarray, str]] = tracked()
    if shuffle > 0:
        stream = shuffled(stream, shuffle, rng)
    for group in width_buckets(stream, batch_size, pool, rng):
        greys, texts = zip(*group, strict=True)
        yield make_batch(greys, texts, lines.vocab, drawn[0])
