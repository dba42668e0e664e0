"""Build the glyph benchmark's fixed line set (deterministic; the committed files are its output).

    python eval/benchmark/build_set.py            # writes lines.jsonl and lines.txt here
    python eval/benchmark/build_set.py --check    # exit 1 if the committed files differ

``lines.jsonl``: one item per line with its groups; ``lines.txt``: the same texts, one per
line, the factory's corpus (``text.order: sequential``: scene i draws line i).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from glyphgen.model.benchmark_set import build_items, dumps_items, dumps_texts
from glyphgen.paths import REPO_ROOT
from glyphgen.synth.text import load_corpus

HERE = Path(__file__).resolve().parent
CORPORA = [
    REPO_ROOT / "eval" / "common_phrases.txt",
    REPO_ROOT / "synth_data/corpora/signboards.txt",
]


def expected_files() -> dict[Path, str]:
    items = build_items([load_corpus([str(p)]) for p in CORPORA])
    return {HERE / "lines.jsonl": dumps_items(items), HERE / "lines.txt": dumps_texts(items)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    stale = []
    for path, text in expected_files().items():
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path} ({text.count(chr(10))} lines)")
    for path in stale:
        print(f"{path} differs from what build_set.py makes; run it again", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
