"""Runs a factory job: plans shards, renders them on local processes or a Ray cluster,
skips shards already complete, merges the per-shard label files and writes a run report.

Workers receive only (config dict, shard plan); each builds its own ``Renderer`` once, so
fonts are loaded once per process, and sample ``i`` comes out the same whatever the worker
count or backend. A run holds its output folder while it lives and its local workers die with
it (``glyphgen.synth.lifetime``), so a killed run can always be resumed.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import shutil
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from glyphgen import configio
from glyphgen.synth import lifetime, writers
from glyphgen.synth import shards as sh
from glyphgen.synth.config import SynthConfig, fingerprint_dict
from glyphgen.synth.model_draw import DrawerFactory
from glyphgen.synth.render import Renderer
from glyphgen.synth.writers.base import atomic_path
from glyphgen.typeset.fonts import FontFileWarning, FontLibrary

log = logging.getLogger(__name__)

BACKENDS = ("local", "ray")


@dataclass
class RunReport:
    out: str
    samples_requested: int
    samples_written: int = 0
    shards_total: int = 0
    shards_rendered: int = 0
    shards_resumed: int = 0  # complete shards found on disk and kept
    temporaries_swept: int = 0  # half-written shards of a killed run, removed
    formats: dict[str, int] = field(default_factory=dict)  # samples written per format
    events: dict[str, int] = field(default_factory=dict)  # skipped texts and why, fallbacks...
    charset_dropped: int = 0  # charset characters no font covers (left out of random texts)
    fonts_skipped: dict[str, str] = field(default_factory=dict)  # font file -> why it was skipped
    # Background images refused (never drawn): path -> kind (too-large, truncated, unreadable,
    # missing); how many draws each kind cost is in events as background_refused_<kind>.
    backgrounds_refused: dict[str, str] = field(default_factory=dict)
    coverage_min: int | None = None  # coverage mode: fewest occurrences of a charset char
    seconds: float = 0.0
    samples_per_second: float = 0.0  # of the shards rendered in this run
    merged: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"output: {self.out}",
            f"samples: {self.samples_written} written of {self.samples_requested} requested",
            f"shards: {self.shards_total} ({self.shards_rendered} rendered now, "
            f"{self.shards_resumed} kept from an earlier run)",
            "formats: " + ", ".join(f"{k}={v}" for k, v in self.formats.items()),
            f"time: {self.seconds:.1f} s, {self.samples_per_second:.1f} samples/s",
        ]
        if self.events:
            lines.append("events: " + ", ".join(f"{k}={v}" for k, v in sorted(self.events.items())))
        if self.fonts_skipped:
            lines.append(
                f"fonts: {len(self.fonts_skipped)} font file(s) skipped (reasons in report.json): "
                + ", ".join(Path(p).name for p in sorted(self.fonts_skipped))
            )
        if self.backgrounds_refused:
            kinds = Counter(self.backgrounds_refused.values())
            lines.append(
                f"backgrounds: {len(self.backgrounds_refused)} image(s) refused ("
                + ", ".join(f"{k}={v}" for k, v in sorted(kinds.items()))
                + "), named in report.json"
            )
        if self.charset_dropped:
            lines.append(f"charset: {self.charset_dropped} characters no font covers were left out")
        if self.coverage_min is not None:
            lines.append(f"coverage: every charset character appears >= {self.coverage_min} times")
        if self.temporaries_swept:
            lines.append(f"resume: removed {self.temporaries_swept} half-written shard(s)")
        if self.merged:
            lines.append("labels: " + ", ".join(self.merged))
        return "\n".join(lines)


# -- worker side ----------------------------------------------------------------------------
_RENDERERS: dict[str, Renderer] = {}
_PARENT: int | None = None  # in a local pool worker: the run's main process


def _init_pool_worker(parent_pid: int) -> None:
    global _PARENT
    _PARENT = parent_pid
    lifetime.die_with_parent(parent_pid)


def _renderer(
    cfg_dict: dict[str, Any], base_dir: str | None, drawer: DrawerFactory | None = None
) -> Renderer:
    key = json.dumps([cfg_dict, None if drawer is None else drawer.__qualname__], sort_keys=True)
    if key not in _RENDERERS:
        _RENDERERS.clear()
        cfg = configio.from_dict(SynthConfig, cfg_dict)
        with warnings.catch_warnings():  # the main process warned already, and reports them
            warnings.simplefilter("ignore", FontFileWarning)
            fonts = load_fonts(cfg)
        _RENDERERS[key] = Renderer(cfg, fonts, Path(base_dir) if base_dir else None, drawer)
    return _RENDERERS[key]


def load_fonts(cfg: SynthConfig) -> FontLibrary:
    return FontLibrary.load(
        [Path(d) for d in cfg.fonts.dirs], include_bundled=cfg.fonts.bundled, split=cfg.fonts.split
    )


def render_shard(
    cfg_dict: dict[str, Any],
    base_dir: str | None,
    out: str,
    plan: sh.ShardPlan,
    fp: str,
    drawer: DrawerFactory | None = None,
) -> dict[str, Any]:
    """Render, write and seal one shard; returns its manifest info. Runs in a worker."""
    renderer = _renderer(cfg_dict, base_dir, drawer)
    cfg = renderer.cfg
    out_dir = Path(out)
    tmp = sh.temp_dir(out_dir, plan)
    started = time.perf_counter()
    before = Counter(renderer.stats)
    chars: Counter[str] = Counter()
    refused: dict[str, str] = {}
    try:
        shard_writers = writers.open_writers(cfg.output.formats, tmp, plan.rel, cfg.kind)
        written = 0
        for index in range(plan.start, plan.stop):
            lifetime.check_parent(_PARENT)
            sample = renderer.render(index)
            if sample is None:
                continue
            shard_writers.add(sample)
            written += 1
            refused.update(sample.meta.get("bg", {}).get("refused", {}))
            if cfg.text.source == "coverage":
                chars.update(c for line in sample.lines for c in line.text)
        counts = shard_writers.close()
        info: dict[str, Any] = {
            "samples": written,
            "formats": counts,
            "events": dict(Counter(renderer.stats) - before),
            "seconds": round(time.perf_counter() - started, 3),
        }
        if refused:
            info["backgrounds_refused"] = refused
        if cfg.text.source == "coverage":
            info["chars"] = dict(chars)
        lifetime.check_parent(_PARENT)  # an orphan never seals: the resumed run owns the folder
        sh.seal(tmp, out_dir, plan, fp, info)
    except OSError as exc:  # disk full, quota, I/O error: one line, not a worker's traceback
        shutil.rmtree(tmp, ignore_errors=True)
        raise WriteFailed(f"shard {plan.rel}: {_os_error(exc, tmp)}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return info


class WriteFailed(RuntimeError):
    """A file of the run could not be written or read back (disk full, quota, an I/O error,
    a read-only folder). Raised by workers with one line (it crosses process boundaries);
    the driver adds what was kept: :class:`SynthWriteError`."""


class SynthWriteError(RuntimeError):
    """A run stopped by a write error; the message names the path and the shards kept."""


def _os_error(exc: OSError, fallback: Path) -> str:
    where = exc.filename if exc.filename is not None else fallback
    reason = exc.strerror or str(exc)
    return f"could not write {where}: {reason}" + (f" (errno {exc.errno})" if exc.errno else "")


def _pool_task(args: tuple) -> tuple[sh.ShardPlan, dict[str, Any]]:
    plan = args[3]
    return plan, render_shard(*args)


# -- driver side ----------------------------------------------------------------------------
def run(
    cfg: SynthConfig,
    out: Path,
    workers: int = 1,
    backend: str = "local",
    base_dir: Path | None = None,
    overwrite: bool = False,
    verify: str = "size",
    ray_address: str | None = None,
    progress: bool = True,
    drawer: DrawerFactory | None = None,
) -> RunReport:
    """Render ``cfg`` into ``out``. drawer: what redraws the regions ``model_draw`` picks
    (``glyphgen.render.model_drawn.ModelDrawer``; a module-level class or function, handed
    to every worker)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; use one of {list(BACKENDS)}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    writers.validate_formats(cfg.output.formats, cfg.kind)
    started = time.perf_counter()
    probe = Renderer(
        cfg, load_fonts(cfg), base_dir, drawer
    )  # fails fast on bad fonts/charsets/corpora
    num = probe.text_source.samples_for_coverage() if cfg.num == 0 else cfg.num
    if num == 0:
        raise ValueError("num is 0: pass --num N")
    try:
        with lifetime.hold_folder(out):  # until the end: no other run may sweep or merge here
            cfg_dict = configio.to_dict(cfg)
            fp_source = {**fingerprint_dict(cfg), "fonts": sorted(f.id for f in probe.faces)}
            fp = sh.fingerprint(fp_source)
            cleared = sh.check_run_manifest(out, fp, fp_source, overwrite)
            if cleared is not None:  # --overwrite: the other run's merged labels would be stale
                old_formats = cleared.get("output", {}).get("formats", [])
                writers.remove_merged(old_formats, out)
                (out / "report.json").unlink(missing_ok=True)
            report = RunReport(out=str(out), samples_requested=num)
            report.temporaries_swept = sh.sweep_temporaries(out)
            report.charset_dropped = probe.charset_dropped
            report.fonts_skipped = dict(probe.fonts.skipped)
            plans = sh.plan_shards(num, cfg.output.shard_size)
            files, images = writers.shard_layout(cfg.output.formats)

            def complete(plan: sh.ShardPlan, mode: str) -> bool:
                return sh.is_complete(out, plan, fp, mode, cfg.output.formats, files, images)

            todo = [p for p in plans if not complete(p, verify)]
            report.shards_total, report.shards_resumed = len(plans), len(plans) - len(todo)
            base = str(base_dir) if base_dir else None
            tasks = [(cfg_dict, base, str(out), plan, fp, drawer) for plan in todo]
            bar = tqdm(
                total=sum(p.stop - p.start for p in todo),
                unit="img",
                desc="synth",
                disable=not progress,
                dynamic_ncols=True,
            )
            render_started = time.perf_counter()
            with bar:
                for plan, _info in _execute(tasks, workers, backend, ray_address):
                    bar.update(plan.stop - plan.start)
                    report.shards_rendered += 1
            render_seconds = time.perf_counter() - render_started
            rendered = sum(p.stop - p.start for p in todo)
            report.samples_per_second = rendered / render_seconds if render_seconds > 0 else 0.0
            broken = [p.rel for p in plans if not complete(p, "size")]
            if broken:  # nothing but this run writes here now, so this is a bug or a disk fault
                raise RuntimeError(
                    f"{out}: shard(s) {broken} are not complete after rendering; run the same "
                    "command again to redo them (and report this if it repeats)"
                )
            coverage = probe.text_source.charset if cfg.text.source == "coverage" else ""
            _collect(report, out, plans, coverage)
            report.merged = [
                str(p.relative_to(out))
                for p in writers.merge_outputs(cfg.output.formats, out, [p.rel for p in plans])
            ]
            report.seconds = time.perf_counter() - started
            with atomic_path(out / "report.json") as tmp:  # never a half-written report
                tmp.write_text(
                    json.dumps(configio.to_dict(report), ensure_ascii=False, indent=1),
                    encoding="utf-8",
                )
    except (OSError, WriteFailed) as exc:
        failure = _os_error(exc, out) if isinstance(exc, OSError) else str(exc)
        raise SynthWriteError(_write_failed(out, failure, cfg, num)) from None
    if report.samples_written == 0:
        raise NothingWrittenError(_nothing_written(report))
    return report


