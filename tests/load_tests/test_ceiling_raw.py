"""The raw ceiling (load_tests/baselines/ceiling_raw.py): a broadcast with no framework.

It answers the WebSocket handshake and parses frames itself, so these tests hold it to what a
real client library expects: the handshake, both wire formats in one room, longer frames, ping
and close. Through the benchmark every acked chat must reach every client of its session once
and in order. Never speed.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import msgpack
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from load_tests.capacity_report import TARGETS
from load_tests.config import FanoutConfig, parse_systems
from load_tests.fanout import run_benchmark
from load_tests.report import comparison_pairs
from load_tests.servers import Target, spawn_ceiling

MSGPACK, JSON = Subprotocol("classbridge.v1.msgpack"), Subprotocol("classbridge.v1.json")
TIMEOUT = 5.0


@pytest.mark.parametrize("wire_format", ["msgpack", "json"])
async def test_every_chat_reaches_every_client_once_and_in_order(wire_format: str) -> None:
    config = FanoutConfig(
        sessions=2, clients=4, senders=2, rates=(40.0,), duration=1.0, warmup=0.6, ramp=0.2,
        systems=("ceiling-raw",), wire_format=wire_format, progress=False,
    )  # fmt: skip

    (result,) = (await run_benchmark(config))["ceiling-raw"]

    assert result.acked_total == result.sent_total > 0
    assert result.deliveries_total == result.expected_deliveries == result.acked_total * 4
    assert (result.lost, result.duplicates, result.unexpected, result.unacked) == (0, 0, 0, 0)
    assert result.out_of_order == 0
    assert result.errors == {}
    assert result.server_cpu_s is not None  # its CPU is measured like every other system's


async def _join(target: Target, room: str, protocol: Subprotocol) -> ClientConnection:
    socket = await connect(target.ws_url, subprotocols=[protocol], open_timeout=TIMEOUT)
    assert socket.subprotocol == protocol  # the handshake's answer, checked by the client
    await socket.send(_encode({"type": "join", "token": room}, protocol))
    assert (await _receive(socket))["type"] == "welcome"
    return socket


def _encode(message: dict[str, Any], protocol: Subprotocol) -> bytes | str:
    return msgpack.packb(message) if protocol == MSGPACK else json.dumps(message)


async def _receive(socket: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(TIMEOUT):
        frame = await socket.recv()
    message: dict[str, Any] = (
        json.loads(frame) if isinstance(frame, str) else msgpack.unpackb(frame)
    )
    return message


async def test_both_formats_share_a_room_and_long_frames_pass_both_ways() -> None:
    async with spawn_ceiling(raw=True) as target:
        binary, text = await _join(target, "room", MSGPACK), await _join(target, "room", JSON)
        outsider = await _join(target, "elsewhere", MSGPACK)
        long_text = "é" * 300  # 600 bytes: a 16-bit length in both directions

        await text.send(_encode({"type": "chat.send", "text": long_text, "id": 7}, JSON))

        event = await _receive(binary)
        assert (event["type"], event["kind"], event["seq"]) == ("event", "chat.posted", 1)
        assert event["data"]["text"] == long_text
        own = [await _receive(text), await _receive(text)]  # the sender's copy, then its ack
        assert own[0]["data"] == event["data"]
        assert own[1] == {"type": "ack", "id": 7, "seq": 1}
        with pytest.raises(TimeoutError):  # another room hears nothing
            async with asyncio.timeout(0.3):
                await outsider.recv()
        for socket in (binary, text, outsider):
            await socket.close()


async def test_it_answers_pings_and_closes_cleanly() -> None:
    async with spawn_ceiling(raw=True) as target:
        socket = await _join(target, "room", MSGPACK)
        async with asyncio.timeout(TIMEOUT):
            await (await socket.ping(b"are you there"))  # resolved by the matching pong

        await socket.close()

        assert socket.close_code == 1000  # its close frame echoed the client's code
        await (await _join(target, "room", JSON)).close()  # and it still serves others


def test_the_report_sets_classbridge_against_the_raw_ceiling_and_it_against_socketio() -> None:
    pairs = comparison_pairs(["classbridge", "socketio", "ceiling", "ceiling-raw"])

    assert ("classbridge", "ceiling-raw") in pairs
    assert ("ceiling-raw", "socketio") in pairs
    assert ("classbridge", "ceiling") in pairs  # the ceiling on Classbridge's stack stays
    assert comparison_pairs(["classbridge", "socketio"]) == [("classbridge", "socketio")]
    assert "ceiling-raw" in parse_systems("all")
    assert ("classbridge", "ceiling-raw", "efficiency", 0.70) in TARGETS
