"""Closing a real aiortc peer connection from two places at once, as happens when the remote
end leaves (aiortc closes the connection itself) while a station or a session shuts down."""

from __future__ import annotations

import asyncio
from typing import Any

from server.media.link import close_peer_connection, new_peer_connection


async def test_a_cancelled_close_does_not_break_aiortcs_own_close() -> None:
    reported: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _, context: reported.append(context))
    pc = new_peer_connection()
    pc.addTransceiver("audio")
    await pc.setLocalDescription(await pc.createOffer())
    own_close = asyncio.ensure_future(pc.close())  # aiortc's, once the remote end is gone
    await asyncio.sleep(0)  # it has started: stopping the transceiver waits

    ours = asyncio.ensure_future(close_peer_connection(pc))
    await asyncio.sleep(0)
    ours.cancel()  # the station shutting down while it waits

    cancelled, finished = await asyncio.gather(ours, own_close, return_exceptions=True)
    assert isinstance(cancelled, asyncio.CancelledError)
    assert finished is None  # aiortc's close ended normally, not with InvalidStateError
    assert pc.connectionState == "closed"
    assert pc.signalingState == "closed"
    assert reported == []
