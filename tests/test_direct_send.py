"""Messages written straight to the transport: well-formed frames, and used by live connections."""

from __future__ import annotations

from typing import Any

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from server.direct_send import DirectSink, frame_header
from server.gateway import Gateway
from server.protocol.codec import WireFormat, decode_frame, encode_message
from tests.conftest import ServerFactory
from tests.helpers import JSON, MSGPACK, open_classroom, raw_socket, wait_event
from tests.live import LiveServer


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 70_000])
@pytest.mark.parametrize("binary", [True, False])
def test_a_frame_reads_back_as_websockets_parses_it(size: int, binary: bool) -> None:
    payload = b"7" * size
    reader = StreamReader()
    reader.feed_data(frame_header(size, binary) + payload)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False)  # what a client runs on what it reads
    with pytest.raises(StopIteration) as done:
        next(parser)
    frame = done.value.value
    assert frame.opcode is (Opcode.BINARY if binary else Opcode.TEXT)
    assert frame.fin
    assert not frame.rsv1
    assert frame.data == payload
    assert reader.at_eof()  # nothing left over: the length was read right


class _Recorder:
    """A connection that is always writable and keeps what it is given."""

    def __init__(self) -> None:
        self.written: list[bytes] = []

    def can_write_now(self) -> bool:
        return True

    def write_bytes(self, data: bytes) -> None:
        self.written.append(data)


def _read_back(data: bytes, wire_format: WireFormat) -> Any:
    """What a client makes of one frame's bytes: the frame parsed, its payload decoded."""
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    with pytest.raises(StopIteration) as done:
        next(Frame.parse(reader.read_exact, mask=False))
    assert reader.at_eof()
    payload = bytes(done.value.value.data)
    return decode_frame(payload if wire_format.binary else payload.decode(), wire_format)


@pytest.mark.parametrize("wire_format", [WireFormat.MSGPACK, WireFormat.JSON])
def test_one_event_for_a_whole_class_is_framed_once(wire_format: WireFormat) -> None:
    members = [_Recorder() for _ in range(30)]
    sinks = [DirectSink(member, wire_format) for member in members]
    event = encode_message({"type": "event", "seq": 1, "kind": "chat.posted"}, wire_format)
    later = encode_message({"type": "event", "seq": 2, "kind": "chat.posted"}, wire_format)

    for sink in sinks:
        sink.write([event])
    sinks[0].write([later])  # then the next event; and a batch of both for another member
    sinks[1].write([event, later])

    first = members[0].written[0]
    assert all(member.written[0] is first for member in members)  # the same bytes: no copy each
    assert _read_back(first, wire_format)["seq"] == 1
    assert _read_back(members[0].written[1], wire_format)["seq"] == 2  # never the last one's
    batch = _read_back(members[1].written[1], wire_format)
    assert [message["seq"] for message in batch] == [1, 2]


def _gateway(server: LiveServer) -> Gateway:
    gateway = server.server.config.loaded_app.state.services.gateway
    assert isinstance(gateway, Gateway)
    return gateway


async def test_live_connections_are_written_directly_in_both_formats(
    server_factory: ServerFactory,
) -> None:
    server = await server_factory(chat_burst=100, messages_burst=100)
    room = await open_classroom(server)
    teacher = await room.teacher(0)
    readers = [await room.student(1, "Amani", JSON), await room.student(1, "Inês", MSGPACK)]
    sinks = [session.connection.outbox.sink for session in _gateway(server).live]
    assert len(sinks) == 3
    assert all(isinstance(sink, DirectSink) for sink in sinks)
    posted = [(await teacher.chat(f"direct {n}")).seq for n in range(20)]
    for reader in readers:
        seen = [(await wait_event(reader, "chat.posted")).seq for _ in posted]
        assert seen == posted


async def test_a_batch_written_directly_is_one_frame_of_several_messages(
    server_factory: ServerFactory,
) -> None:
    server = await server_factory(chat_burst=100, messages_burst=100)
    room = await open_classroom(server)
    teacher = await room.teacher(0)
    async with raw_socket(server, WireFormat.MSGPACK) as ws:
        await ws.join(await room.student_token(1, "Amani"))
        sink = next(s.connection.outbox.sink for s in _gateway(server).live)
        assert isinstance(sink, DirectSink)
        for n in range(30):  # sent at once: several are queued within one event-loop turn
            await teacher.send_raw({"type": "chat.send", "text": f"quick {n}"})
        seqs: list[int] = []
        batched = False
        while len(seqs) < 30:
            frame = decode_frame(await ws.ws.recv(), WireFormat.MSGPACK)
            batch = frame if isinstance(frame, list) else [frame]
            batched = batched or len(batch) > 1
            seqs += [m["seq"] for m in batch if m.get("kind") == "chat.posted"]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 30
    assert batched
