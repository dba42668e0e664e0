"""Checks on a request's headers before any of its body is read: who may talk to the server
(Host, Origin), what it sends (Content-Type) and how much (Content-Length). Pure functions;
each refusal is a :class:`Refused` with the HTTP status and a message that says the fix.

Why Host and Origin: the server listens on the user's machine, and any web page the user
visits can make their browser post to ``127.0.0.1``. A cross-origin page sends its own
``Origin``; a DNS-rebinding page (its name re-pointed at 127.0.0.1) sends its own name as
``Host``. Requiring ``application/json`` also makes a cross-origin post need a CORS
preflight, which this server never grants.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from dataclasses import dataclass
from http import HTTPStatus

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})


class Refused(ValueError):
    """A request refused before its body is read: ``status`` and a message for the client."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Served:
    """Where the server listens, and so which ``Host`` headers name it."""

    host: str  # as bound: "127.0.0.1", "::1", "0.0.0.0", a name ...
    port: int
    # With a wildcard bind the machine's own names (socket.gethostname()) are welcome too.
    other_names: Collection[str] = ()

    def names(self) -> frozenset[str]:
        names = set(LOOPBACK_NAMES) | {n.lower() for n in self.other_names}
        if self.host not in WILDCARD_HOSTS:
            names.add(self.host.lower())
        return frozenset(names)


def split_host(value: str) -> tuple[str, int | None]:
    """``Host`` header -> (name, port or None); IPv6 literals come in brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        name, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(value)
        port = rest[1:] if rest else None
    elif value.count(":") == 1:
        name, port = value.split(":")
    elif ":" in value:
        raise ValueError(value)  # an IPv6 address without brackets
    else:
        name, port = value, None
    if not name or (port is not None and not (port.isdigit() and len(port) <= 5)):
        raise ValueError(value)
    return name, None if port is None else int(port)


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def check_host(host: str | None, served: Served) -> None:
    """``Host`` must name this server: a loopback name or the bound address, with its port.
    Bound to a wildcard (``--host 0.0.0.0``), any IP address and the machine's names pass: a
    DNS-rebinding page needs a domain name, which still fails."""
    where = f"http://127.0.0.1:{served.port}"
    if not host:
        raise Refused(HTTPStatus.BAD_REQUEST, f"send a Host header (open {where})")
    try:
        name, port = split_host(host)
    except ValueError:
        raise Refused(HTTPStatus.BAD_REQUEST, f"Host {host[:80]!r} is not host[:port]") from None
    ok = name in served.names() or (served.host in WILDCARD_HOSTS and _is_ip(name))
    if not ok or (port or 80) != served.port:
        raise Refused(
            HTTPStatus.FORBIDDEN,
            f"Host {host[:80]!r} is not this server; open {where} (or the address it was "
            "started on)",
        )


def check_origin(origin: str | None, host: str) -> None:
    """A browser says which page sent the request in ``Origin``; only our own page may."""
    if origin is None:
        return  # not from a browser page (curl, scripts), or a same-origin GET
    if origin.strip().lower() != f"http://{host.strip().lower()}":
        raise Refused(
            HTTPStatus.FORBIDDEN,
            f"cross-origin request from {origin[:80]!r} refused; use the page this server serves",
        )


def check_json_type(content_type: str | None) -> None:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise Refused(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            f"Content-Type {(content_type or '(none)')[:80]!r}; send application/json",
        )


def body_length(values: list[str] | None, limit: int) -> int:
    """The ``Content-Length`` of a POST (every such header's value, as ``get_all`` gives
    them) as a number of bytes from 0 to ``limit``."""
    if not values:
        raise Refused(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length header with the body")
    if len(values) > 1:
        raise Refused(HTTPStatus.BAD_REQUEST, "send one Content-Length header, not several")
    value = values[0]
    text = value.strip()
    if not text.isdigit() or not text.isascii():  # "-1", "abc", "1e3", "１２"
        raise Refused(
            HTTPStatus.BAD_REQUEST,
            f"Content-Length {value[:40]!r} is not a number of bytes (0 or more)",
        )
    length = int(text[:20]) if len(text) <= 20 else limit + 1  # no 10**4300-digit ints
    if length > limit:
        raise Refused(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            f"request of {text[:20]} bytes; at most {limit} (upload a smaller background)",
        )
    return length
