"""``glyphgen train-reader``: train (or resume) the project's line recognizer."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

EXAMPLES = """examples:
  glyphgen train-reader --out runs/reader                 # defaults; resumes if run exists
  glyphgen train-reader --config my-reader.yaml --out runs/reader --set steps=20000
  glyphgen train-reader --out runs/reader --set batch_size=32 --set workers=2
  glyphgen train-reader --out runs/wide --set init=weights/reader --set net.hidden=384
      (continues weights/reader on a wider net: its training so far is kept, Net2Net-style)
The exported model lands in OUT/model (model.safetensors, vocab.txt, manifest.json);
copy it to glyphgen/data/weights/reader/ to make it the bundled judge
(glyphgen eval --backend glyphgen).
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train-reader",
        help="train the project's own text-line recognizer on factory lines",
        description="Train glyphgen's CTC line recognizer on lines rendered on the fly by the "
        "factory (every GB2312 character many times, training fonts only). Resumable: run the "
        "same command again after an interruption.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", type=Path, help="YAML with ReaderTrainConfig keys")
    p.add_argument("--out", type=Path, default=Path("runs/reader"), help="run folder")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set steps=5000 (repeatable)")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--export",
        type=Path,
        metavar="DIR",
        help="only export the run's last checkpoint as a model folder into DIR, then exit",
    )
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    from glyphgen.configio import ConfigError
    from glyphgen.reader.config import load_reader_config
    from glyphgen.reader.train import export_run, train

    if args.export:
        if not (args.out / "state.json").exists():
            print(f"glyphgen train-reader: no checkpoint in {args.out} to export", file=sys.stderr)
            return 2
        print(f"model: {export_run(args.out, args.export)}")
        return 0

    try:
        cfg = load_reader_config(args.config, args.set)
    except (ConfigError, ValueError) as exc:
        print(f"glyphgen train-reader: {exc}", file=sys.stderr)
        return 2
    command = "glyphgen " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    out = train(cfg, args.out, command=command, quiet=args.quiet)
    print(f"model: {out}")
    return 0
