"""A connection's send queue and paced replay, without sockets: the writer's side is played here."""

from __future__ import annotations

from server.hub.connection import EARLY_VOLATILE_LIMIT, Connection
from server.hub.encoded import EncodedEvent, EncodedMessage
from server.hub.outbox import Outbox
from server.protocol.codec import WireFormat, decode_frame
from server.rooms.events import Event

LIMIT = 2000


def _event(seq: int) -> EncodedEvent:
    return EncodedEvent(seq, Event(kind="chat.posted", ts=0, data={"text": "x" * 150}))


def _connection() -> tuple[Connection, list[Connection]]:
    overflowed: list[Connection] = []
    outbox = Outbox(LIMIT, batch_bytes=500)
    return Connection(WireFormat.JSON, outbox, overflowed.append), overflowed


async def _drain(connection: Connection) -> list[int]:
    """Play the writer until the queue is empty; the seqs of the events it sent."""
    seqs: list[int] = []
    while len(connection.outbox):
        for frame in await connection.outbox.take_batch():
            message = decode_frame(frame, WireFormat.JSON)
            if message["type"] == "event":
                seqs.append(message["seq"])
    return seqs


async def test_a_replay_fills_half_the_queue_and_refills_as_the_writer_drains() -> None:
    connection, overflowed = _connection()
    frame_size = len(_event(1).frame(WireFormat.JSON))
    connection.hold()
    connection.replay([_event(seq) for seq in range(1, 101)])  # far more than the limit
    assert connection.outbox.queued_bytes <= LIMIT // 2
    assert connection.outbox.queued_bytes > LIMIT // 2 - frame_size
    connection.send_message({"type": "pong"})  # a reply still fits
    assert await _drain(connection) == list(range(1, 101))
    assert not overflowed
    assert connection.held is None  # replay done: live events go straight to the queue


async def test_live_events_wait_behind_the_replay() -> None:
    connection, overflowed = _connection()
    connection.hold()
    connection.replay([_event(seq) for seq in range(1, 31)])
    for seq in range(31, 36):
        connection.send_event(_event(seq))
    assert await _drain(connection) == list(range(1, 36))
    connection.send_event(_event(36))
    assert await _drain(connection) == [36]
    assert not overflowed


async def test_too_many_held_events_make_a_slow_client() -> None:
    connection, overflowed = _connection()
    connection.hold()
    connection.replay([_event(seq) for seq in range(1, 31)])
    seq = 31
    while not overflowed:
        connection.send_event(_event(seq))
        seq += 1
    assert connection.slow
    assert overflowed == [connection]
    assert (seq - 31) * len(_event(1).frame(WireFormat.JSON)) > LIMIT  # only past the limit


async def test_events_held_while_the_log_was_read_are_not_sent_twice() -> None:
    connection, _ = _connection()
    connection.hold()
    connection.send_event(_event(5))
    connection.take_held()  # the resume took it into its replay...
    connection.send_event(_event(6))  # ...and this one came after
    connection.replay([_event(5)])
    assert await _drain(connection) == [5, 6]


async def _types(connection: Connection) -> list[str]:
    types: list[str] = []
    while len(connection.outbox):
        for frame in await connection.outbox.take_batch():
            types.append(decode_frame(frame, WireFormat.JSON)["type"])
    return types


async def test_volatile_messages_before_the_welcome_follow_it() -> None:
    """A peer's offer that arrives while this connection resumes must not precede (or miss)
    the welcome: it waits, then goes right after it."""
    connection, _ = _connection()
    signal = EncodedMessage({"type": "peer.signal", "from": "p", "pc": "c", "candidate": {}})
    connection.send_volatile(signal)
    assert len(connection.outbox) == 0
    connection.send_welcome({"type": "welcome"})
    connection.send_volatile(EncodedMessage({"type": "peer.typing", "from": "p"}))
    assert await _types(connection) == ["welcome", "peer.signal", "peer.typing"]


async def test_volatile_messages_kept_before_the_welcome_are_bounded() -> None:
    overflowed: list[Connection] = []
    connection = Connection(WireFormat.JSON, Outbox(100 * LIMIT, 500), overflowed.append)
    typing = EncodedMessage({"type": "peer.typing", "from": "p"})
    for _ in range(EARLY_VOLATILE_LIMIT + 50):
        connection.send_volatile(typing)
    connection.send_welcome({"type": "welcome"})
    assert await _types(connection) == ["welcome"] + ["peer.typing"] * EARLY_VOLATILE_LIMIT
    assert not overflowed


async def test_once_closed_it_gets_replies_but_nothing_more_of_the_session() -> None:
    connection, overflowed = _connection()
    connection.send_welcome({"type": "welcome"})
    connection.send_event(_event(1))  # e.g. its own removal: sent before the close
    connection.close(4006, "removed")
    connection.send_event(_event(2))  # what the session does next
    connection.send_volatile(EncodedMessage({"type": "peer.cursors", "cursors": []}))
    connection.send_message({"type": "ack", "id": 7, "seq": 2})  # its command's answer
    messages = []
    while len(connection.outbox):
        messages += [decode_frame(f, WireFormat.JSON) for f in await connection.outbox.take_batch()]
    assert [(m["type"], m.get("seq")) for m in messages] == [
        ("welcome", None),
        ("event", 1),
        ("ack", 2),
    ]
    assert overflowed == [connection]  # the gateway was told to stop serving
