"""HTTP for the try-it page: static files, preset backgrounds, and ``POST /api/render``
(JSON in, JSON out). Standard library only; all work is ``studio.Studio``'s."""

from __future__ import annotations

import json
import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from glyphgen.paths import REPO_ROOT
from glyphgen.web.studio import AskError, Studio, png_bytes

STATIC = Path(__file__).resolve().parent / "static"
# The page's CJK font, served by us: a browser without CJK fonts would show boxes.
UI_FONT = REPO_ROOT / "fonts" / "noto-sans-sc.otf"
MAX_BODY = 16 * 1024 * 1024  # bytes of a render request (an uploaded background inside)
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css"}
log = logging.getLogger(__name__)


def make_handler(studio: Studio) -> type[BaseHTTPRequestHandler]:
    presets = {name: png_bytes(image) for name, image in studio.presets.items()}

    class Handler(BaseHTTPRequestHandler):
        server_version = "glyphgen"

        def log_message(self, format: str, *args: Any) -> None:
            log.info("%s %s", self.address_string(), format % args)

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, obj: dict[str, Any]) -> None:
            self._send(status, json.dumps(obj, ensure_ascii=False).encode(), "application/json")

        def do_GET(self) -> None:
            path = unquote(self.path.split("?", 1)[0])
            if path in ("/", "/index.html"):
                path = "/static/index.html"
            if path == "/api/info":
                info = {"presets": list(presets), "weights": str(studio.weights)}
                self._json(HTTPStatus.OK, info)
            elif path == "/font/ui.otf" and UI_FONT.is_file():
                self._send(HTTPStatus.OK, UI_FONT.read_bytes(), "font/otf")
            elif path.startswith("/presets/") and path.endswith(".png"):
                name = path[len("/presets/") : -len(".png")]
                if name in presets:
                    self._send(HTTPStatus.OK, presets[name], "image/png")
                else:
                    self._json(HTTPStatus.NOT_FOUND, {"error": f"no preset {name!r}"})
            elif path.startswith("/static/") and (STATIC / path[len("/static/") :]).is_file():
                file = STATIC / path[len("/static/") :]
                if file.resolve().parent != STATIC:
                    self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})
                    return
                self._send(HTTPStatus.OK, file.read_bytes(), TYPES.get(file.suffix, "text/plain"))
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"nothing at {path}"})

        def do_POST(self) -> None:
            if self.path != "/api/render":
                self._json(HTTPStatus.NOT_FOUND, {"error": f"nothing to POST at {self.path}"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                message = f"request of {length} bytes; at most {MAX_BODY} (a smaller background)"
                self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": message})
                return
            try:
                payload = json.loads(self.rfile.read(length) or b"{}")
                if not isinstance(payload, dict):
                    raise AskError("send a JSON object with background, box and text")
                self._json(HTTPStatus.OK, studio.render(payload))
            except json.JSONDecodeError as exc:
                self._json(HTTPStatus.BAD_REQUEST, {"error": f"request is not JSON: {exc}"})
            except AskError as exc:
                self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})

    return Handler


def serve(studio: Studio, host: str = "127.0.0.1", port: int = 8765) -> ThreadingHTTPServer:
    """A started server (in a daemon thread); ``server.server_address`` has the real port."""
    server = ThreadingHTTPServer((host, port), make_handler(studio))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