def _write_failed(out: Path, failure: str, cfg: SynthConfig, num: int) -> str:
    """The one-line story of a write error: what failed, what is kept, how to go on."""
    plans = sh.plan_shards(num, cfg.output.shard_size)
    try:
        kept = [p for p in plans if (out / p.rel / sh.SHARD_MANIFEST).is_file()]
    except OSError:
        kept = []
    samples = sum(p.stop - p.start for p in kept)
    return (
        f"{out}: {failure}. Kept: {len(kept)} of {len(plans)} shard(s) complete ({samples} "
        f"of {num} samples); the shard(s) being written were not kept. Free some space (or "
        "fix the folder) and run the same command again: it resumes with the missing shards, "
        "byte-identical to an uninterrupted run."
    )


class NothingWrittenError(RuntimeError):
    """Every sample was skipped: the run made no data."""


def _nothing_written(report: RunReport) -> str:
    why = ", ".join(f"{k}={v}" for k, v in sorted(report.events.items())) or "no events"
    return (
        f"0 samples written of {report.samples_requested} requested: every text was skipped "
        f"({why}; details in {Path(report.out) / 'report.json'}). Usually no font covers the "
        "texts' characters: add a font folder that has them (fonts.dirs), set "
        "fonts.on_missing=replace, or change text.charset / text.corpus."
    )


