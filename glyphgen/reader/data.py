"""Training and evaluation lines, rendered on the fly by the factory.

Line ``i`` of a stream is factory sample ``i`` of its config and seed, so a seed range names
its data exactly: training uses ``[seed_start, seed_start + n)`` of one seed, held-out sets
another seed and the held-out font split (recorded in the weights' manifest).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Generic, TypeVar

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
    position: StreamPosition | None = None  # where its stream stood after it (``batches``)


def make_batch(
    greys: Sequence[np.ndarray],
    texts: Sequence[str],
    vocab: Vocabulary,
    last_index: int = -1,
    position: StreamPosition | None = None,
) -> Batch:
    ids = [vocab.encode(t) for t in texts]
    return Batch(
        images=batch_images(greys),
        targets=torch.tensor([i for seq in ids for i in seq], dtype=torch.long),
        target_lengths=torch.tensor([len(seq) for seq in ids], dtype=torch.long),
        texts=list(texts),
        last_index=last_index,
        position=position,
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
        self._renderer: Renderer | None = None  # made in the process that renders

    def line(self, index: int) -> tuple[np.ndarray, str] | None:
        """Factory sample ``index`` as a grey line and its text; None where the factory
        skips it, it is not horizontal or the vocabulary cannot encode its text."""
        if self._renderer is None:
            self._renderer = Renderer(self.cfg, load_fonts(self.cfg))
        sample = self._renderer.render(index)
        if sample is None or sample.lines[0].direction != "horizontal":
            return None
        text = "".join(sample.text.split())
        if not text or not self.vocab.covers(text):
            return None
        return to_grey(sample.pixels), text

    def __iter__(self) -> Iterator[tuple[np.ndarray, str, int]]:
        info = torch.utils.data.get_worker_info()
        offset, step = (info.id, info.num_workers) if info else (0, 1)
        index = self.start + offset
        while self.stop is None or index < self.stop:
            line = self.line(index)
            if line is not None:
                yield (*line, index)
            index += step


class _IndexOrder(torch.utils.data.IterableDataset):
    """Lines at ``replay``'s indices, then at ``start, start + 1, ...``, as
    ``(grey or None, text, index)``: one item per index, skipped ones too, so that
    DataLoader's round robin over its workers keeps index order whatever their number."""

    def __init__(self, lines: FactoryLines, replay: list[int], start: int):
        self.lines, self.replay, self.start = lines, replay, start

    def __iter__(self) -> Iterator[tuple[np.ndarray | None, str, int]]:
        info = torch.utils.data.get_worker_info()
        k, step = (info.id, info.num_workers) if info else (0, 1)
        n, stop = len(self.replay), self.lines.stop
        while True:
            index = self.replay[k] if k < n else self.start + k - n
            if k >= n and stop is not None and index >= stop:
                return
            line = self.lines.line(index)
            yield (None, "", index) if line is None else (*line, index)
            k += step


T = TypeVar("T")
L = TypeVar("L", bound=tuple)


class ShuffleBuffer(Generic[T]):
    """``size`` items; each new item takes the place of a randomly chosen one, which comes
    out. Its items, slot by slot, and its generator's state are all it is."""

    def __init__(self, size: int, rng: np.random.Generator, items: Iterable[T] = ()):
        self.size, self.rng, self.items = size, rng, list(items)

    def push(self, item: T) -> T | None:
        """The item that leaves for ``item``; None while the buffer is filling."""
        if len(self.items) < self.size:
            self.items.append(item)
            return None
        j = int(self.rng.integers(self.size))
        out, self.items[j] = self.items[j], item
        return out

    def drain(self) -> list[T]:
        """Everything left, shuffled (the end of a finite stream)."""
        self.rng.shuffle(self.items)
        out, self.items = self.items, []
        return out


def shuffled(items: Iterable[T], size: int, rng: np.random.Generator) -> Iterator[T]:
    """``items`` through a ``ShuffleBuffer`` of ``size``. Coverage texts are a sliding
    window over a permutation of the charset, so consecutive lines share characters; the
    buffer spreads them, so a batch holds several hundred different characters instead of a
    few dozen."""
    buffer = ShuffleBuffer[T](size, rng)
    for item in items:
        out = buffer.push(item)
        if out is not None:
            yield out
    yield from buffer.drain()


