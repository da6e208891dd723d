"""``classbridge serve``: the command line."""

from __future__ import annotations

import argparse
import contextlib
import logging
import logging.config
import resource
import socket
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import uvicorn

from server.app import create_app
from server.logs import logging_config
from server.media import simulate
from server.redaction import install_redaction
from server.settings import Settings, settings_from_env, split_list
from server.websocket_protocol import ClassbridgeWebSocketProtocol
from server.workers import REUSE_PORT, serve_workers


def _serve_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser("serve", help="run the server (memory:// broker by default)")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8000; 0 = any)")
    serve.add_argument("--secret", help="token signing secret (generated when not set)")
    serve.add_argument("--api-key", dest="api_key", help="operator API key for the HTTP API")
    serve.add_argument("--broker", dest="broker_url", help="broker URL (default memory://)")
    serve.add_argument("--workers", type=int, help="worker processes (more than 1 needs redis://)")
    serve.add_argument(
        "--log-level", dest="log_level", help="debug, info, warning, error, critical"
    )
    serve.add_argument(
        "--log-format",
        dest="log_format",
        choices=("text", "json"),
        help="log records as text lines (default) or one JSON object per line",
    )
    serve.add_argument(
        "--metrics-token",
        dest="metrics_token",
        help="bearer token for GET /metrics (without one, only this host may read it)",
    )
    serve.add_argument("--public-url", dest="public_url", help="base URL printed in links")
    serve.add_argument(
        "--recordings-dir",
        dest="recordings_dir",
        help="folder the relay writes recordings to (recording is off when not set)",
    )
    _ice_options(serve)
    _access_options(serve)
    _lifecycle_options(serve)
    demo = serve.add_mutually_exclusive_group()
    demo.add_argument("--demo", dest="demo", action="store_true", default=None)
    demo.add_argument("--no-demo", dest="demo", action="store_false")
    limits = serve.add_argument_group("limits")
    limits.add_argument("--max-frame-bytes", dest="max_frame_bytes", type=int)
    limits.add_argument("--send-queue-bytes", dest="send_queue_bytes", type=int)
    limits.add_argument("--send-interval-ms", dest="send_interval_ms", type=float)
    limits.add_argument("--chat-max-chars", dest="chat_max_chars", type=int)
    limits.add_argument("--chat-per-second", dest="chat_per_second", type=float)
    limits.add_argument("--chat-burst", dest="chat_burst", type=int)
    limits.add_argument("--messages-per-second", dest="messages_per_second", type=float)
    limits.add_argument("--messages-burst", dest="messages_burst", type=int)
    limits.add_argument("--signals-per-second", dest="signals_per_second", type=float)
    limits.add_argument("--signals-burst", dest="signals_burst", type=int)
    limits.add_argument("--typing-per-second", dest="typing_per_second", type=float)
    limits.add_argument("--typing-burst", dest="typing_burst", type=int)
    limits.add_argument("--board-ops-per-second", dest="board_ops_per_second", type=float)
    limits.add_argument("--board-ops-burst", dest="board_ops_burst", type=int)
    limits.add_argument("--topology-settle", dest="topology_settle", type=float)
    limits.add_argument("--joins-per-minute", dest="joins_per_minute", type=float)
    limits.add_argument("--joins-burst", dest="joins_burst", type=int)
    limits.add_argument(
        "--connections-per-participant", dest="connections_per_participant", type=int
    )
    limits.add_argument("--worker-heartbeat", dest="worker_heartbeat", type=float)
    limits.add_argument("--worker-timeout", dest="worker_timeout", type=float)
    limits.add_argument("--history-size", dest="history_size", type=int)
    limits.add_argument("--snapshot-every", dest="snapshot_every", type=int)
    limits.add_argument("--presence-grace", dest="presence_grace", type=float)
    limits.add_argument("--join-timeout", dest="join_timeout", type=float)


def _access_options(serve: argparse.ArgumentParser) -> None:
    access = serve.add_argument_group("browsers and proxies (see docs/security.md)")
    access.add_argument(
        "--allowed-origins",
        dest="allowed_origins",
        action="extend",
        type=split_list,
        metavar="ORIGINS",
        help="pages (scheme://host[:port]) that may connect besides the server's own; '*': any",
    )
    access.add_argument(
        "--proxy-headers",
        dest="proxy_headers",
        action="store_true",
        default=None,
        help="take the client address from X-Forwarded-For sent by a trusted proxy",
    )
    access.add_argument(
        "--forwarded-allow-ips",
        dest="forwarded_allow_ips",
        action="extend",
        type=split_list,
        metavar="IPS",
        help="proxy addresses trusted with --proxy-headers (default 127.0.0.1)",
    )
    access.add_argument(
        "--connections-per-ip-per-minute", dest="connections_per_ip_per_minute", type=float
    )
    access.add_argument("--connections-per-ip-burst", dest="connections_per_ip_burst", type=int)


def _lifecycle_options(serve: argparse.ArgumentParser) -> None:
    group = serve.add_argument_group("stopping and webhooks (see docs/operations.md)")
    group.add_argument(
        "--drain-timeout",
        dest="drain_timeout",
        type=float,
        help="seconds SIGTERM may spend moving clients to other workers (default 10)",
    )
    group.add_argument("--webhook-url", dest="webhook_url", help="where notices are POSTed")
    group.add_argument(
        "--webhook-secret", dest="webhook_secret", help="signs the notices (HMAC-SHA256)"
    )


