"""Messages written straight to the transport: well-formed frames, and used by live connections."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from server.direct_send import DirectSink, frame_header
from server.gateway import Gateway
from server.protocol.codec import WireFormat, decode_frame
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
