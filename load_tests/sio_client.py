"""The generator's socket.io client: Engine.IO v4 packets over a WebSocket, nothing else.

python-socketio's own client queues every packet and runs a task per event; the generator
shares the machine with the server it measures, so it speaks the few packets the chat
workload needs itself, on the same ``LeanSocket`` and the same tallies as the Classbridge
client (``BenchClient.on_chat``): latency, loss and duplicates are counted identically.

Over a WebSocket every WebSocket message is one Engine.IO packet (no payload batching), its
first character the Engine.IO type: ``0`` open (JSON handshake), ``1`` close, ``2`` ping (the
server's, every ``pingInterval``; the client must answer ``3`` pong), ``4`` message. A message
carries a socket.io packet, whose first character is its type: ``40`` connect (the client's
carries its auth payload; the server answers ``40{"sid": ...}``), ``44`` connect refused,
``42[event, data]`` an event, ``42<id>[event, data]`` one that asks for an ack, and
``43<id>[data]`` the ack.
"""

from __future__ import annotations

import asyncio
import json
import time

from load_tests.client import BenchClient, make_stamp
from load_tests.tally import PhaseTally
from load_tests.transport import LeanSocket

ENGINE_PATH = "/socket.io/?EIO=4&transport=websocket"
CHAT_EVENT, POSTED_EVENT = "chat", "chat.posted"


def engine_url(ws_url: str) -> str:
    """The socket.io endpoint of a server whose base WebSocket URL is ``ws://HOST:PORT/ws``."""
    return ws_url.rstrip("/").removesuffix("/ws") + ENGINE_PATH


def chat_packet(ack_id: int, text: str) -> str:
    """``42<id>["chat",{"text":...}]``. json.dumps of the text alone: it is the only part
    that varies, and the stamp and pad never need escaping but stay correct if they did."""
    return f'42{ack_id}["{CHAT_EVENT}",{{"text":{json.dumps(text)}}}]'


class SocketIOClient(BenchClient):
    """One simulated participant of the socket.io baseline; the token is its room's name."""

    async def join(self, url: str, token: str, timeout: float) -> None:
        self._welcome = asyncio.get_running_loop().create_future()
        self._socket = await LeanSocket.connect(engine_url(url), None, self._on_frame, timeout)
        self._socket.closed.add_done_callback(self._on_closed)
        # The namespace connect may go before the server's open packet arrives: the server
        # reads the connection's packets in order, after it sent its open.
        self._socket.send("40" + json.dumps({"room": token}))
        await asyncio.wait_for(asyncio.shield(self._welcome), timeout)

    def send_chat(self, tally: PhaseTally, due_ns: int, measured: bool) -> None:
        assert self._socket is not None, "not joined"
        ack_id = next(self._ids)
        now = time.monotonic_ns()
        text = make_stamp(due_ns, now, tally.index, measured) + self.pad
        tally.on_sent(measured, max(0, now - due_ns))
        if self._socket.send(chat_packet(ack_id, text)):
            self.pending[ack_id] = tally
        else:
            tally.on_error("send on a closed connection")

    # --- receiving: called from the socket's data_received ------------------------------------

    def _on_frame(self, frame: bytes | str) -> None:
        now = time.monotonic_ns()
        if not isinstance(frame, str) or not frame:
            self._note_error("unexpected binary frame")
        elif frame.startswith("42"):
            self._on_posted(frame, now)
        elif frame.startswith("43"):
            self._on_ack(frame)
        elif frame == "2":
            self._pong()
        elif frame.startswith("40"):
            if self._welcome is not None and not self._welcome.done():
                self._welcome.set_result(None)
        elif frame.startswith("44") and self._welcome is not None and not self._welcome.done():
            self._welcome.set_exception(ConnectionError(f"connect refused: {frame[2:]}"))
        elif frame[0] != "0":  # the open packet needs no answer
            self._note_error(f"unexpected packet {frame[:2]}")

    def _on_posted(self, frame: str, now: int) -> None:
        try:
            event = json.loads(frame[2:])
        except ValueError:
            self._note_error("undecodable frame")
            return
        if type(event) is not list or len(event) < 2 or event[0] != POSTED_EVENT:
            return
        data = event[1]
        seq = data.get("seq") if type(data) is dict else None
        if type(seq) is int:
            self.on_chat(seq, data.get("text"), now)

    def _on_ack(self, frame: str) -> None:
        start = frame.find("[")
        try:
            ack_id = int(frame[2:start])
            answer = json.loads(frame[start:])
        except ValueError:
            self._note_error("undecodable ack")
            return
        tally = self.pending.pop(ack_id, None)
        if tally is None:
            return
        data = answer[0] if type(answer) is list and answer else None
        seq = data.get("seq") if type(data) is dict else None
        if seq is None:
            tally.on_error("refused")  # the handler answered without a seq
        else:
            tally.on_ack(self.session, seq)

    def _pong(self) -> None:
        if self._socket is not None:
            self._socket.send("3")
