"""``GET /metrics``: the Prometheus exposition of server/metrics.py, and who may read it.

Access: with ``metrics_token`` set, only a request bearing it (``Authorization: Bearer ...``),
from anywhere; without, only a client on this host (loopback). Figures name no session or
person, but they tell how busy the service is: not for the whole internet. A reverse proxy on
the same host makes every client look local, so docs/operations.md says to block the path there.
"""

from __future__ import annotations

import glob
import hmac
import ipaddress
import os
import re

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.requests import Request
from starlette.responses import Response

from server.errors import Forbidden, Unauthorized
from server.services import Services

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db$")


async def metrics(request: Request) -> Response:
    services: Services = request.app.state.services
    check_access(request, services.settings.metrics_token)
    # The format the scraper asks for (Prometheus's text format, or OpenMetrics).
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encoder(_registry()), headers={"content-type": content_type})


def check_access(request: Request, token: str | None) -> None:
    if token is not None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        given = value.strip().encode() if scheme.lower() == "bearer" else b""
        if not hmac.compare_digest(given, token.encode()):
            raise Unauthorized("send 'Authorization: Bearer <metrics token>'")
        return
    if not _is_loopback(request.client.host if request.client else ""):
        raise Forbidden("metrics are served to this host only; set metrics_token to scrape them")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _registry() -> CollectorRegistry:
    """This process's figures, or with several workers the sum over all of them."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return REGISTRY
    forget_dead_workers(directory)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return registry


def forget_dead_workers(directory: str) -> None:
    """Drop the gauges of workers that died without saying so (killed, crashed): their open
    connections are gone. Their counters stay: totals of the server do not go back down."""
    for path in glob.glob(os.path.join(directory, "gauge_live*.db")):
        match = _LIVE_GAUGE_FILE.search(os.path.basename(path))
        if match and not _alive(int(match[1])):
            mark_process_dead(int(match[1]), directory)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: not ours to judge, and not one of our workers
    return True


def worker_exiting() -> None:
    """A worker's last word: its connections and sessions no longer count."""
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        mark_process_dead(os.getpid(), directory)  # type: ignore[no-untyped-call]
