"""Top-1 face of the style estimator on factory edit pairs whose face is known.

Draw the pairs with the factory (train-split fonts, so every pair's face is a candidate):

    glyphgen synth --preset edits --num 200 --seed 777 --out out/style-faces --workers 1
    python bench/style_faces.py --labels out/style-faces/labels.jsonl

Each pair whose source shows text A: the classical edit's step 1 finds A's pixels, then
``glyphgen.edit.style.estimate_style`` is given A's text (from the pair) and picks a face
among the library's; the pick is right when it is the face the factory drew A's line in.
Writes ``bench/results/style_faces.{json,md}`` with machine, date and command.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from glyphgen.benchmark.machine import machine_info
from glyphgen.edit import classical as ce
from glyphgen.images import open_image
from glyphgen.paths import REPO_ROOT
from glyphgen.typeset.fonts import FontLibrary


def measure(labels: Path, limit: int | None) -> dict:
    fonts = FontLibrary.load(progress=False)
    root = labels.parent
    picks: list[bool] = []
    confusion: Counter[tuple[str, str]] = Counter()
    for line in labels.read_text(encoding="utf-8").splitlines()[:limit]:
        rec = json.loads(line)
        e, text = rec["edit"], rec["texts"][0]
        if not e["text_a"] or len({c["font"] for c in text["chars"]}) > 1:
            continue  # a blank source, or a line drawn with a fallback face
        source = open_image(root / e["source"])
        polygon = np.array(text["polygon"], np.float64)
        vertical = text["direction"] == "vertical"
        done = ce.classical_edit(
            source, polygon, e["text_b"], fonts, vertical=vertical, old_text=e["text_a"]
        )
        if not done.found_text:
            picks.append(False)
            confusion[(text["font"], "not found")] += 1
            continue
        style = done.style
        picks.append(style.face == text["font"])
        confusion[(text["font"], style.face)] += 1
    return {
        "labels": str(labels),
        "pairs": len(picks),
        "top1": float(np.mean(picks)) if picks else float("nan"),
        "confusion": [{"true": t, "picked": p, "n": n} for (t, p), n in sorted(confusion.items())],
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--labels", type=Path, required=True, help="labels.jsonl of factory edit pairs")
    ap.add_argument("--limit", type=int, help="only the first N pairs")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results" / "style_faces")
    args = ap.parse_args()
    if not args.labels.is_file():
        sys.exit(f"{args.labels} is not a file: draw pairs with `glyphgen synth --preset edits`")
    result = measure(args.labels, args.limit)
    m = machine_info()
    command = "python bench/style_faces.py " + " ".join(sys.argv[1:])
    result["machine"] = m
    lines = [
        "# Style estimator: top-1 face on factory edit pairs",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores; {m['date']}. Command: `{command}`.",
        "",
        f"Pairs with text A in one face: {result['pairs']}; top-1 face: **{result['top1']:.3f}**.",
        "",
        "| face drawn | face picked | pairs |",
        "|---|---|---:|",
        *(f"| {r['true']} | {r['picked']} | {r['n']} |" for r in result["confusion"]),
    ]
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
