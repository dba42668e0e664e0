"""Saving and loading the recognizer: safetensors weights, the vocabulary and a manifest.

A model folder holds ``model.safetensors`` (fp16 tensors, so the file stays small),
``vocab.txt`` (one character per line, class k + 1 = line k) and ``manifest.json`` (network
config, training legs, data seeds, metrics, the command that reproduces it). Only
safetensors is ever loaded: a folder holding a pickle file is refused
(``glyphgen.safeweights``), so a weights file cannot run code.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from glyphgen.paths import data_path
from glyphgen.reader.net import LineRecognizer, NetConfig
from glyphgen.reader.vocab import Vocabulary
from glyphgen.safeweights import check_manifest, is_pickle, refusal, refuse_pickles

BUNDLED = data_path("weights", "reader")
WEIGHTS = "model.safetensors"


def save_model(
    folder: Path, model: LineRecognizer, vocab: Vocabulary, manifest: dict[str, Any]
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()
             if v.is_floating_point()}  # fmt: skip
    save_file(state, str(folder / WEIGHTS))
    vocab.save(folder / "vocab.txt")
    digest = hashlib.sha256((folder / WEIGHTS).read_bytes()).hexdigest()
    full = {**manifest, "net": model.cfg.to_dict(), "vocabulary_size": vocab.size,
            "sha256": {WEIGHTS: digest}}  # fmt: skip
    (folder / "manifest.json").write_text(
        json.dumps(full, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def load_model(folder: Path | None = None) -> tuple[LineRecognizer, Vocabulary, dict[str, Any]]:
    """The model in ``folder`` (default: the bundled one), in eval mode, on the CPU."""
    folder = Path(folder) if folder is not None else BUNDLED
    if folder.is_file():
        if folder.suffix != ".safetensors":
            if is_pickle(folder):
                raise refusal([folder], WEIGHTS)
            raise ValueError(
                f"{folder}: only safetensors weights are loaded (a .pt/.bin/.ckpt pickle can run "
                "code); give the folder holding model.safetensors, vocab.txt, manifest.json"
            )
        folder = folder.parent
    refuse_pickles(folder, WEIGHTS)
    check_manifest(folder)
    weights = folder / WEIGHTS
    if not weights.is_file():
        raise FileNotFoundError(
            f"no recognizer weights at {weights}: train them with `glyphgen train-reader` "
            f"or point at a folder holding {WEIGHTS}, vocab.txt and manifest.json"
        )
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    vocab = Vocabulary.load(folder / "vocab.txt")
    net = {**manifest["net"], "widths": tuple(manifest["net"]["widths"])}
    cfg = NetConfig(**net)
    if cfg.num_classes != vocab.size:
        raise ValueError(
            f"{folder}: vocab.txt has {vocab.size - 1} characters but the weights have "
            f"{cfg.num_classes - 1} classes: the two files are from different models"
        )
    model = LineRecognizer(cfg)
    state = {k: v.float() for k, v in load_file(str(weights)).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    real_missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if real_missing or unexpected:
        raise ValueError(
            f"{weights}: tensors do not match the network: {real_missing or unexpected}"
        )
    return model.eval(), vocab, manifest


def identity(manifest: dict[str, Any], folder: Path | str | None = None) -> dict[str, Any]:
    """Which recognizer this is, for the records of what it judged or trained: the folder,
    its steps and its weights' sha256 (the bundled model gets retrained)."""
    return {
        "weights": str(folder or "glyphgen/data/weights/reader (bundled)"),
        "steps": manifest.get("steps"),
        "sha256": manifest.get("sha256", {}).get(WEIGHTS),
    }