def _collect(
    report: RunReport, out: Path, plans: list[sh.ShardPlan], coverage_charset: str
) -> None:
    """Add up the manifests of every shard (rendered now or earlier)."""
    formats: Counter[str] = Counter()
    events: Counter[str] = Counter()
    chars: Counter[str] = Counter()
    for plan in plans:
        manifest = sh.read_manifest(out / plan.rel) or {}
        report.samples_written += int(manifest.get("samples", 0))
        formats.update(manifest.get("formats", {}))
        events.update(manifest.get("events", {}))
        chars.update(manifest.get("chars", {}))
        report.backgrounds_refused.update(manifest.get("backgrounds_refused", {}))
    report.formats, report.events = dict(formats), dict(events)
    if coverage_charset:
        report.coverage_min = min(chars.get(c, 0) for c in coverage_charset)


def _execute(tasks: list[tuple], workers: int, backend: str, ray_address: str | None):
    if not tasks:
        return
    if backend == "ray":
        yield from _execute_ray(tasks, workers, ray_address)
    elif workers == 1 or len(tasks) == 1:
        for task in tasks:
            yield _pool_task(task)
    else:
        # "spawn" would re-import torch-free modules only; "fork" is faster where it exists.
        method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
        pool = mp.get_context(method).Pool(
            min(workers, len(tasks)), initializer=_init_pool_worker, initargs=(os.getpid(),)
        )
        with pool:
            yield from pool.imap_unordered(_pool_task, tasks)


def _execute_ray(tasks: list[tuple], workers: int, address: str | None):
    try:
        import ray
    except ImportError as exc:
        raise RuntimeError(
            "--backend ray needs Ray: pip install 'glyphgen[ray]' (or pip install 'ray[default]')"
        ) from exc
    started_here = False
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:  # a local instance, sized to --workers
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        started_here = True
    try:
        remote = ray.remote(num_cpus=1, max_retries=2)(_pool_task)
        pending = [remote.remote(task) for task in tasks]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
    finally:
        if started_here:
            ray.shutdown()


def default_workers() -> int:
    return max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )
