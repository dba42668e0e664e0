"""The try-it server facing hostile input and load: every request gets a JSON answer, the
work and the threads per request are bounded, and only the server's own page may post.
A stub stands in for the model (it paints the box black), so these run in seconds; the
server listens on 127.0.0.1 at a free port and nothing leaves the machine."""

import base64
import concurrent.futures
import http.client
import io
import json
import logging
import select
import socket
import struct
import threading
import time
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from glyphgen.web.server import ServerLimits, _Doorman, serve
from glyphgen.web.studio import Desk, DeskLimits, Drawn

PLAIN = np.full((200, 320, 3), 230, np.uint8)
ASK = {"background": "preset:plain", "box": [20, 20, 220, 80], "text": "开业"}


def painter(seconds=0.0, fail=False):
    """A stand-in for the model: waits ``seconds``, then paints the box black."""

    def draw(image, ask):
        time.sleep(seconds)
        if fail:
            raise RuntimeError("a bug in the model")
        out = image.copy()
        x0, y0, x1, y1 = (round(v) for v in ask.box)
        out[y0:y1, x0:x1] = 0
        return Drawn(out, {"text": ask.text}, {"verdict": "exact"})

    return draw


def start_server(draw=None, limits=None, desk=None, host="127.0.0.1"):
    d = Desk(
        draw or painter(),
        label="runs/tiny/weights",
        presets={"plain": PLAIN},
        limits=desk or DeskLimits(),
    )
    return serve(d, host, 0, limits or ServerLimits())


@pytest.fixture
def start():
    """``start(...)`` -> the port of a new server on 127.0.0.1 with a stub model."""
    servers = []

    def _start(**kwargs):
        servers.append(start_server(**kwargs))
        return servers[-1].server_address[1]

    yield _start
    for server in servers:
        server.shutdown()


@pytest.fixture(scope="module")
def port():
    """The port of a server with the default limits, shared by the tests that use them."""
    server = start_server()
    yield server.server_address[1]
    server.shutdown()


def read_all(sock):
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def exchange(port, data, timeout=5.0):
    """Send raw bytes, read the answer until the server closes: (status, headers, JSON).
    A dropped connection fails here (no status line)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        answer = read_all(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head, "the server closed the connection without an answer"
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    assert headers["content-type"] == "application/json", headers
    return int(lines[0].split()[1]), headers, json.loads(body)


def request(port, method="POST", path="/api/render", body=b"", **headers):
    """Raw request bytes; a header given as None is left out, ``Content_Type`` is
    ``Content-Type``."""
    fields = {
        "Host": f"127.0.0.1:{port}",
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
    }
    fields.update({k.replace("_", "-"): v for k, v in headers.items()})
    if method == "GET":
        del fields["Content-Type"], fields["Content-Length"]
    head = "".join(f"{k}: {v}\r\n" for k, v in fields.items() if v is not None)
    return f"{method} {path} HTTP/1.1\r\n{head}\r\n".encode() + body


def render(port, payload, **headers):
    return exchange(port, request(port, body=json.dumps(payload).encode(), **headers))


def test_a_good_request_renders(port):
    status, _, out = render(port, ASK)
    assert status == 200 and out["verdict"] == {"verdict": "exact"}
    image = np.asarray(Image.open(io.BytesIO(base64.b64decode(out["image"].split(",")[1]))))
    assert image[50, 100].tolist() == [0, 0, 0] and image[150, 300].tolist() == [230] * 3


# -- Content-Length: every value enforced, never more than the limit read -----------------


@pytest.mark.parametrize(
    ("length", "status", "says"),
    [
        (None, 411, "send a Content-Length"),
        ("-1", 400, "not a number of bytes"),
        ("abc", 400, "not a number of bytes"),
        ("1e3", 400, "not a number of bytes"),
        ("1001", 413, "at most 1000"),
        ("9" * 5000, 413, "at most 1000"),
    ],
    ids=["missing", "negative", "letters", "exponent", "over", "5000 digits"],
)
def test_content_length_is_enforced_before_the_body_is_read(start, length, status, says):
    port = start(limits=ServerLimits(max_body=1000))
    # The body keeps coming (the socket stays open): an answer proves nothing waited for it.
    data = request(port, body=b"x" * 5000, Content_Length=length)
    got, _, out = exchange(port, data)
    assert got == status and says in out["error"]


def test_two_content_lengths_are_refused(port):
    data = request(port, body=b"{}", Content_Length="2\r\nContent-Length: 5000")
    status, _, out = exchange(port, data)
    assert status == 400 and "one Content-Length" in out["error"]


def test_a_body_shorter_than_its_content_length_is_refused(start):
    port = start(limits=ServerLimits(read_timeout_s=0.5))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request(port, body=b'{"text": "a"}', Content_Length="100"))
        sock.shutdown(socket.SHUT_WR)  # the client is done: 13 of 100 bytes came
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.0 400") and b"ended after 13 of 100" in answer


# -- bad values: a JSON 4xx each, a bug a JSON 500, never a dropped connection ------------


def bomb_png(side=13000):
    """A 1-bit black PNG of ``side`` x ``side`` pixels in about 25 KB (a 13000x13000 one
    decodes to 0.5 GB of RGB), written chunk by chunk: PIL takes seconds to encode it."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1 bit, grey
    rows = zlib.compress(bytes((side + 7) // 8 + 1) * side, 9)  # filter byte + bits, per row
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    return "data:image/png;base64," + base64.b64encode(png).decode()


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"box": [20, 20, float("nan"), 80]}, "not JSON: NaN"),
        ({"box": [20, 20, float("inf"), 80]}, "not JSON: Infinity"),
        ({"seed": 2**70}, "seed:"),
        ({"seed": True}, "seed:"),
        ({"vertical": "no"}, "vertical:"),
        ({"box": [True, 20, 220, 80]}, "box:"),
        ({"text": "\ud800"}, "text:"),
        ({"background": "preset:" + "x" * 100_000}, "no preset 'xxx"),
        ({"background": "data:image/png;base64,@@@"}, "base64"),
        ({"box": [0, 0, 320, 12]}, "at most 24:1"),
    ],
)
def test_bad_values_get_a_json_400_naming_the_field(port, change, says):
    status, _, out = render(port, {**ASK, **change})
    assert status == 400 and says in out["error"] and len(out["error"]) < 300


def test_a_decompression_bomb_is_refused_from_its_header(port, monkeypatch):
    bomb = bomb_png()
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda im: decoded.append(im))
    status, _, out = render(port, {**ASK, "background": bomb})
    assert status == 400 and "13000x13000" in out["error"] and "at most 2048x2048" in out["error"]
    assert not decoded  # refused from the header: its pixels (4.4 s to decode) never were


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET / HTTP/1.1 extra\r\n\r\n", 400),
        (b"GET / HTTP/9.9\r\n\r\n", 505),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n", 431),
    ],
    ids=["garbage", "extra word", "HTTP/9.9", "70 KB path", "200 headers"],
)
def test_malformed_http_gets_a_json_error(port, data, status):
    got, _, out = exchange(port, data)
    assert got == status and out["error"]


def test_unknown_methods_get_405(port):
    status, headers, out = exchange(port, request(port, "DELETE"))
    assert status == 405 and "GET" in headers["allow"] and out["error"]


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b"[" * 100_000, b"\xff\xfe{}"],
    ids=["broken", "a list", "100000 deep", "not UTF-8"],
)
def test_bodies_that_are_not_a_json_object_get_400(port, body):
    status, _, out = exchange(port, request(port, body=body))
    assert status == 400 and out["error"]


def test_a_bug_is_a_json_500_and_the_server_keeps_serving(start, caplog):
    port = start(draw=painter(fail=True))
    status, _, out = render(port, ASK)
    assert status == 500 and "log" in out["error"] and "a bug" not in out["error"]
    assert "a bug in the model" in caplog.text
    assert exchange(port, request(port, "GET", "/api/info"))[0] == 200


# -- bounded work: the model's lock, slow clients, the worker pool -------------------------


def test_waiting_for_the_model_is_bounded_503_with_retry_after(start):
    port = start(draw=painter(seconds=1.5), desk=DeskLimits(lock_wait_s=0.1))
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        first = pool.submit(render, port, ASK)
        time.sleep(0.5)  # the first holds the model now
        status, headers, out = render(port, ASK)
        assert first.result()[0] == 200
    assert status == 503 and "busy" in out["error"] and int(headers["retry-after"]) >= 1


def test_a_slow_client_gets_408_after_the_read_deadline(start):
    port = start(limits=ServerLimits(read_timeout_s=0.5))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST /api/render HTTP/1.1\r\n")
        # a header line every 0.1 s for up to 20 s: each read is quick, the total is not, so
        # the answer comes while the client is still sending (a deadline per read would wait
        # for the client to stop)
        for _ in range(200):
            if select.select([sock], [], [], 0.1)[0]:
                break
            sock.sendall(b"X-Slow: 1\r\n")
        else:
            pytest.fail("no answer while the client kept sending: the deadline is per read")
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.0 408") and b"within 0.5 s" in answer


def occupy(port, renders):
    """Start ``renders`` renders (a slow stub draws them) and return their sockets once the
    server has them all: the worker and the queue taken by real requests."""
    socks = []
    for _ in range(renders):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(request(port, body=json.dumps(ASK).encode()))
        socks.append(sock)
        time.sleep(0.2)
    return socks


def test_past_the_workers_and_the_queue_the_answer_is_503_at_once(start):
    # a 503 that waited for a place would come after the two renders, and be a 200
    port = start(draw=painter(seconds=3), limits=ServerLimits(workers=1, queue=1, read_timeout_s=3))
    busy = occupy(port, 2)  # one rendering in the worker, one waiting in the queue
    try:
        status, headers, out = exchange(port, request(port, "GET", "/api/info"))
        assert status == 503 and headers["retry-after"] and "busy" in out["error"]
    finally:
        for sock in busy:
            sock.close()


def test_connections_that_send_nothing_never_hold_the_workers(start):
    """20 sockets that never send their headers; a real request is answered while they are
    all still open (before, 10 of them made it wait for the 30 s read deadline)."""
    port = start(limits=ServerLimits(workers=2, queue=2))
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
    try:
        idle[0].sendall(b"GET /api/info HTTP/1.1\r\nHost: ")  # half a request, too
        status, _, out = exchange(port, request(port, "GET", "/api/info"), timeout=20)
        assert status == 200 and out["weights"] == "runs/tiny/weights"
        assert not any(closed_by_peer(sock, 0.01) for sock in idle)  # still open, unanswered
    finally:
        for sock in idle:
            sock.close()


def test_past_the_arriving_cap_a_connection_is_refused_at_once(start):
    port = start(limits=ServerLimits(arriving=2))
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
    try:
        time.sleep(0.2)
        status, headers, out = exchange(port, request(port, "GET", "/api/info"))
        assert status == 503 and headers["retry-after"] == "5" and "busy" in out["error"]
    finally:
        for sock in idle:
            sock.close()


def test_a_client_that_leaves_before_its_answer_leaves_no_traceback(start, caplog):
    """A refused request (bad Host) whose client resets the connection at once: the server's
    write of the 403 meets a broken pipe or a reset; that is one line in the log."""
    port = start()
    caplog.set_level(logging.INFO, logger="glyphgen.web.server")
    for _ in range(5):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.sendall(request(port, body=b"x" * 100_000, Host="evil.example"))
        sock.close()  # SO_LINGER 0: a reset, not a goodbye
    status, _, _ = exchange(port, request(port, "GET", "/api/info"))  # still serving
    assert status == 200
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]


def test_a_refused_client_that_sends_late_still_reads_its_503(start):
    """The 503 is written as soon as the headers are in; a client that sends its body after
    that must still read the answer, not a reset (closing a socket that later receives data
    resets the connection: under a burst of renders, a BrokenPipeError in about one run in
    ten)."""
    port = start(
        draw=painter(seconds=3),
        limits=ServerLimits(workers=1, queue=1, read_timeout_s=3, linger_s=1.0),
    )
    stalled = occupy(port, 2)  # the worker and the queue
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as late:
            # headers, then the body, in two writes as http.client sends them: the 503 is
            # answered to the first, and a reset it caused makes the second a BrokenPipeError
            head, _, body = request(port, body=json.dumps(ASK).encode()).partition(b"\r\n\r\n")
            late.sendall(head + b"\r\n\r\n")
            time.sleep(0.3)
            late.sendall(body)
            answer = read_all(late)
    finally:
        for sock in stalled:
            sock.close()
    assert answer.startswith(b"HTTP/1.0 503") and b"busy" in answer


def closed_by_peer(sock, within=1.0):
    """True when the other end of ``sock`` closes within ``within`` s (an EOF is read)."""
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False


def test_refused_connections_are_held_up_to_a_cap_and_all_closed_on_stop():
    closer = _Doorman(linger_s=30.0, max_bytes=1024, capacity=2)
    pairs = [socket.socketpair() for _ in range(4)]
    for server_end, _ in pairs:
        closer.close_later(server_end)
    clients = [client for _, client in pairs]
    assert not closed_by_peer(clients[0], 0.3) and not closed_by_peer(clients[1], 0.1)
    assert closed_by_peer(clients[2]) and closed_by_peer(clients[3])  # past the cap: at once
    clients[0].sendall(b"x" * 100)  # what a late client sends is read and dropped ...
    clients[0].shutdown(socket.SHUT_WR)  # ... and its end closes the held socket
    assert closed_by_peer(clients[0])
    spare, peer = socket.socketpair()
    closer.close_later(spare)  # a place is free again
    assert not closed_by_peer(peer, 0.3)
    closer.stop()
    assert closed_by_peer(clients[1]) and closed_by_peer(peer)
    late, late_peer = socket.socketpair()
    closer.close_later(late)  # after stop: closed at once
    assert closed_by_peer(late_peer)
    for sock in [*clients, peer, late_peer]:
        sock.close()


def server_threads(ignore):
    return [t for t in threading.enumerate() if t not in ignore and not t.name.startswith("load")]


def test_fifty_concurrent_renders_are_all_answered_and_threads_stay_bounded(start):
    """The load test: 50 renders at once against a stub that takes 0.05 s each."""
    before = set(threading.enumerate())
    limits = ServerLimits(workers=8, queue=32)
    port = start(draw=painter(seconds=0.05), limits=limits, desk=DeskLimits(lock_wait_s=1.0))
    body = json.dumps(ASK).encode()
    gate = threading.Barrier(50)
    peak = [0]
    done = threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], len(server_threads(before)))
            time.sleep(0.005)

    def one(_):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        gate.wait()
        try:
            conn.request("POST", "/api/render", body, {"Content-Type": "application/json"})
            res = conn.getresponse()
            return res.status, json.loads(res.read())
        except OSError as exc:  # a reset or a refused connection: the failure this test is for
            return type(exc).__name__, None
        finally:
            conn.close()

    watcher = threading.Thread(target=watch, name="load-watch")
    watcher.start()
    with concurrent.futures.ThreadPoolExecutor(50, thread_name_prefix="load") as pool:
        answers = list(pool.map(one, range(50)))
    done.set()
    watcher.join()
    statuses = [status for status, _ in answers]
    assert set(statuses) <= {200, 503}, statuses
    assert statuses.count(200) >= 8  # the model was kept busy, not idle behind refusals
    assert all(out and out.get("error" if s == 503 else "image") for s, out in answers)
    # the workers, the accepting thread and the closer of refused connections, whatever the load
    assert peak[0] <= limits.workers + 2, peak[0]


# -- who may talk to it: Host, Origin, Content-Type ---------------------------------------


@pytest.mark.parametrize(
    "host", ["127.0.0.1:{port}", "localhost:{port}", "LocalHost:{port}", "[::1]:{port}"]
)
def test_its_own_names_are_welcome(port, host):
    status, _, out = render(port, ASK, Host=host.format(port=port))
    assert status == 200, out


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("evil.example:{port}", 403),  # a DNS-rebinding page
        ("evil.example", 403),
        ("127.0.0.1:{other}", 403),
        ("127.0.0.1:{port}:1", 400),
        (None, 400),
    ],
)
def test_other_hosts_are_refused(port, host, status):
    host = host and host.format(port=port, other=port + 1)
    for data in (request(port, "GET", "/api/info", Host=host), request(port, Host=host)):
        got, _, out = exchange(port, data)
        assert got == status and "Host" in out["error"]


def test_only_the_page_itself_may_post(port):
    status, _, out = render(port, ASK, Origin="http://evil.example")
    assert status == 403 and "cross-origin" in out["error"]
    status, _, out = render(port, ASK, Origin="null")
    assert status == 403
    assert render(port, ASK, Origin=f"http://127.0.0.1:{port}")[0] == 200


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", None])
def test_posts_must_say_they_are_json(port, ctype):
    # a cross-origin <form> can send these without asking the browser's permission first
    status, _, out = render(port, ASK, Content_Type=ctype)
    assert status == 415 and "application/json" in out["error"]
    assert render(port, ASK, Content_Type="application/json; charset=utf-8")[0] == 200


def test_a_wildcard_bind_takes_ip_addresses_but_not_names(start):
    port = start(host="0.0.0.0")
    assert render(port, ASK, Host=f"192.168.1.20:{port}")[0] == 200
    assert render(port, ASK, Host=f"rebind.example:{port}")[0] == 403


# -- what it shows: no paths, one answer for every missing file ---------------------------


def test_info_names_the_weights_without_the_disk_path(port):
    status, _, info = exchange(port, request(port, "GET", "/api/info"))
    assert status == 200 and info == {"presets": ["plain"], "weights": "runs/tiny/weights"}


@pytest.mark.parametrize(
    "path",
    [
        "/static/nope.js",
        "/static/../server.py",
        "/static/%2e%2e/server.py",
        "/static/..%2f__init__.py",
        "/static/",
        "/static",
        "/presets/nope.png",
        "/presets/../../../etc/passwd",
        "/font/../../pyproject.toml",
        "/%ff%fe",
        "/nothing",
    ],
)
def test_every_missing_path_gets_the_same_404(port, path):
    status, _, out = exchange(port, request(port, "GET", path))
    assert (status, out) == (404, {"error": "not found"})


def test_the_page_and_its_files_are_served(port):
    for path, ctype in [
        ("/", "text/html"),
        ("/static/app.js", "text/javascript"),
        ("/presets/plain.png", "image/png"),
    ]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", path)
        res = conn.getresponse()
        assert res.status == 200 and res.getheader("Content-Type").startswith(ctype)
        assert res.read()
        conn.close()