def _ice_options(serve: argparse.ArgumentParser) -> None:
    ice = serve.add_argument_group("ICE servers for WebRTC (see docs/operations.md)")
    # "extend" with a comma-splitting type: repeat the option, or give a list as in the env var.
    for kind in ("stun", "turn"):
        ice.add_argument(
            f"--{kind}-urls",
            dest=f"{kind}_urls",
            action="extend",
            type=split_list,
            metavar="URLS",
            help=f"{kind.upper()} server URLs, comma-separated or repeated",
        )
    ice.add_argument(
        "--turn-secret", dest="turn_secret", help="the TURN server's static-auth-secret"
    )
    ice.add_argument(
        "--turn-ttl", dest="turn_ttl", type=int, help="TURN credential lifetime in seconds"
    )


def listen(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    """Bind before the app is built: the links it prints must name the real port (--port 0).

    The protocol is named, not left at 0: asyncio's own event loop turns Nagle's algorithm off
    (TCP_NODELAY) only on sockets whose protocol is IPPROTO_TCP, and an accepted socket takes
    the listening one's. With Nagle on, a response written in two parts (headers, then body)
    or two frames in a row waited for the client's delayed ACK: 44 ms for every HTTP request
    on asyncio's loop. uvloop sets TCP_NODELAY on every TCP socket either way."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if reuse_port and port != 0:
        # With SO_REUSEPORT, a second server started on the port by mistake would bind it too
        # and silently take a share of the connections. A plain bind first fails, as it should,
        # while anything listens there (another server's workers included).
        with socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:  # the workers bind sockets of their own to it (server/workers.py)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        if reuse_port:
            # This socket never listens, and a plain bind with SO_REUSEADDR is let in beside a
            # bound socket that has it and does not listen: until the first worker listened, a
            # second server's probe passed. Off now (it counted at bind time, over TIME_WAIT),
            # the probe fails from the start.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)
    except OSError:
        sock.close()
        raise
    return sock


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn settings every worker shares."""
    json_logs = settings.log_format == "json"
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level.lower(),
        "ws_max_size": settings.limits.max_frame_bytes,
        "ws": ClassbridgeWebSocketProtocol,
        "ws_per_message_deflate": settings.permessage_deflate,
        # Off unless asked: a forwarded address is believed only from the proxies listed, so
        # nobody else can pick the address the per-address limits charge.
        "proxy_headers": settings.proxy_headers,
        "forwarded_allow_ips": list(settings.forwarded_allow_ips),
        "lifespan": "on",
        # JSON: uvicorn applies our config (root and its own loggers) in every worker too.
        **({"log_config": logging_config("json", settings.log_level)} if json_logs else {}),
    }


def raise_open_files_limit() -> int:
    """The soft limit on open files raised to the hard one; the limit now in force.

    Every connection is a file descriptor, and many systems start processes with a soft limit
    of 1024: a worker would refuse connections long before memory or CPU ran out (10,000 idle
    students on one worker: docs/performance.md). The workers of ``--workers N`` inherit it.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        with contextlib.suppress(ValueError, OSError):  # some systems cap it below the hard one
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def serve(settings: Settings, sock: socket.socket) -> None:
    raise_open_files_limit()
    if settings.log_format == "json":
        logging.config.dictConfig(logging_config("json", settings.log_level))
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = replace(settings, port=sock.getsockname()[1])
    print(
        f"Classbridge on {settings.base_url} (broker {settings.broker_url}, "
        f"{settings.workers} worker{'s' if settings.workers > 1 else ''}); "
        f"open {settings.base_url}/ in a browser. Ctrl+C stops it.",
        flush=True,
    )
    if settings.workers > 1:
        serve_workers(settings, sock, uvicorn_options(settings))
        return

    def announce(text: str) -> None:
        print(text, flush=True)

    config = uvicorn.Config(
        create_app(settings, announce=announce, drain_on_signal=True), **uvicorn_options(settings)
    )
    install_redaction()  # after uvicorn's Config has set up its loggers
    uvicorn.Server(config).run(sockets=[sock])


def _loadtest(argv: list[str]) -> int:
    """``classbridge loadtest ...`` is ``python -m load_tests ...``. Imported here, when asked
    for: the benchmarks import the server, never the other way round."""
    from load_tests.cli import main as load_tests_main

    return load_tests_main(argv)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="classbridge", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    _serve_parser(commands)
    simulate.add_parser(commands)
    loadtest = commands.add_parser(
        "loadtest",
        add_help=False,
        help="benchmarks on loopback (python -m load_tests): chat-fanout, board-draw, "
        "signal-rtt, lesson; 'classbridge loadtest --help' lists them",
    )
    loadtest.add_argument("arguments", nargs=argparse.REMAINDER)
    if argv[:1] == ["loadtest"]:  # everything after it belongs to the benchmarks' own parser
        return _loadtest(argv[1:])
    args = vars(parser.parse_args(argv))
    command = args.pop("command")
    if command == "simulate-class":
        return simulate.run(args)
    try:
        settings = settings_from_env(**args)
    except ValueError as error:
        parser.error(str(error))
    if command == "serve":
        try:
            sock = listen(settings.host, settings.port, settings.workers > 1 and REUSE_PORT)
        except OSError as error:
            parser.error(f"cannot listen on {settings.host}:{settings.port}: {error.strerror}")
        serve(settings, sock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
