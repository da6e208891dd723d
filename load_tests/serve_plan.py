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
from load_tests.sio_client import engine_url
from load_tests.wire import SUBPROTOCOLS

PLAN_VERSION = 1
# Written into the message templates below, for a generator to replace.
TOKEN, TEXT, REQUEST_ID = "{token}", "{text}", "{id}"

# Classbridge's protocol v1 (docs/protocol.md), as far as the chat workload goes. The ceilings speak
# the same messages (and nothing else), so a generator drives them with the same code.
CLASSBRIDGE_WIRE: dict[str, Any] = {
    "connect": "a WebSocket to ws_url offering exactly one of subprotocols (the ceilings pick "
    "msgpack whenever it is offered, Classbridge the first it speaks): msgpack frames are "
    "binary, JSON frames text; each message is a map",
    "join": {"type": "join", "token": TOKEN, "id": "join"},
    "join_session": "optional in join: 'session': <the session's id>; Classbridge then refuses "
    "a token of another session (error wrong_session), the ceilings ignore it",
    "joined": "a message whose type is 'welcome' (Classbridge's carries the session's state)",
    "post": {"type": "chat.send", "text": TEXT, "id": REQUEST_ID},
    "delivered": "to every client of the session, the sender included: {'type': 'event', "
    "'seq': n, 'kind': 'chat.posted', 'data': {'text': ..., ...}}. Classbridge also sends "
    "events of other kinds (participant.joined, ...), which take seqs of their own. In this "
    "workload (students posting to the whole session) every event reaches every client, so a "
    "gap in a client's seqs is a loss and a repeat a duplicate; in general a client sees only "
    "the events meant for it (docs/protocol.md, section 8)",
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
    "join": '40{"room": "' + TOKEN + '"}',
    "joined": "a message starting '40{' (the namespace connect answered with a sid)",
    "refused": "a message starting '44' (connect refused: the room was missing)",
    "post": "42" + REQUEST_ID + '["chat",{"text":"' + TEXT + '"}]',
    "delivered": 'to every client of the room, the sender included: 42["chat.posted",'
    '{"seq": n, "text": ..., "from": ...}]. Over Redis (sio-redis-Nw) a room\'s seq comes '
    "from INCR and the emit from the worker that took it, so seqs may arrive out of order",
    "acked": "to the sender: 43" + REQUEST_ID + '[{"seq": n}]',
    "batching": "none: each WebSocket message is one Engine.IO packet",
}

WIRES = {"classbridge": CLASSBRIDGE_WIRE, "socketio": SOCKETIO_WIRE}


@dataclass(frozen=True, slots=True)
class SessionPlan:
    id: str  # Classbridge's session id, or the room name of a baseline
    tokens: list[str]  # one per client

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "tokens": self.tokens}


def ws_url(target: Target) -> str:
    """Where a generator's clients connect."""
    return engine_url(target.ws_url) if target.wire == "socketio" else target.ws_url


def system_entry(target: Target, sessions: list[SessionPlan]) -> dict[str, Any]:
    """The plan's entry for one running system."""
    socketio = target.wire == "socketio"
    return {
        "name": target.name,
        "wire": target.wire,
        "backend": target.broker or "in-process rooms",  # memory:// or the Redis it uses
        "base_url": target.base_url,
        "healthz": target.base_url + "/healthz",
        "ws_url": ws_url(target),
        "subprotocols": [] if socketio else list(SUBPROTOCOLS.values()),
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
        "templates": f"in join and post, replace {TOKEN} with a token, {TEXT} with the chat "
        "text (in socketio's packets, as the inside of a JSON string: escaped, no quotes) and "
        f"{REQUEST_ID} with a request id (an integer; Classbridge's wire also takes a string)",
        "measure": "each system's CPU: /proc/<pid>/stat (utime + stime) of pid and all its "
        "descendants (workers), plus redis_pid when set; or send SIGUSR1 to the serve "
        "process, which prints each system's CPU since the previous SIGUSR1",
        "systems": entries,
        "wires": {name: WIRES[name] for name in wires},
    }
