"""The generator's side of protocol v1: encode requests, decode frames into message maps.

Written from docs/protocol.md, not imported from the server, so the benchmark also checks
that the wire format is what the docs say. A server frame is one map or an array of maps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import msgpack

SUBPROTOCOLS = {"msgpack": "classbridge.v1.msgpack", "json": "classbridge.v1.json"}


@dataclass(frozen=True, slots=True)
class Codec:
    name: str  # "msgpack" or "json"

    @property
    def subprotocol(self) -> str:
        return SUBPROTOCOLS[self.name]

    def encode(self, message: dict[str, Any]) -> bytes | str:
        if self.name == "msgpack":
            packed: bytes = msgpack.packb(message, use_bin_type=True)
            return packed
        return json.dumps(message, separators=(",", ":"))

    def messages(self, frame: bytes | str) -> list[dict[str, Any]]:
        """The maps in one server frame; anything else is dropped (and counted by the caller)."""
        if isinstance(frame, bytes):
            decoded = msgpack.unpackb(frame, raw=False)
        else:
            decoded = json.loads(frame)
        items = decoded if isinstance(decoded, list) else [decoded]
        return [item for item in items if isinstance(item, dict)]
