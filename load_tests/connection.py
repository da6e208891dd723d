"""The WebSocket life every simulated client shares (chat, board and signal clients): request
ids, the welcome it waits for, closing, and telling a refused join or a server's close from
our own. What a client sends and tallies is its own."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from load_tests.transport import LeanSocket
from load_tests.wire import Codec


class Connection:
    def __init__(self, codec: Codec) -> None:
        self.codec = codec
        self.closing = False
        self._ids = itertools.count(1)
        self._socket: LeanSocket | None = None
        self._welcome: asyncio.Future[None] | None = None

    async def close(self) -> None:
        self.closing = True
        if self._socket is not None:
            await self._socket.close()

    def _decode(self, frame: bytes | str) -> list[dict[str, Any]] | None:
        """The frame's messages; None, the error noted, when it does not decode."""
        try:
            return self.codec.messages(frame)
        except ValueError:  # msgpack's and json's decode errors both derive from it
            self._note_error("undecodable frame")
            return None

    def _on_closed(self, _: asyncio.Future[None]) -> None:
        socket = self._socket
        assert socket is not None
        if self._welcome is not None and not self._welcome.done():
            reason = f"join refused: close {socket.close_code} {socket.close_reason}"
            self._welcome.set_exception(ConnectionError(reason))
        if not self.closing:
            reason = f" {socket.close_reason}" if socket.close_reason else ""  # 1006 has none
            self._note_error(f"closed by server: {socket.close_code}{reason}")

    def _on_frame(self, frame: bytes | str) -> None:
        raise NotImplementedError  # each client reads its own messages

    def _note_error(self, code: str) -> None:
        raise NotImplementedError  # each client tallies errors its own way
