"""Brokers chosen by URL: ``memory://`` (one process, the default), ``redis://`` or
``redis+cluster://`` (a Redis Cluster, see ``redis_cluster``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from server.broker.base import Broker
from server.broker.memory import MemoryBroker


class UnsupportedBrokerURL(ValueError):
    pass


def broker_from_url(url: str, *, history_size: int) -> Broker:
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryBroker(history_size=history_size)
    if scheme in ("redis", "redis+cluster"):
        # Imported here so memory:// never loads redis-py.
        from server.broker.redis import RedisBroker

        return RedisBroker(url, history_size=history_size)
    raise UnsupportedBrokerURL(
        f"broker URL scheme '{scheme}' is not supported (use memory://, redis:// or redis+cluster://)"
    )


__all__ = ["Broker", "MemoryBroker", "UnsupportedBrokerURL", "broker_from_url"]