class WidthPools(Generic[L]):
    """Groups of ``batch_size`` lines (tuples, the grey image first) of like width:
    ``pool`` batches' worth of lines at a time, sorted by width, cut into batches, queued
    in a random order. A batch is padded to its widest line, so random batches of 2-12
    character lines cost 1.8x the compute of their lines; like widths cut that to about
    1.07x (bench/results/reader_train_speed.md)."""

    def __init__(
        self,
        batch_size: int,
        pool: int,
        rng: np.random.Generator,
        held: Iterable[L] = (),
        queued: Iterable[list[L]] = (),
    ):
        self.batch_size, self.pool, self.rng = batch_size, pool, rng
        self.held = list(held)  # lines waiting for their pool to fill, in arrival order
        self.queued = deque(queued)  # batches cut, not yet taken, in order

    def push(self, item: L) -> None:
        self.held.append(item)
        if len(self.held) == self.batch_size * self.pool:
            self.flush()

    def flush(self) -> None:
        """Cut what is held into batches (the last may be short)."""
        held, size = self.held, self.batch_size
        count = -(-len(held) // size)
        order: Iterable[int] = range(count)
        if self.pool > 1 and held:  # (a pool of one batch stays in stream order, drawing nothing)
            held.sort(key=lambda item: item[0].shape[1])
            order = self.rng.permutation(count)
        self.queued.extend(held[k * size : (k + 1) * size] for k in order)
        self.held = []

    def pop(self) -> list[L] | None:
        return self.queued.popleft() if self.queued else None


def width_buckets(
    items: Iterable[L], batch_size: int, pool: int, rng: np.random.Generator
) -> Iterator[list[L]]:
    """``items`` grouped through ``WidthPools``."""
    pools = WidthPools[L](batch_size, pool, rng)
    for item in items:
        pools.push(item)
        while (group := pools.pop()) is not None:
            yield group
    pools.flush()
    while (group := pools.pop()) is not None:
        yield group


@dataclass
class StreamPosition:
    """Where a batch stream stands after a batch, in factory indices: the lines it holds
    are rendered again (line i depends only on the config, seed and i) and it goes on
    exactly as if it had never stopped."""

    next_index: int  # the first factory index not yet drawn
    buffer: list[int]  # the shuffle buffer, slot by slot
    held: list[int]  # lines waiting for their width pool, in arrival order
    queued: list[list[int]]  # batches cut from the last pool, not yet yielded, in order
    rng: dict[str, Any]  # the shuffle and pool generator (numpy bit_generator.state)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StreamPosition:
        return cls(**d)


Line = tuple[np.ndarray, str, int]  # grey, text, factory index


def batches(
    lines: FactoryLines,
    batch_size: int,
    workers: int = 1,
    shuffle: int = 0,
    seed: int = 0,
    bucket: int = 0,
    position: StreamPosition | None = None,
) -> Iterator[Batch]:
    """Endless (or until the stream stops) batches from a line stream, drawn through a
    shuffle buffer of ``shuffle`` lines when it is > 0 (its order seeded by ``seed``), and
    grouped by width over pools of ``bucket`` batches when it is > 1 (``WidthPools``).

    Lines are drawn in index order whatever the number of ``workers``. Each batch carries
    its ``StreamPosition``; a stream given one (``position``, in place of ``lines.start``
    and ``seed``) continues as the stream that yielded it would have. ``Batch.last_index``
    is the highest factory index drawn so far, buffered lines included."""
    rng = np.random.default_rng(seed)
    replay: list[int] = []
    next_index = lines.start
    if position is not None:
        rng.bit_generator.state = position.rng
        replay = [*position.buffer, *position.held, *(i for b in position.queued for i in b)]
        next_index = position.next_index
    # workers render a pool of batches ahead (the default, two lines, left them idle while
    # the steps ran, and the steps waiting while the next pool was rendered)
    pool = max(1, bucket)
    ahead = max(2, batch_size * pool // workers) if workers > 0 else None
    loader = torch.utils.data.DataLoader(
        _IndexOrder(lines, replay, next_index),
        batch_size=None,
        num_workers=workers,
        persistent_workers=workers > 0,
        prefetch_factor=ahead,
        generator=torch.Generator(),  # its worker seeds go unused; the global one untouched
    )
    source = iter(loader)
    again: dict[int, Line] = {}
    for _ in replay:
        grey, text, index = next(source)
        if grey is None:
            raise RuntimeError(
                f"factory line {index} no longer renders as when the stream position was "
                "saved (factory config or fonts changed?); start a new run folder"
            )
        again[int(index)] = (np.asarray(grey), text, int(index))
    # the buffer and pools as the position left them
    was = position or StreamPosition(next_index, [], [], [], {})
    buffer = ShuffleBuffer[Line](shuffle, rng, (again[i] for i in was.buffer))
    pools = WidthPools[Line](
        batch_size,
        pool,
        rng,
        (again[i] for i in was.held),
        ([again[i] for i in g] for g in was.queued),
    )

    def drawn() -> Iterator[Line]:
        """New lines, in index order."""
        nonlocal next_index
        for grey, text, index in source:
            next_index = int(index) + 1
            if grey is not None:
                yield np.asarray(grey), text, int(index)

    new = drawn()
    while True:
        group = pools.pop()
        if group is None:
            item = next(new, None)
            if item is not None:
                out = buffer.push(item) if shuffle > 0 else item
                if out is not None:
                    pools.push(out)
                continue
            for out in buffer.drain():  # a finite stream ran out
                pools.push(out)
            pools.flush()
            group = pools.pop()
            if group is None:
                return
        greys, texts, _ = zip(*group, strict=True)
        here = StreamPosition(
            next_index,
            [i for *_, i in buffer.items],
            [i for *_, i in pools.held],
            [[i for *_, i in g] for g in pools.queued],
            dict(rng.bit_generator.state),
        )
        yield make_batch(greys, texts, lines.vocab, next_index - 1, here)
