"""ICE server messages: a client with video asks for fresh servers before its TURN credentials
expire (``ice.refresh``) and gets them in ``ice.servers``. The welcome carries the first ones.

The servers are RTCIceServer maps, ready for ``new RTCPeerConnection({iceServers})``:
``{"urls": [...], "username"?: str, "credential"?: str}``. docs/protocol.md has the refresh rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from server.errors import InvalidMessage
from server.protocol.fields import check, request_id, require
from server.protocol.message_base import Message, RequestId

_OPTIONAL_SERVER_FIELDS = ("username", "credential")


def parse_ice_servers(servers: list[Any], name: str) -> list[dict[str, Any]]:
    """RTCIceServer maps, each with a list of URL strings; known fields only."""
    parsed = []
    for index, server in enumerate(servers):
        within = f"{name}[{index}]"
        if not isinstance(server, Mapping):
            raise InvalidMessage(f"field '{within}' must be a map", detail=name)
        urls = require(server, "urls", list, within=within)
        if not all(isinstance(url, str) for url in urls):
            raise InvalidMessage(f"field '{within}.urls' must hold strings", detail=name)
        entry: dict[str, Any] = {"urls": urls}
        for field_name in _OPTIONAL_SERVER_FIELDS:
            if server.get(field_name) is not None:
                entry[field_name] = check(server[field_name], f"{within}.{field_name}", str)
        parsed.append(entry)
    return parsed


# --- client to server -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IceRefresh(Message):
    """Ask for ICE servers with fresh TURN credentials; answered by ``ice.servers``."""

    TYPE: ClassVar[str] = "ice.refresh"
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(id=request_id(data))


# --- server to client -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IceServers(Message):
    """ICE servers whose TURN credentials are valid until ``expires_at`` (Unix ms)."""

    TYPE: ClassVar[str] = "ice.servers"
    servers: list[dict[str, Any]]
    expires_at: int
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            servers=parse_ice_servers(require(data, "servers", list), "servers"),
            expires_at=require(data, "expires_at", int),
            id=request_id(data),
        )
