"""HTTP for the try-it page: static files, preset backgrounds, and ``POST /api/render``
(JSON in, JSON out). Standard library only; all work is ``studio.Desk``'s.

Built to face a hostile or overloaded network as well as the page:

- a fixed pool of ``workers`` threads takes connections from a queue of ``queue`` places;
  when both are full, the connection is answered 503 at once (threads never grow with load),
  and one more thread keeps refused connections open until their clients have sent their
  request (closing earlier resets the connection, and the client never reads its 503);
- a request's headers and body must arrive within ``read_timeout_s`` all together (a client
  sending a byte a minute gets 408), and at most ``max_body`` bytes are ever read;
- every answer is JSON, errors included; an unexpected exception is a logged 500, never a
  dropped connection;
- ``guard`` checks Host, Origin, Content-Type and Content-Length before the body is read.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import queue
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote

from glyphgen.paths import REPO_ROOT
from glyphgen.web.guard import (
    WILDCARD_HOSTS,
    Refused,
    Served,
    body_length,
    check_host,
    check_json_type,
    check_origin,
)
from glyphgen.web.studio import AskError, Busy, Desk, png_bytes

STATIC = Path(__file__).resolve().parent / "static"
# The page's CJK font, served by us: a browser without CJK fonts would show boxes.
UI_FONT = REPO_ROOT / "fonts" / "noto-sans-sc.otf"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css"}
NOT_FOUND = {"error": "not found"}  # one answer for every missing path: it tells nothing
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerLimits:
    max_body: int = 16 * 1024 * 1024  # bytes of a render request (an uploaded background inside)
    workers: int = 8  # threads that handle requests (renders still run one at a time)
    queue: int = 32  # accepted connections waiting for a worker; past it, 503 at once
    backlog: int = 128  # connections the kernel holds before accept (listen backlog)
    read_timeout_s: float = 30.0  # for a request's headers and body, all together
    write_timeout_s: float = 30.0  # for each write of the answer
    linger_s: float = 2.0  # reading what a client still sends after the answer, before close

    def __post_init__(self) -> None:
        for name in ("max_body", "workers", "queue", "backlog"):
            if getattr(self, name) < 1:
                raise ValueError(f"ServerLimits.{name} = {getattr(self, name)}; must be >= 1")


class _LingeringCloser:
    """Closes answered connections without resetting them, in one thread for them all.

    A socket closed while its client is still sending resets the connection, and the client
    sees a broken pipe instead of the answer it has been sent. So each socket handed here
    (answered, writing shut) stays open until its client closes or ``linger_s`` passes, and
    what the client sends (up to ``max_bytes``: a refused upload is read to its end, or the
    client could not read its answer) is read and dropped. At most ``capacity`` are held at
    once; past that, and after ``stop``, a socket is closed at once.
    """

    def __init__(self, linger_s: float, max_bytes: int, capacity: int) -> None:
        self.linger_s = linger_s
        self.max_bytes = max_bytes
        self.capacity = capacity
        self._lock = threading.Lock()
        self._handed: list[socket.socket] = []  # handed in, not yet taken by the thread
        self._held = 0  # handed in and not yet closed
        self._stopped = False
        self._wake_in, self._wake_out = socket.socketpair()  # a byte here wakes the thread
        for end in (self._wake_in, self._wake_out):
            end.setblocking(False)
        self._thread = threading.Thread(target=self._run, name="glyphgen-serve-closer", daemon=True)
        self._thread.start()

    def close_later(self, sock: socket.socket) -> None:
        with self._lock:
            taken = not self._stopped and self._held < self.capacity
            if taken:
                self._handed.append(sock)
                self._held += 1
        if not taken:
            sock.close()
            return
        self._wake()

    def stop(self) -> None:
        """Close what is held and end the thread (without waiting for it)."""
        with self._lock:
            self._stopped = True
        self._wake()

    def _wake(self) -> None:
        # OSError: the pipe is full (a wake is pending anyway) or already closed
        with contextlib.suppress(OSError):
            self._wake_out.send(b"\0")

    def _release(self, sock: socket.socket) -> None:
        with self._lock:  # the place is free before the client can see the close
            self._held -= 1
        sock.close()

    def _run(self) -> None:
        waiting: dict[socket.socket, tuple[float, int]] = {}  # deadline, bytes dropped
        selector = selectors.DefaultSelector()
        selector.register(self._wake_in, selectors.EVENT_READ)
        try:
            while True:
                timeout = None
                if waiting:
                    soonest = min(deadline for deadline, _ in waiting.values())
                    timeout = max(0.0, soonest - time.monotonic())
                for key, _ in selector.select(timeout):
                    if key.fileobj is self._wake_in:
                        try:
                            while self._wake_in.recv(4096):
                                pass
                        except OSError:  # nothing more to read
                            pass
                        continue
                    sock = cast(socket.socket, key.fileobj)
                    deadline, dropped = waiting[sock]
                    try:
                        chunk = sock.recv(65536)
                    except OSError:
                        chunk = b""
                    if chunk and dropped + len(chunk) <= self.max_bytes:
                        waiting[sock] = (deadline, dropped + len(chunk))
                    else:  # the client closed, failed or sent too much: close now
                        waiting[sock] = (0.0, dropped)
                with self._lock:
                    handed, self._handed = self._handed, []
                    stopped = self._stopped
                for sock in handed:
                    try:
                        if stopped:
                            raise OSError("stopped")
                        sock.setblocking(False)
                        selector.register(sock, selectors.EVENT_READ)
                    except (OSError, ValueError):  # stopping, or a socket already dead
                        self._release(sock)
                        continue
                    waiting[sock] = (time.monotonic() + self.linger_s, 0)
                if stopped:
                    return
                now = time.monotonic()
                for sock in [s for s, (deadline, _) in waiting.items() if deadline <= now]:
                    selector.unregister(sock)
                    del waiting[sock]
                    self._release(sock)
        finally:
            for sock in waiting:
                self._release(sock)
            selector.close()
            self._wake_in.close()
            self._wake_out.close()


class SlowClient(Exception):
    """The request's headers and body did not arrive within the read deadline."""


