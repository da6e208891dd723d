"""``redis+cluster://``: the ``redis://`` broker on a Redis Cluster.

The URL is ``redis+cluster://[[user]:password@]host:port[,host:port...][?max_connections=N]``.
A scheme of its own rather than ``redis://...?cluster=true``: a Cluster needs several seed nodes
(any one answering is enough to discover the rest, so the broker still starts while one master
is down), which a plain ``redis://`` URL cannot name; plain Redis tools handed the URL refuse it
instead of silently talking to one master; and the broker is chosen by scheme, like
``memory://`` and ``redis://``. Cluster has one database only, so a path other than ``/0`` is
refused.

Every key of a session shares the hash tag ``{<session id>}``, so a session lives in one slot
on one master; its scripts run there and publish with SPUBLISH (sharded pub/sub), so an event
travels only between that master and the workers subscribed to the session.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from redis.asyncio.cluster import ClusterNode, ClusterPipeline, RedisCluster
from redis.asyncio.connection import AbstractConnection

CLUSTER_SCHEME = "redis+cluster"


def is_cluster_url(url: str) -> bool:
    return url.partition("://")[0] == CLUSTER_SCHEME


@dataclass(frozen=True, slots=True)
class ClusterURL:
    seeds: list[tuple[str, int]]
    username: str | None = None
    password: str | None = None
    max_connections: int | None = None


def parse_cluster_url(url: str) -> ClusterURL:
    # urlsplit cannot read "h1:p1,h2:p2" as a host and port: split the seed list here.
    parts = urlsplit(url)
    if parts.scheme != CLUSTER_SCHEME:
        raise ValueError(f"not a {CLUSTER_SCHEME}:// URL: {url!r}")
    credentials, _, hosts = parts.netloc.rpartition("@")
    username, _, password = credentials.partition(":")
    seeds = [_seed(item) for item in hosts.split(",") if item]
    if not seeds:
        raise ValueError(f"{CLUSTER_SCHEME}:// needs at least one host:port")
    if parts.path not in ("", "/", "/0"):
        raise ValueError("a Redis Cluster has only database 0")
    query = parse_qs(parts.query)
    unknown = set(query) - {"max_connections"}
    if unknown:
        raise ValueError(f"unknown {CLUSTER_SCHEME}:// option(s): {', '.join(sorted(unknown))}")
    limit = query.get("max_connections")
    return ClusterURL(
        seeds,
        unquote(username) or None,
        unquote(password) or None,
        int(limit[-1]) if limit else None,
    )


def _seed(item: str) -> tuple[str, int]:
    host, _, port = item.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"a Cluster seed must be host:port, not {item!r}")
    return host.strip("[]"), int(port)


class GatedRedisCluster(RedisCluster):
    """redis-py's asyncio Cluster raises MaxConnectionsError when a burst of commands needs more
    connections to a master than allowed, where the plain client's blocking pool waits. This
    client makes the burst wait: at most ``limit`` commands and pipelines in flight, each using
    at most one connection per master, so no master's pool runs dry."""

    def __init__(self, *, limit: int, **options: Any) -> None:
        super().__init__(max_connections=limit, **options)
        self.gate = asyncio.Semaphore(limit)

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        async with self.gate:
            return await super().execute_command(*args, **kwargs)

    def pipeline(self, transaction: Any | None = None, shard_hint: Any | None = None) -> Any:
        if shard_hint:
            raise ValueError("shard_hint is not supported in a Cluster")
        # redis-py's stubs declare an attribute of ClusterPipeline abstract that it never
        # needs; RedisCluster.pipeline() builds the same class the same way.
        return _GatedPipeline(self, transaction)  # type: ignore[abstract]


class _GatedPipeline(ClusterPipeline):
    def __init__(self, client: GatedRedisCluster, transaction: bool | None) -> None:
        super().__init__(client, transaction)
        self._gate = client.gate

    async def execute(self, raise_on_error: bool = True, allow_redirections: bool = True) -> Any:
        async with self._gate:
            return await super().execute(raise_on_error, allow_redirections)


def cluster_client(url: str, limit: int) -> GatedRedisCluster:
    # Raw bytes in and out, as with plain Redis: payloads are binary.
    parsed = parse_cluster_url(url)
    return GatedRedisCluster(
        limit=parsed.max_connections or limit,
        startup_nodes=[ClusterNode(host, port) for host, port in parsed.seeds],
        username=parsed.username,
        password=parsed.password,
        decode_responses=False,
    )


def node_connection(node: ClusterNode) -> AbstractConnection:
    """A connection of its own to one master, for pub/sub (not taken from the node's pool:
    a subscribed connection can serve nothing else). RESP2, whose pub/sub replies are arrays."""
    options = {**node.connection_kwargs, "protocol": 2}
    connection: AbstractConnection = node.connection_class(**options)
    return connection
