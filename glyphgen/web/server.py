"""HTTP for the try-it page: static files, preset backgrounds, and ``POST /api/render``
(JSON in, JSON out). Standard library only; all work is ``studio.Desk``'s.

Built to face a hostile or overloaded network as well as the page:

- one thread, the doorman, holds every new connection until its request's headers have
  arrived (up to ``arriving`` connections; past that, 503 at once): a connection that sends
  nothing never takes a worker, so idle sockets cannot keep a real request waiting;
- a fixed pool of ``workers`` threads takes connections whose headers are in from a queue
  of ``queue`` places; when both are full, the connection is answered 503 (threads never
  grow with load), and the doorman keeps refused and answered connections open until their
  clients have sent the rest (closing earlier resets the connection, and the client never
  reads its answer);
- a request's headers and body must arrive within ``read_timeout_s`` all together (a client
  sending a byte a minute gets 408), and at most ``max_body`` bytes are ever read;
- a client that leaves before its answer is one line in the log, never a traceback;
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

from glyphgen.paths import data_path
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
UI_FONT = data_path("fonts", "noto-sans-sc.otf")
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css"}
NOT_FOUND = {"error": "not found"}  # one answer for every missing path: it tells nothing
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerLimits:
    max_body: int = 16 * 1024 * 1024  # bytes of a render request (an uploaded background inside)
    workers: int = 8  # threads that handle requests (renders still run one at a time)
    queue: int = 32  # requests whose headers are in, waiting for a worker; past it, 503
    arriving: int = 256  # connections whose headers are not all in yet; past it, 503 at once
    max_head: int = 64 * 1024  # bytes of request line and headers
    backlog: int = 128  # connections the kernel holds before accept (listen backlog)
    read_timeout_s: float = 30.0  # for a request's headers and body, all together
    write_timeout_s: float = 30.0  # for each write of the answer
    linger_s: float = 2.0  # reading what a client still sends after the answer, before close

    def __post_init__(self) -> None:
        for name in ("max_body", "workers", "queue", "arriving", "max_head", "backlog"):
            if getattr(self, name) < 1:
                raise ValueError(f"ServerLimits.{name} = {getattr(self, name)}; must be >= 1")


HEAD_ENDS = (b"\r\n\r\n", b"\n\n")  # the blank line after the headers (bare LF too)


@dataclass
class _Held:
    """A connection the doorman holds: arriving (reading its headers into ``data``) or
    closing (answered; what its client still sends is read and dropped, ``dropped`` bytes)."""

    deadline: float  # time.monotonic() when the doorman gives up on it
    arriving: bool
    data: bytearray
    dropped: int = 0
    address: Any = None  # the client's, for the worker


class _Doorman:
    """One thread for every connection that is not a worker's: new ones until their headers
    are in, answered ones until their clients are done.

    ``admit(sock, address, deadline)`` takes a new connection (at most ``arriving`` at once;
    False past that). When its headers are in (or ``max_head`` bytes, or the client closed its
    end), ``on_head(sock, address, head, deadline)`` is called in this thread with the bytes read; when
    the deadline passes first, ``on_late(sock)`` (the 408), then it is closed like an answered
    one. ``close_later(sock)`` takes an answered connection (writing shut): a socket closed
    while its client is still sending resets the connection, and the client sees a broken
    pipe instead of its answer. So it stays open until its client closes or ``linger_s``
    passes, and what the client sends (up to ``max_bytes``: a refused upload is read to its
    end) is dropped. At most ``capacity`` are held so; past that, and after ``stop``, a socket
    is closed at once.
    """

    def __init__(
        self,
        linger_s: float,
        max_bytes: int,
        capacity: int,
        arriving: int = 0,
        max_head: int = 64 * 1024,
        on_head: Callable[[socket.socket, Any, bytes, float], None] | None = None,
        on_late: Callable[[socket.socket], None] | None = None,
    ) -> None:
        self.linger_s = linger_s
        self.max_bytes = max_bytes
        self.capacity = capacity
        self.arriving = arriving
        self.max_head = max_head
        self._on_head = on_head
        self._on_late = on_late
        self._lock = threading.Lock()
        self._handed: list[tuple[socket.socket, _Held]] = []  # not yet taken by the thread
        self._held = 0  # closing: handed in and not yet closed
        self._coming = 0  # arriving: handed in and not yet passed on
        self._stopped = False
        self._wake_in, self._wake_out = socket.socketpair()  # a byte here wakes the thread
        for end in (self._wake_in, self._wake_out):
            end.setblocking(False)
        self._thread = threading.Thread(target=self._run, name="glyphgen-serve-door", daemon=True)
        self._thread.start()

    def admit(self, sock: socket.socket, address: Any, deadline: float) -> bool:
        """Hold a new connection until its headers are in; False when ``arriving`` are held."""
        with self._lock:
            taken = not self._stopped and self._coming < self.arriving
            if taken:
                self._handed.append((sock, _Held(deadline, True, bytearray(), address=address)))
                self._coming += 1
        if taken:
            self._wake()
        return taken

    def close_later(self, sock: socket.socket) -> None:
        with self._lock:
            taken = not self._stopped and self._held < self.capacity
            if taken:
                self._handed.append(
                    (sock, _Held(time.monotonic() + self.linger_s, False, bytearray()))
                )
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

    def _release(self, sock: socket.socket, held: _Held) -> None:
        with self._lock:  # the place is free before the client can see the close
            if held.arriving:
                self._coming -= 1
            else:
                self._held -= 1
        sock.close()

    def _pass_on(self, sock: socket.socket, held: _Held, late: bool) -> None:
        """An arriving connection leaves the doorman: to a worker, or answered 408."""
        with self._lock:
            self._coming -= 1
        try:
            if late:
                if self._on_late is not None:
                    self._on_late(sock)
                self.close_later(sock)
            elif self._on_head is not None:
                self._on_head(sock, held.address, bytes(held.data), held.deadline)
            else:
                sock.close()
        except Exception:  # a bug in a callback must not end the doorman
            log.exception("error passing on a connection")
            sock.close()

    def _read(self, sock: socket.socket, held: _Held) -> bool:
        """Read what has come; True when the connection is done with the doorman."""
        try:
            chunk = sock.recv(65536)
        except BlockingIOError:
            return False
        except OSError:
            chunk = b""
        if held.arriving:
            held.data += chunk
            return (
                not chunk
                or len(held.data) > self.max_head
                or any(e in held.data for e in HEAD_ENDS)
            )
        held.dropped += len(chunk)
        return not chunk or held.dropped > self.max_bytes

    def _run(self) -> None:
        waiting: dict[socket.socket, _Held] = {}
        selector = selectors.DefaultSelector()
        selector.register(self._wake_in, selectors.EVENT_READ)

        def drop(sock: socket.socket) -> _Held:
            selector.unregister(sock)
            return waiting.pop(sock)

        try:
            while True:
                timeout = None
                if waiting:
                    soonest = min(held.deadline for held in waiting.values())
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
                    held = waiting[sock]
                    if not self._read(sock, held):
                        continue
                    drop(sock)
                    if held.arriving and held.data:
                        sock.setblocking(True)
                        self._pass_on(sock, held, late=False)
                    else:  # closing and done, or arriving and the client left before a byte
                        self._release(sock, held)
                with self._lock:
                    handed, self._handed = self._handed, []
                    stopped = self._stopped
                for sock, held in handed:
                    try:
                        if stopped:
                            raise OSError("stopped")
                        sock.setblocking(False)
                        selector.register(sock, selectors.EVENT_READ)
                    except (OSError, ValueError):  # stopping, or a socket already dead
                        self._release(sock, held)
                        continue
                    waiting[sock] = held
                if stopped:
                    return
                now = time.monotonic()
                for sock in [s for s, held in waiting.items() if held.deadline <= now]:
                    held = drop(sock)
                    if held.arriving:
                        sock.setblocking(True)
                        self._pass_on(sock, held, late=True)
                    else:
                        self._release(sock, held)
        finally:
            for sock, held in waiting.items():
                self._release(sock, held)
            selector.close()
            self._wake_in.close()
            self._wake_out.close()


class SlowClient(Exception):
    """The request's headers and body did not arrive within the read deadline."""