class _DeadlineReader(io.RawIOBase):
    """The socket's input, refusing to wait past ``deadline`` (``time.monotonic``) in total:
    a per-read timeout alone lets a client send one byte every 29 s forever."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock, self.deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise SlowClient()
        self.sock.settimeout(left)
        try:
            return self.sock.recv_into(buffer)
        except TimeoutError:
            raise SlowClient() from None


def _answer(status: int, obj: dict[str, Any], extra: dict[str, str] | None = None) -> bytes:
    """A whole HTTP/1.0 response for when no handler is there to send one."""
    body = json.dumps(obj, ensure_ascii=False).encode()
    head = [f"HTTP/1.0 {status} {HTTPStatus(status).phrase}", "Content-Type: application/json"]
    head += [f"{k}: {v}" for k, v in (extra or {}).items()]
    head += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    return "\r\n".join(head).encode() + body


def make_handler(desk: Desk, limits: ServerLimits) -> type[BaseHTTPRequestHandler]:
    presets = {name: png_bytes(image) for name, image in desk.presets.items()}
    files: dict[str, tuple[bytes, str]] = {
        f"/static/{f.name}": (f.read_bytes(), TYPES.get(f.suffix, "text/plain"))
        for f in sorted(STATIC.iterdir())
        if f.is_file()
    }
    files["/"] = files["/index.html"] = files["/static/index.html"]
    if UI_FONT.is_file():
        files["/font/ui.otf"] = (UI_FONT.read_bytes(), "font/otf")
    for name, png in presets.items():
        files[f"/presets/{name}.png"] = (png, "image/png")

    class Handler(BaseHTTPRequestHandler):
        server_version = "glyphgen"

        def setup(self) -> None:
            super().setup()
            deadline = time.monotonic() + limits.read_timeout_s
            self.rfile = io.BufferedReader(_DeadlineReader(self.connection, deadline))

        def handle(self) -> None:
            try:
                super().handle()
            except SlowClient:
                message = f"the request did not arrive within {limits.read_timeout_s:g} s"
                self._raw(_answer(HTTPStatus.REQUEST_TIMEOUT, {"error": message}))

        def log_message(self, format: str, *args: Any) -> None:
            log.info("%s %s", self.address_string(), format % args)

        def _raw(self, data: bytes) -> None:
            try:
                self.connection.settimeout(limits.write_timeout_s)
                self.connection.sendall(data)
            except OSError:
                pass  # the client is gone; nobody to tell
            self.close_connection = True

        def _send(
            self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None
        ) -> None:
            self.connection.settimeout(limits.write_timeout_s)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status: int, obj: dict[str, Any], extra: dict[str, str] | None = None):
            body = json.dumps(obj, ensure_ascii=False).encode()
            self._send(status, body, "application/json", extra)

        def send_error(self, code: int, message: str | None = None, explain: str | None = None):
            # http.server's own errors (bad request line, unknown method, ...) as JSON too
            self.log_error("code %d, message %s", code, message)
            self.close_connection = True
            text = message or HTTPStatus(code).phrase
            extra = {"Connection": "close"}
            if code == HTTPStatus.NOT_IMPLEMENTED:  # http.server's answer to an unknown method
                code, extra["Allow"] = HTTPStatus.METHOD_NOT_ALLOWED, "GET, HEAD, POST"
                text = f"method {self.command[:20]!r} not allowed; use GET or POST"
            if self.request_version == "HTTP/0.9":  # nothing parsed: no way to send headers
                self._raw(_answer(code, {"error": text}, extra))
            else:
                self._json(code, {"error": text}, extra)

        def _guarded(self, work: Callable[[], None]) -> None:
            try:
                check_host(self.headers.get("Host"), cast(GlyphServer, self.server).served)
                check_origin(self.headers.get("Origin"), self.headers["Host"])
                work()
            except Refused as exc:
                self.close_connection = True
                self._json(exc.status, {"error": str(exc)})
            except SlowClient:
                raise  # answered 408 by handle()
            except (ConnectionError, TimeoutError):
                log.info("%s went away before the answer was sent", self.address_string())
                self.close_connection = True
            except Exception:  # a bug: say so in the log and to the client, keep serving
                log.exception("error answering %s %s", self.command, self.path[:200])
                self.close_connection = True
                error = "internal error; the server's log has the details"
                self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": error})

        def do_GET(self) -> None:
            self._guarded(self._get)

        def do_HEAD(self) -> None:
            self._guarded(self._get)

        def do_POST(self) -> None:
            self._guarded(self._post)

        def _get(self) -> None:
            # a lookup in a table made at start: no path reaches the file system
            path = unquote(self.path.split("?", 1)[0], errors="replace")
            if path == "/api/info":
                self._json(HTTPStatus.OK, {"presets": list(presets), "weights": desk.label})
            elif found := files.get(path):
                self._send(HTTPStatus.OK, *found)
            else:
                self._json(HTTPStatus.NOT_FOUND, NOT_FOUND)

        def _post(self) -> None:
            if self.path != "/api/render":
                raise Refused(HTTPStatus.NOT_FOUND, NOT_FOUND["error"])
            check_json_type(self.headers.get("Content-Type"))
            length = body_length(self.headers.get_all("Content-Length"), limits.max_body)
            body = self.rfile.read(length)
            if len(body) < length:
                raise Refused(
                    HTTPStatus.BAD_REQUEST,
                    f"the body ended after {len(body)} of {length} bytes (Content-Length)",
                )
            try:
                payload = json.loads(body or b"{}", parse_constant=_no_constant)
            except (ValueError, RecursionError) as exc:
                message = f"request is not JSON: {str(exc)[:200]}"
                raise Refused(HTTPStatus.BAD_REQUEST, message) from exc
            if not isinstance(payload, dict):
                raise Refused(
                    HTTPStatus.BAD_REQUEST, "send a JSON object with background, box and text"
                )
            try:
                self._json(HTTPStatus.OK, desk.render(payload))
            except AskError as exc:
                self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            except Busy as exc:
                retry = {"Retry-After": str(exc.retry_after_s)}
                self._json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": str(exc)}, retry)

    return Handler


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number; send finite numbers")


class GlyphServer(HTTPServer):
    """An HTTP server with a fixed pool of worker threads (see the module docstring)."""

    def __init__(self, address: tuple[str, int], desk: Desk, limits: ServerLimits) -> None:
        self.limits = limits
        self.request_queue_size = limits.backlog  # read by server_activate's listen()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        handler = make_handler(desk, limits)
        super().__init__(address, handler)
        port = int(self.server_address[1])
        names = (socket.gethostname(),) if address[0] in WILDCARD_HOSTS else ()
        self.served = Served(address[0], port, names)
        self._waiting: queue.Queue[tuple[socket.socket, Any] | None] = queue.Queue(limits.queue)
        self._closed = False
        self._workers = [
            threading.Thread(target=self._work, name=f"glyphgen-serve-{k}", daemon=True)
            for k in range(limits.workers)
        ]
        for worker in self._workers:
            worker.start()
        self._closer = _LingeringCloser(limits.linger_s, limits.max_body, capacity=limits.queue)

    def process_request(self, request: Any, client_address: Any) -> None:
        try:
            self._waiting.put_nowait((request, client_address))
        except queue.Full:
            self._refuse(request)

    def _refuse(self, sock: socket.socket) -> None:
        """Answer 503 from the accepting thread without waiting on the client."""
        log.warning("%d workers busy, %d waiting: 503", self.limits.workers, self.limits.queue)
        message = "the server is busy (all workers taken); try again in a few seconds"
        answer = _answer(HTTPStatus.SERVICE_UNAVAILABLE, {"error": message}, {"Retry-After": "5"})
        try:
            sock.settimeout(1.0)  # a fresh socket's send buffer takes this at once
            sock.sendall(answer)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            sock.close()
            return
        self._closer.close_later(sock)  # the client may not have sent its request yet

    def _work(self) -> None:
        while True:
            item = self._waiting.get()
            if item is None:
                return
            request, client_address = item
            try:
                self.finish_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
            finally:
                self._close(request, self.limits.linger_s)

    def _close(self, sock: socket.socket, linger_s: float) -> None:
        """Close after the answer without resetting the connection: closing a socket with
        unread input sends a TCP reset, which can destroy the answer before the client reads
        it. So stop writing, then read and drop what the client still sends (at most
        ``max_body`` bytes for ``linger_s``)."""
        try:
            sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + linger_s
            drained = 0
            while drained <= self.limits.max_body:
                left = deadline - time.monotonic()
                sock.settimeout(max(left, 0.0))  # 0: only what has arrived already
                chunk = sock.recv(65536)
                if not chunk:
                    break
                drained += len(chunk)
        except OSError:  # includes the timeout, and "would block" with no time left
            pass
        finally:
            sock.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.exception("error on the connection from %s", client_address)

    def shutdown(self) -> None:
        """Stop serving, close the socket and end the worker threads."""
        super().shutdown()
        self.server_close()

    def server_close(self) -> None:
        super().server_close()
        if self._closed:
            return
        self._closed = True
        self._closer.stop()
        while True:  # connections nobody will answer now
            try:
                item = self._waiting.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[0].close()
        for _ in self._workers:  # each idle worker takes one and ends; a busy one ends after
            try:  # its request, or with the process (the threads are daemons)
                self._waiting.put_nowait(None)
            except queue.Full:
                break


def serve(
    desk: Desk, host: str = "127.0.0.1", port: int = 8765, limits: ServerLimits = ServerLimits()
) -> GlyphServer:
    """A started server (in a daemon thread); ``server.server_address`` has the real port."""
    server = GlyphServer((host, port), desk, limits)
    threading.Thread(target=server.serve_forever, name="glyphgen-serve", daemon=True).start()
    return server
