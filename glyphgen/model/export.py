"""Ship a trained pipeline: a run's ``weights`` folder rewritten in fp16 (every safetensors
file under 16 MB for the repository), with the run's manifest, the files' hashes and, when
given, the benchmark figures of the weights being shipped.

Loading is unchanged: ``GlyphPipeline.from_pretrained`` (safetensors only) upcasts the fp16 tensors to the
model's fp32 (the largest change of a weight is half a unit in the 11th bit).
"""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
from pathlib import Path
from typing import Any

import torch

from glyphgen.model.config import SAMPLING_RULES

MAX_FILE_BYTES = 16 * 1024 * 1024


class ExportError(ValueError):
    """The run, its weights or the benchmark file cannot be exported as asked."""


def file_table(folder: Path) -> dict[str, dict[str, Any]]:
    return {
        str(p.relative_to(folder)): {
            "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
            "bytes": p.stat().st_size,
        }
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


def benchmark_row(results: Path, name: str) -> dict[str, Any]:
    """The row ``name`` of a benchmark.json (glyphgen bench glyph): its summary, groups,
    timing, the set and the command that measured it."""
    data = json.loads(results.read_text(encoding="utf-8"))
    rows = {r["name"]: r for r in data.get("rows", [])}
    if name not in rows:
        raise ExportError(f"{results} has no row {name!r}; its rows: {sorted(rows)}")
    row = rows[name]
    return {
        "benchmark": str(results),
        "row": name,
        "summary": row.get("summary"),
        "groups": row.get("groups"),
        "timing": row.get("timing"),
        "set": data.get("set"),
        "measured_by": data.get("command"),
        "machine": data.get("machine"),
    }


def export_weights(
    src: Path,
    dst: Path,
    *,
    metrics: dict[str, Any] | None = None,
    extra: dict | None = None,
    strength: float | None = None,
    draft: str | None = None,
    steps: int | None = None,
) -> Path:
    """Write the pipeline in ``src`` (a run's ``weights`` or ``weights-<stage>``) to ``dst``
    in fp16 with ``manifest.json``; ``dst`` is replaced only once the new folder is whole.
    ``strength``, ``draft``, ``steps``: the shipped pipeline's default sampling strength,
    draft and denoising steps (``GlyphPipeline``)."""
    from diffusers.utils.logging import disable_progress_bar

    from glyphgen.cmdline import command_line
    from glyphgen.model.pipeline import GlyphPipeline
    from glyphgen.safeweights import PickleWeightsRefused, WeightsChanged

    src, dst = Path(src), Path(dst)
    if not (src / "model_index.json").is_file():
        raise ExportError(
            f"{src} is not a trained pipeline folder (no model_index.json); train one with "
            "`glyphgen train --config cpu --out RUN` and export RUN/weights"
        )
    if strength is not None:
        try:
            strength = SAMPLING_RULES["strength"](strength)
        except ValueError as exc:
            raise ExportError(f"--strength {exc}") from None
    manifest: dict[str, Any] = {}
    if (src / "manifest.json").is_file():
        manifest = json.loads((src / "manifest.json").read_text(encoding="utf-8"))
    disable_progress_bar()
    try:
        pipe = GlyphPipeline.from_pretrained(src, dtype=torch.float16)
    except (PickleWeightsRefused, WeightsChanged) as exc:
        raise ExportError(str(exc)) from exc
    if strength is not None:
        pipe.register_to_config(default_strength=strength)
    if draft is not None:
        pipe.register_to_config(default_draft=pipe.resolve_draft(draft))
    if steps is not None:
        try:
            pipe.register_to_config(default_steps=pipe.resolve_steps(steps))
        except ValueError as exc:
            raise ExportError(f"--steps: {exc}") from exc
    tmp = dst.with_name(dst.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    pipe.save_pretrained(tmp)
    too_big = [p for p in tmp.rglob("*.safetensors") if p.stat().st_size > MAX_FILE_BYTES]
    if too_big:
        shutil.rmtree(tmp)
        raise ExportError(f"fp16 files over 16 MB: {[str(p) for p in too_big]}; a smaller model")
    if "command" in manifest:  # the run's, as a person would retype it
        manifest["command"] = command_line(shlex.split(manifest["command"]))
    manifest.update(extra or {})
    manifest["dtype"] = "float16"
    manifest["default_strength"] = float(pipe.config.get("default_strength", 1.0))
    manifest["default_draft"] = pipe.resolve_draft()
    manifest["default_steps"] = pipe.resolve_steps()
    manifest["exported_from"] = str(src)
    if metrics is not None:
        manifest["metrics"] = metrics
    manifest["files"] = file_table(tmp)
    (tmp / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    shutil.rmtree(dst, ignore_errors=True)
    tmp.rename(dst)
    return dst
