"""The whiteboard over a real server: commands, errors, late joiners, cursors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from server.client import ClassbridgeClient, ClientError
from server.protocol.codec import decode_frame
from server.protocol.peer import PeerCursors
from server.rooms.board.replica import canonical
from tests.conftest import ServerFactory
from tests.helpers import JSON, MSGPACK, collect_until, open_classroom, participant_of, raw_socket

PEN = {"color": "#1a2b3c", "width": 3}


def _stroke(record_id: str, points: list[int]) -> dict[str, Any]:
    record = {"id": record_id, "kind": "stroke", "props": {"points": points, **PEN}}
    return {"type": "board.put", "board": "main", "record": record}


def _append(record_id: str, offset: int, points: list[int], end: bool = False) -> dict[str, Any]:
    message = {"type": "board.append", "board": "main", "record": record_id, "offset": offset}
    return {**message, "points": points, **({"end": True} if end else {})}


async def _draw(client: ClassbridgeClient, record_id: str, segments: int) -> int:
    """A live stroke: begin, appends, end; returns the seq of the last event."""
    await client.command(_stroke(record_id, [0, 0]))
    for n in range(1, segments + 1):
        ack = await client.command(_append(record_id, n, [n, n * 2], end=n == segments))
    return ack.seq or 0


def _board(client: ClassbridgeClient) -> dict[str, Any]:
    return canonical(client.boards["main"])


async def test_concurrent_strokes_converge_for_everyone_and_late_joiners(
    server_factory: ServerFactory,
) -> None:
    room = await open_classroom(await server_factory())
    teacher = await room.teacher(0)
    students = [
        await room.student(n % 2, f"Student {n}", JSON if n % 2 else MSGPACK) for n in range(3)
    ]
    tops = await asyncio.gather(*(_draw(s, f"s{n}", 10) for n, s in enumerate(students)))
    top = max(tops)
    for client in (teacher, *students):
        await collect_until(client, top)
    boards = [_board(c) for c in (teacher, *students)]
    assert all(b == boards[0] for b in boards)
    assert len(boards[0]["records"]) == 3
    assert all(
        len(r["props"]["points"]) == 22 and not r["props"]["open"] for r in boards[0]["records"]
    )
    late = await room.student(1, "Late")
    assert _board(late) == boards[0]


async def test_board_errors_reach_the_sender_only(server_factory: ServerFactory) -> None:
    room = await open_classroom(await server_factory())
    teacher, amani = await room.teacher(0), await room.student(0, "Amani")
    await amani.command(_stroke("s", [0, 0, 1, 1]))
    with pytest.raises(ClientError) as mismatch:
        await amani.command(_append("s", 5, [2, 2]))
    assert mismatch.value.code == "offset_mismatch"
    assert mismatch.value.reply.current is not None
    assert mismatch.value.reply.current["props"]["points"] == [0, 0, 1, 1]
    await teacher.command({"type": "board.access", "board": "main", "mode": "teachers"})
    with pytest.raises(ClientError) as forbidden:
        await amani.command(_stroke("t", [0, 0]))
    assert (forbidden.value.code, forbidden.value.reply.detail) == ("forbidden", "board")
    await amani.ping()


async def test_undo_over_the_wire_and_its_refusal(server_factory: ServerFactory) -> None:
    room = await open_classroom(await server_factory())
    teacher, amani = await room.teacher(0), await room.student(0, "Amani")
    await _draw(amani, "first", 2)
    await _draw(amani, "second", 2)
    patch = {"type": "board.patch", "board": "main", "record": "second", "props": {"width": 9}}
    await teacher.command(patch)
    with pytest.raises(ClientError) as refused:
        await amani.request({"type": "board.undo", "board": "main"})
    assert refused.value.code == "undo_conflict"
    ack = await amani.command({"type": "board.undo", "board": "main"})
    await collect_until(teacher, ack.seq or 0)
    assert [r["id"] for r in _board(teacher)["records"]] == ["second"]
    assert _board(teacher) == _board(amani)


async def test_board_operations_are_rate_limited(server_factory: ServerFactory) -> None:
    room = await open_classroom(await server_factory(board_ops_per_second=0.5, board_ops_burst=3))
    amani = await room.student(0, "Amani")
    await amani.command(_stroke("s", [0, 0]))
    await amani.command(_append("s", 1, [1, 1]))
    await amani.command(_append("s", 2, [2, 2]))
    with pytest.raises(ClientError) as limited:
        await amani.command(_append("s", 3, [3, 3]))
    assert limited.value.code == "rate_limited"
    await amani.chat("chat has its own budget")


async def test_a_big_board_reaches_a_late_joiner_in_frames_under_the_limit(
    server_factory: ServerFactory,
) -> None:
    room = await open_classroom(
        await server_factory(
            max_frame_bytes=4096, board_ops_per_second=1000.0, board_ops_burst=1000
        )
    )
    artist = await room.student(0, "Artist")
    for n in range(40):
        ack = await artist.command(_stroke(f"s{n}", list(range(300))))  # 150 points each
    async with raw_socket(room.server, JSON) as ws:
        await ws.send({"type": "join", "token": await room.student_token(1, "Late"), "id": "j"})
        frames, records, last_seen = [], 0, False
        while not last_seen:
            frame = await asyncio.wait_for(ws.ws.recv(), 5)
            frames.append(frame)
            decoded = decode_frame(frame, JSON)
            for message in decoded if isinstance(decoded, list) else [decoded]:
                if message["type"] == "board.records":
                    records += len(message["records"])
                    last_seen = message["last"]
    assert records == 40
    assert sum(1 for f in frames if "board.records" in f) > 1
    assert all(
        len(f.encode() if isinstance(f, str) else f) <= 4096 for f in frames[1:]
    )  # the welcome may be larger
    assert ack.seq


async def test_cursors_are_coalesced_and_not_logged(server_factory: ServerFactory) -> None:
    room = await open_classroom(await server_factory())
    teacher, amani = await room.teacher(0), await room.student(0, "Amani")
    before = await room.seq()
    moves = 60
    for n in range(moves):
        await amani.send_raw({"type": "cursor", "board": "main", "x": n, "y": -n})
    received: list[PeerCursors] = []
    while True:
        message = await teacher.next_peer_message()
        assert isinstance(message, PeerCursors)
        received.append(message)
        if message.cursors[-1]["x"] == moves - 1:
            break
    newest = {"from": participant_of(amani), "board": "main", "x": moves - 1, "y": 1 - moves}
    assert message.cursors == [newest]
    assert len(received) < moves  # the newest position wins; the others were dropped
    assert await room.seq() == before
    with pytest.raises(ClientError) as refused:
        await amani.request({"type": "cursor", "board": "nowhere", "x": 0, "y": 0})
    assert refused.value.reply.detail == "board"
