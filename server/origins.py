"""Which web pages may open a WebSocket to this server or call its API from a browser.

A browser sends the page's origin (``Origin: https://school.example.org``) with every WebSocket
upgrade and cross-origin request. Without a check, any page a pupil visits could open a
connection with a join link it found, in the pupil's browser. Native clients and scripts send
no Origin: they are not a browser acting for someone else, so they are let through (a token is
still needed to join).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

ANY_ORIGIN = "*"
WEB_SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]  # scheme, host (lower case), port (the default port filled in)


def parse_origin(text: str) -> Origin | None:
    """``scheme://host[:port]`` as a comparable tuple; None for anything else (``null``...)."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:  # a port that is not a number, an unbalanced IPv6 bracket
        return None
    scheme = parts.scheme.lower()
    if scheme not in WEB_SCHEMES or not parts.hostname or parts.path not in ("", "/"):
        return None
    if parts.query or parts.fragment or parts.username or parts.password:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def check_allowed_origin(entry: str) -> None:
    """Refuse at start-up an entry that could never match (a typo must not lock browsers out)."""
    if entry != ANY_ORIGIN and parse_origin(entry) is None:
        raise ValueError(
            f"allowed_origins: '{entry}' is not an origin (scheme://host[:port], "
            "http or https, no path) nor '*'"
        )


def _host_of(host_header: str, scheme: str) -> tuple[str, int] | None:
    try:
        parts = urlsplit(f"//{host_header.strip()}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


class OriginPolicy:
    """The allow-list: ``*``, listed origins, the page's own host, and the public URL."""

    def __init__(self, allowed: Sequence[str], public_url: str | None = None) -> None:
        self.any = ANY_ORIGIN in allowed
        listed = [parse_origin(entry) for entry in allowed if entry != ANY_ORIGIN]
        if public_url:
            listed.append(parse_origin(public_url))
        self.listed = frozenset(origin for origin in listed if origin is not None)

    def allows(self, origin: str | None, host_header: str | None) -> bool:
        if origin is None or self.any:
            return True
        parsed = parse_origin(origin)
        if parsed is None:
            return False  # "null" (a sandboxed frame, a file:// page) is nobody's own page
        if parsed in self.listed:
            return True
        # Same origin: the page was served by the host this request came to. The scheme is
        # not compared: behind a TLS proxy the page is https while the server sees plain http.
        scheme, host, port = parsed
        return host_header is not None and _host_of(host_header, scheme) == (host, port)

    @property
    def cors_origins(self) -> list[str]:
        """What CORS may reflect: only listed origins (the page's own needs no CORS)."""
        if self.any:
            return [ANY_ORIGIN]
        return sorted(_unparse(origin) for origin in self.listed)


def _unparse(origin: Origin) -> str:
    scheme, host, port = origin
    if ":" in host:
        host = f"[{host}]"
    if port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"
