"""``classbridge serve --workers N``: N processes share the port and one Redis.

The parent prepares what must happen once: the secret (generated here when none is set, so all
workers sign and verify tokens alike) and the demo session (created here, printed once). It then
hands every setting to the workers through ``CLASSBRIDGE_*`` variables, which each worker reads
back in ``server.asgi``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import socket
import sys
import tempfile
from dataclasses import fields, replace
from typing import Any, SupportsIndex

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from server.app import build_services
from server.demo import create_demo, describe_demo
from server.metrics_http import MULTIPROC_ENV
from server.redaction import install_redaction
from server.settings import Limits, Settings

log = logging.getLogger(__name__)

SINGLE_ACCEPT_ENV = "UV_TCP_SINGLE_ACCEPT"  # read by libuv when a worker starts listening
# Linux spreads the connections to a port over every listening socket bound to it with
# SO_REUSEPORT, by a hash of the client's address and port. (Other systems either lack it or
# give them all to one socket.)
REUSE_PORT = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


class PortHolder(socket.socket):
    """The supervisor's socket with ``--workers`` on Linux: bound with SO_REUSEPORT, never
    listening, it holds the port. What each worker (and each worker started in place of one)
    gets from it is not a copy (one accept queue for all, taken by whichever worker wakes
    first) but a listening socket of its own on the same address: uvicorn hands sockets to its
    workers by pickling them, and this one pickles as "bind your own" (``own_listener``)."""

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        return (own_listener, (self.family, self.getsockname()))


def own_listener(family: int, address: tuple[Any, ...]) -> socket.socket:
    """Run in a worker as it starts: its own socket on the supervisor's address (uvicorn makes
    it listen). Its connections come to it alone, a fair share of the port's by the hash."""
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError as error:
        sock.close()
        # Before uvicorn's own start-up (logging is not set up yet). With this exit status its
        # supervisor stops instead of starting a worker that fails the same way every 0.5 s.
        print(f"a worker cannot listen on {address}: {error.strerror}", file=sys.stderr)
        sys.exit(STARTUP_FAILURE)
    return sock


def settings_to_env(settings: Settings) -> dict[str, str]:
    """Every setting as the variable ``settings_from_env`` reads back."""
    values: dict[str, Any] = {f.name: getattr(settings, f.name) for f in fields(Settings)}
    values.pop("limits")
    values.update({f.name: getattr(settings.limits, f.name) for f in fields(Limits)})
    return {
        f"CLASSBRIDGE_{name.upper()}": _env_value(value)
        for name, value in values.items()
        if value is not None
    }


def _env_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):  # the URL lists: comma-separated, as an operator writes them
        return ",".join(value)
    return str(value)


async def _create_demo_once(settings: Settings) -> None:
    services = build_services(settings)
    await services.broker.start()
    try:
        print(describe_demo(await create_demo(services)), flush=True)
    finally:
        await services.broker.close()


def serve_workers(settings: Settings, sock: socket.socket, options: dict[str, Any]) -> None:
    if settings.secret is None:
        settings = replace(settings, secret=secrets.token_urlsafe(32))
        log.warning("no secret configured: generated one for this run, shared by the workers")
    if settings.demo_enabled:
        asyncio.run(_create_demo_once(settings))
    worker_settings = replace(settings, demo=False, workers=1)
    os.environ.update(settings_to_env(worker_settings))
    config = uvicorn.Config("server.asgi:app_from_env", factory=True, **options)
    config.workers = settings.workers
    install_redaction()
    # Each worker writes its metrics to files here, so a scrape of any worker reports the
    # whole server (server/metrics_http.py). Set before the workers start: prometheus_client
    # picks its storage at import. Fresh for every run, and removed at exit.
    metrics_dir = tempfile.mkdtemp(prefix="classbridge-metrics-")
    os.environ[MULTIPROC_ENV] = metrics_dir
    if REUSE_PORT and sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT):
        # (Bound by cli.listen for several workers: a socket bound without it would make every
        # worker's own bind fail.)
        sock = PortHolder(sock.family, sock.type, sock.proto, fileno=sock.detach())
    else:
        # Elsewhere the workers share one listening socket, and libuv (under uvloop) accepts
        # every pending connection before it looks at anything else: whichever worker woke
        # first took most of a class joining at once. With this set, a worker yields after each
        # accept so that the others get a turn (docs/performance-history.md, "Spreading joins over
        # workers"). An operator's own value is kept.
        os.environ.setdefault(SINGLE_ACCEPT_ENV, "1")
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
