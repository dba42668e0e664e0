"""``glyphgen serve``: start the try-it page."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from glyphgen.cmdline import fail

SERVE_EXAMPLES = """\
examples:
  glyphgen serve                                  # http://127.0.0.1:8765, default weights
  glyphgen serve --port 9000 --weights out/model/weights
  glyphgen serve --host 0.0.0.0                   # reachable from other machines (by IP)

Open the address, pick or upload a background, drag a box over it, type the text and press
Render: the page shows the result and what the evaluator's OCR read in the box (PP-OCRv4,
or the project's reader for characters PP-OCRv4 cannot output).

Limits: a request of at most 16 MB; a background of at most 2048x2048 pixels; a box at least
12 pixels a side and at most 24:1; one render at a time (a request that waits 20 s for the
model gets 503 with Retry-After); 8 requests handled at once and 32 waiting, then 503. Only
the page itself may post: other Host names (except IP addresses with --host 0.0.0.0) and
cross-origin pages get 403.
"""


def register(sub: argparse._SubParsersAction) -> None:
    from glyphgen.model.config import DEFAULT_WEIGHTS

    s = sub.add_parser(
        "serve",
        help="a web page to try the glyph model, with the evaluator's verdict",
        description="Serve a page that renders text into a box you drag on a background.",
        epilog=SERVE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("--host", default="127.0.0.1", help="address to listen on")
    s.add_argument("--port", type=int, default=8765, help="port (0: any free one)")
    s.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, help="trained pipeline folder")
    s.add_argument("--font-dir", action="append", default=[], type=Path, help="extra font folder")
    s.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    if not (args.weights / "model_index.json").is_file():
        return fail(
            f"{args.weights} is not a trained pipeline folder (no model_index.json); "
            "pass --weights RUN/weights from `glyphgen train`"
        )
    from glyphgen.web.server import serve
    from glyphgen.web.studio import Studio

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(f"loading {args.weights} ...", flush=True)
    from glyphgen.eval.backends import BackendUnavailable
    from glyphgen.render import FontsUnavailable, ModelUnavailable

    try:
        studio = Studio(args.weights, font_dirs=args.font_dir)
    except FontsUnavailable as exc:
        return fail(f"--font-dir: {exc}")
    except (ModelUnavailable, BackendUnavailable, ValueError) as exc:
        # no model; the judge cannot load; weights that differ from their manifest
        return fail(str(exc))
    try:
        server = serve(studio, args.host, args.port)
    except OSError as exc:
        return fail(f"cannot listen on {args.host}:{args.port} ({exc}); try another --port")
    host, port = str(server.server_address[0]), int(server.server_address[1])
    host = f"[{host}]" if ":" in host else host
    print(f"glyphgen serve: http://{host}:{port}  (Ctrl-C stops)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.shutdown()
    return 0
