"""What another load generator needs to drive the systems ``serve`` started: the plan file.

One entry per system: where it listens, which process tree (and redis-server) to measure, the
sessions with one token per client, and which wire it speaks. The wires are spelled out once,
as the messages to send and what comes back, so that a generator written without this
repository (another language, another client library) can run the same workload on every
system: join each client with its token, post chats, count the events each client receives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from load_tests.servers import Target
from load_tests.sio_client import ENGINE_PATH

PLAN_VERSION = 1
SUBPROTOCOLS = ["classbridge.v1.msgpack", "classbridge.v1.json"]

# Classbridge's protocol v1 (docs/protocol.md), as far as the chat workload goes. The ceilings speak
# the same messages (and nothing else), so a generator drives them with the same code.
CLASSBRIDGE_WIRE: dict[str, Any] = {
    "connect": "a WebSocket to ws_url offering one of subprotocols: msgpack frames are binary, "
    "JSON frames text; each message is a map",
    "join": {"type": "join", "token": "<one of a session's tokens>", "id": "join"},
    "join_session": "optional in join: 'session': <the session's id>; Classbridge then refuses "
    "a token of another session (error wrong_session), the ceilings ignore it",
    "joined": "a message whose type is 'welcome' (Classbridge's carries the session's state)",
    "post": {"type": "chat.send", "text": "<the chat text>", "id": "<request id, int or str>"},
    "delivered": "to every client of the session, the sender included: {'type': 'event', "
    "'seq': n, 'kind': 'chat.posted', 'data': {'text': ..., ...}}; seq grows by one per "
    "event of the session, so a gap is a loss and a repeat a duplicate. Classbridge sends "
    "events of other kinds too (participant.joined, ...), which take seqs of their own",
    "acked": "to the sender: {'type': 'ack', 'id': <its request id>, 'seq': n}",
    "refused": "{'type': 'error', 'id': <request id>, 'code': ...} (Classbridge only; "
    "codes in docs/protocol.md, section 16)",
    "batching": "Classbridge may send several messages in one frame: a msgpack array of maps, "
    "or a JSON array, to be handled in order as if they came one per frame (docs/protocol.md, "
    "section 2)",
}

SOCKETIO_WIRE: dict[str, Any] = {
    "connect": "a WebSocket to ws_url, no subprotocol, text frames; the server's first "
    "message is the Engine.IO open packet '0{...}'; answer every '2' (ping) with '3' (pong)",
    "join": '40{"room": "<one of a session\'s tokens>"}',
    "joined": "a message starting '40{' (the namespace connect answered with a sid)",
    "post": '42<ack id>["chat",{"text":"<the chat text>"}]',
    "delivered": 'to every client of the room, the sender included: 42["chat.posted",'
    '{"seq": n, "text": ..., "from": ...}]',
    "acked": 'to the sender: 43<ack id>[{"seq": n}]',
    "batching": "none: each WebSocket message is one Engine.IO packet",
}

WIRES = {"classbridge": CLASSBRIDGE_WIRE, "socketio": SOCKETIO_WIRE}


@dataclass(frozen=True, slots=True)
class SessionPlan:
    id: str  # Classbridge's session id, or the room name of a baseline
    tokens: list[str]  # one per client

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "tokens": self.tokens}


def system_entry(target: Target, sessions: list[SessionPlan]) -> dict[str, Any]:
    """The plan's entry for one running system."""
    base_ws = target.ws_url
    socketio = target.wire == "socketio"
    return {
        "name": target.name,
        "wire": target.wire,
        "described": target.broker or ("in-process rooms" if target.api_key is None else ""),
        "base_url": target.base_url,
        "healthz": target.base_url + "/healthz",
        "ws_url": base_ws.removesuffix("/ws") + ENGINE_PATH if socketio else base_ws,
        "subprotocols": [] if socketio else SUBPROTOCOLS,
        "pid": target.pid,
        "redis_pid": None if target.redis is None else target.redis.pid,
        "workers": target.workers,
        "sessions": [session.to_json() for session in sessions],
    }


def room_sessions(sessions: int, clients: int) -> list[SessionPlan]:
    """A baseline's sessions: rooms by name, every client's token the room's name."""
    return [SessionPlan(f"room-{s}", [f"room-{s}"] * clients) for s in range(sessions)]


def build_plan(
    entries: list[dict[str, Any]], sessions: int, clients: int, command: str
) -> dict[str, Any]:
    wires = sorted({entry["wire"] for entry in entries})
    return {
        "version": PLAN_VERSION,
        "command": command,
        "sessions": sessions,
        "clients": clients,
        "measure": "each system's CPU: /proc/<pid>/stat (utime + stime) of pid and all its "
        "descendants (workers), plus redis_pid when set; or send SIGUSR1 to the serve "
        "process, which prints each system's CPU since the previous SIGUSR1",
        "systems": entries,
        "wires": {name: WIRES[name] for name in wires},
    }
