"""Build the glyph benchmark's fixed line sets (deterministic; the committed files are its output).

    python bench/sets/build_set.py            # writes lines.* and validation.* here
    python bench/sets/build_set.py --check    # exit 1 if the committed files differ

``lines.jsonl``: one item per line with its groups; ``lines.txt``: the same texts, one per
line, the factory's corpus (``text.order: sequential``: scene i draws line i).
``validation.jsonl`` / ``validation.txt``: the same for the validation set, where settings
(the default sampling strength) are chosen; the benchmark set only measures.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from glyphgen.benchmark.glyph_set import (
    build_items,
    build_validation_items,
    dumps_items,
    dumps_texts,
)
from glyphgen.paths import REPO_ROOT
from glyphgen.synth.text import load_corpus

HERE = Path(__file__).resolve().parent
CORPORA = [
    REPO_ROOT / "bench" / "sets" / "common_phrases.txt",
    REPO_ROOT / "glyphgen/data/corpora/signboards.txt",
]


# The validation set's lines of real words (tools/make_word_corpus.py): the
# glyph model never trains on this corpus, and no benchmark line is among them.
VALIDATION_CORPUS = REPO_ROOT / "glyphgen/data/corpora/common_words.txt"


def expected_files() -> dict[Path, str]:
    items = build_items([load_corpus([str(p)]) for p in CORPORA])
    validation = build_validation_items(
        load_corpus([str(VALIDATION_CORPUS)]), exclude={it["text"] for it in items}
    )
    return {
        HERE / "lines.jsonl": dumps_items(items),
        HERE / "lines.txt": dumps_texts(items),
        HERE / "validation.jsonl": dumps_items(validation),
        HERE / "validation.txt": dumps_texts(validation),
    }


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