class _DeadlineReader(io.RawIOBase):
    """The socket's input, refusing to wait past ``deadline`` (``time.monotonic``) in total:
    a per-read timeout alone lets a client send one byte every 29 s forever."""

    def __init__(self, sock: socket.socket, deadline: float, head: bytes = b"") -> None:
        self.sock, self.deadline = sock, deadline
        self.head = memoryview(head)  # read by the doorman already: given out first

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
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


def _late_answer(limits: ServerLimits) -> bytes:
    message = f"the request did not arrive within {limits.read_timeout_s:g} s"
    return _answer(HTTPStatus.REQUEST_TIMEOUT, {"error": message})


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
            # the doorman read the headers; the deadline counts from the connection's accept
            head, deadline = cast(GlyphServer, self.server).arrival()
            self.rfile = io.BufferedReader(_DeadlineReader(self.connection, deadline, head))

        def handle(self) -> None:
            try:
                super().handle()
            except SlowClient:
                self._raw(_late_answer(limits))
            except (ConnectionError, TimeoutError):  # a broken pipe, a reset: nobody to tell
                log.info("%s went away before the answer was sent", self.address_string())
                self.close_connection = True

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


@dataclass(frozen=True)
class _Arrival:
    """A connection whose headers are in, for a worker."""

    sock: socket.socket
    address: Any
    head: bytes  # what the doorman read: the request line, the headers, maybe body bytes
    deadline: float  # time.monotonic() by which the rest must have come


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
        self._waiting: queue.Queue[_Arrival | None] = queue.Queue(limits.queue)
        self._arrival = threading.local()  # each worker's connection: (head, deadline)
        self._closed = False
        self._workers = [
            threading.Thread(target=self._work, name=f"glyphgen-serve-{k}", daemon=True)
            for k in range(limits.workers)
        ]
        for worker in self._workers:
            worker.start()
        self._door = _Doorman(
            limits.linger_s,
            limits.max_body,
            capacity=limits.queue,
            arriving=limits.arriving,
            max_head=limits.max_head,
            on_head=self._headers_in,
            on_late=self._late,
        )

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._door.admit(
            request, client_address, time.monotonic() + self.limits.read_timeout_s
        ):
            log.warning("%d connections still sending headers: 503", self.limits.arriving)
            self._refuse(request)

    def _headers_in(self, sock: socket.socket, address: Any, head: bytes, deadline: float) -> None:
        """In the doorman's thread: a request's headers are in; to a worker, or 503."""
        try:
            self._waiting.put_nowait(_Arrival(sock, address, head, deadline))
        except queue.Full:
            log.warning("%d workers busy, %d waiting: 503", self.limits.workers, self.limits.queue)
            self._refuse(sock)

    def _late(self, sock: socket.socket) -> None:
        """In the doorman's thread: the headers did not come within the read deadline."""
        with contextlib.suppress(OSError):
            sock.settimeout(1.0)  # a fresh socket's send buffer takes this at once
            sock.sendall(_late_answer(self.limits))
            sock.shutdown(socket.SHUT_WR)

    def _refuse(self, sock: socket.socket) -> None:
        """Answer 503 without waiting on the client."""
        message = "the server is busy (all workers taken); try again in a few seconds"
        answer = _answer(HTTPStatus.SERVICE_UNAVAILABLE, {"error": message}, {"Retry-After": "5"})
        try:
            sock.settimeout(1.0)  # a fresh socket's send buffer takes this at once
            sock.sendall(answer)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            sock.close()
            return
        self._door.close_later(sock)  # the client may not have sent all its request yet

    def arrival(self) -> tuple[bytes, float]:
        """In a worker: the bytes the doorman read of its connection, and its read deadline."""
        return self._arrival.head, self._arrival.deadline

    def _work(self) -> None:
        while True:
            item = self._waiting.get()
            if item is None:
                return
            self._arrival.head, self._arrival.deadline = item.head, item.deadline
            try:
                self.finish_request(item.sock, item.address)
            except Exception:
                self.handle_error(item.sock, item.address)
            finally:
                self._close(item.sock, self.limits.linger_s)

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
        self._door.stop()
        while True:  # connections nobody will answer now
            try:
                item = self._waiting.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item.sock.close()
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
