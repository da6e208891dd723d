"""Golden files for every event the server sends, encoded the way the server encodes them.

The server never sends events through ``EventMessage.to_wire``: a replica encodes each event
once per wire format with ``EncodedEvent(seq, event).frame(wire_format)`` (server/hub), from
``SequencedEvent.to_wire``. So these files are made by that path, from events built by the
server's own builders (presence, chat, settings rules) in a scripted session that the reducer
plays, each event decoded from its log bytes as a replica receives it from the broker.
``session.created`` is built by hand with the layout of ``server.directory.create_session``,
and a test checks that function logs exactly these bytes.

Each file is ``golden/events/<kind>.json`` and ``.msgpack.hex``, with a variant suffix for
kinds that come in more than one shape (``chat.posted.direct``, ``participant.left.left``).
The stored bytes are also parsed with the client-side parser (``decode_frame`` and
``parse_server_message``): what the server sends is what clients accept.
Regenerate with ``CLASSBRIDGE_REGEN_GOLDEN=1`` (see examples.py), then review the diff.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import asdict, dataclass

import pytest

from server import ids
from server.broker.base import HistoryGone, LogPosition
from server.broker.memory import MemoryBroker
from server.directory import SessionSpec, create_session
from server.hub.encoded import EncodedEvent
from server.protocol.board import (
    BoardAccessUpdate,
    BoardAppend,
    BoardClear,
    BoardCommand,
    BoardCreate,
    BoardDelete,
    BoardPatch,
    BoardPut,
    BoardRedo,
    BoardUndo,
)
from server.protocol.codec import WireFormat, decode_frame, encode_message
from server.protocol.messages import EventMessage, parse_server_message
from server.rooms.actor import Actor
from server.rooms.board.history import UndoConflict
from server.rooms.board.rules import decide_board
from server.rooms.chat import delete_message, post_message
from server.rooms.events import Event, EventKind, SequencedEvent
from server.rooms.media import grant_media, request_relay
from server.rooms.presence import joined_event, left_event
from server.rooms.recording import (
    consent_recording,
    recording_start,
    request_recording,
    stop_recording,
)
from server.rooms.reducer import apply_event
from server.rooms.roles import Role
from server.rooms.settings_rules import change_settings
from server.rooms.state import ClassInfo, SessionSettings, SessionState
from server.signaling.topology import topology_change
from tests.protocol.agenda_golden import AGENDA_STEPS
from tests.protocol.breakout_golden import BREAKOUT_STEPS
from tests.protocol.classroom_golden import CLASSROOM_STEPS
from tests.protocol.golden_files import GOLDEN, golden_frame, golden_path, read_golden
from tests.protocol.lobby_golden import LOBBY_STEPS
from tests.protocol.moderation_golden import MODERATION_STEPS

EVENTS = GOLDEN / "events"

# Fixed ids and times, so the files never change unless the wire format does.
T0 = 1_700_000_000_000
SESSION_ID = "s_demo"
TITLE = "Water in our towns"
CLASSES = [
    ClassInfo(id="c1", name="Form 2 Blue", country="KE", timezone="Africa/Nairobi", language="sw"),
    ClassInfo(id="c2", name="7B", country="NO", timezone="Europe/Oslo", language="nb"),
]
SETTINGS = SessionSettings(lobby="open", student_private_chat=False)
CHAT_MAX_CHARS = 2000  # CommandLimits' default

TEACHER = Actor(
    participant_id="p_wanjiru", name="Mwalimu Wanjiru", role=Role.TEACHER, class_id="c1"
)
AMANI = Actor(participant_id="p_amani", name="Amani", role=Role.STUDENT, class_id="c1")
AASE = Actor(participant_id="p_aase", name="Åse", role=Role.STUDENT, class_id="c2")
STATION = Actor(participant_id="p_room_7b", name="7B classroom", role=Role.STATION, class_id="c2")
TEACHER_C2 = Actor(participant_id="p_berg", name="Ingrid Berg", role=Role.TEACHER, class_id="c2")

ROOM_POST_SEQ = 6  # a chat message's id is the seq of the event that posted it
DIRECT_POST_SEQ = 7


def session_created_event(now: int) -> Event:
    """``session.created`` laid out as ``server.directory.create_session`` logs it."""
    return Event(
        kind=EventKind.SESSION_CREATED,
        ts=now,
        data={
            "session_id": SESSION_ID,
            "title": TITLE,
            "classes": [asdict(c) for c in CLASSES],
            "settings": asdict(SETTINGS),
        },
    )


Build = Callable[[SessionState, int], Event]


def board(actor: Actor, command: BoardCommand) -> Build:
    """A board step: the event the board rules decide for ``command``."""
    return lambda state, now: decide_board(state, actor, command, now)[0]


def refused_undo(actor: Actor) -> Build:
    """The event logged with a refused undo (the step is dropped everywhere)."""

    def build(state: SessionState, now: int) -> Event:
        with pytest.raises(UndoConflict) as refused:
            decide_board(state, actor, BoardUndo("main"), now)
        return refused.value.log_anyway

    return build


def decided_topology(state: SessionState, now: int) -> Event:
    change = topology_change(state, now, settled=False)
    assert change is not None
    return change


def started_recording(state: SessionState, now: int) -> Event:
    start = recording_start(state, now)
    assert start is not None
    return start


NOTE = {
    "x": 120,
    "y": -40,
    "w": 200,
    "h": 160,
    "text": "Maji ni uhai 💧\nVann er liv",
    "color": "#ffe066",
}
STROKE = {"points": [0, 0, 4, 3, 9, 7], "color": "#1f6feb", "width": 4}

# The scripted session: (golden file name or None for a setup step, builder(state, now)).
# Steps run in order; each builder sees the state the reducer made of the steps before it.
STEPS: list[tuple[str | None, Build]] = [
    ("session.created", lambda state, now: session_created_event(now)),
    (None, lambda state, now: joined_event(TEACHER, now)),
    ("participant.joined", lambda state, now: joined_event(AMANI, now)),
    (None, lambda state, now: joined_event(AASE, now)),
    (
        "settings.changed",
        lambda state, now: change_settings(TEACHER, {"student_private_chat": True}, now),
    ),
    (
        "chat.posted.room",
        lambda state, now: post_message(
            state, AMANI, "Habari! Mvua inanyesha leo 🌧️\nJe, kwenu?", None, now, CHAT_MAX_CHARS
        ),
    ),
    (
        "chat.posted.direct",
        lambda state, now: post_message(
            state, AMANI, "Mwalimu, こんにちは 👋", TEACHER.participant_id, now, CHAT_MAX_CHARS
        ),
    ),
    ("chat.deleted.room", lambda state, now: delete_message(state, TEACHER, ROOM_POST_SEQ, now)),
    (
        "chat.deleted.direct",
        lambda state, now: delete_message(state, TEACHER, DIRECT_POST_SEQ, now),
    ),
    ("participant.left.left", lambda state, now: left_event(AASE.participant_id, "left", now)),
    (
        "participant.left.disconnected",
        lambda state, now: left_event(AMANI.participant_id, "disconnected", now),
    ),
    ("board.created", board(TEACHER, BoardCreate("group-1", "Kikundi 1 / Gruppe 1"))),
    (
        "board.access_changed",
        board(TEACHER, BoardAccessUpdate("main", mode="selected", classes=["c1", "c2"])),
    ),
    (
        "board.put.stroke",
        board(AMANI, BoardPut("main", {"id": "s1", "kind": "stroke", "props": STROKE})),
    ),
    ("board.appended", board(AMANI, BoardAppend("main", "s1", 3, [14, 12, 20, 15], True))),
    ("board.put.note", board(AASE, BoardPut("main", {"id": "n1", "kind": "note", "props": NOTE}))),
    ("board.patched", board(AASE, BoardPatch("main", "n1", {"text": "Vann er liv"}, z=5))),
    ("board.restored.undo", board(AASE, BoardUndo("main"))),
    ("board.restored.redo", board(AASE, BoardRedo("main"))),
    (None, board(TEACHER, BoardPatch("main", "n1", {"color": "#ffd6e0"}))),
    ("board.step_dropped", refused_undo(AASE)),
    ("board.deleted", board(AMANI, BoardDelete("main", ["s1"]))),
    ("board.cleared", board(TEACHER, BoardClear("main"))),
    ("media.relay_requested", lambda state, now: request_relay(TEACHER, True, now)),
    (None, lambda state, now: joined_event(STATION, now)),
    ("media.topology", lambda state, now: decided_topology(state, now)),
    (
        "recording.requested",
        lambda state, now: request_recording(state, TEACHER, now, enabled=True),
    ),
    (None, lambda state, now: joined_event(TEACHER_C2, now)),
    ("recording.consented", lambda state, now: consent_recording(state, TEACHER_C2, now)),
    ("recording.started", lambda state, now: started_recording(state, now)),
    ("recording.stopped", lambda state, now: stop_recording(state, TEACHER_C2, now)),
    (
        "media.granted",
        lambda state, now: grant_media(state, TEACHER, AMANI.participant_id, True, now),
    ),
    *MODERATION_STEPS,
    *AGENDA_STEPS,
    *CLASSROOM_STEPS,
    *BREAKOUT_STEPS,
    *LOBBY_STEPS,
]


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    name: str | None
    seq: int
    built: Event  # as the builder returned it, before the log
    received: Event  # decoded from the log bytes, as a replica gets it from the broker


def _play() -> list[LoggedEvent]:
    state = SessionState()
    logged = []
    for seq, (name, build) in enumerate(STEPS, start=1):
        built = build(state, T0 + 1_000 * seq)
        received = Event.from_bytes(built.to_bytes())
        apply_event(state, seq, received)
        logged.append(LoggedEvent(name, seq, built, received))
    return logged


LOG = _play()
GOLDEN_EVENTS = {e.name: e for e in LOG if e.name is not None}


def test_the_script_covers_every_event_the_server_emits() -> None:
    assert {e.built.kind for e in GOLDEN_EVENTS.values()} == set(EventKind)
    data = {name: e.built.data for name, e in GOLDEN_EVENTS.items()}
    assert data["participant.left.left"]["reason"] == "left"  # hub.leave
    assert data["participant.left.disconnected"]["reason"] == "disconnected"  # after the grace
    assert "to" not in data["chat.posted.room"]
    assert data["chat.posted.direct"]["to"] == TEACHER.participant_id
    assert "to" not in data["chat.deleted.room"]
    assert "from" not in data["chat.deleted.room"]
    assert data["chat.deleted.direct"]["from"] == AMANI.participant_id
    assert data["chat.deleted.direct"]["to"] == TEACHER.participant_id
    assert data["chat.deleted.room"]["message_id"] == ROOM_POST_SEQ
    assert data["chat.deleted.direct"]["message_id"] == DIRECT_POST_SEQ


@pytest.mark.parametrize("wire_format", list(WireFormat), ids=lambda f: f.name.lower())
@pytest.mark.parametrize("name", sorted(GOLDEN_EVENTS))
def test_event_golden(name: str, wire_format: WireFormat) -> None:
    logged = GOLDEN_EVENTS[name]
    frame = EncodedEvent(logged.seq, logged.received).frame(wire_format)
    golden = golden_frame(golden_path(EVENTS, name, wire_format), frame, wire_format)
    assert frame == golden
    # The event as built (before the log) encodes the same: kinds are StrEnums until decoded.
    assert EncodedEvent(logged.seq, logged.built).frame(wire_format) == golden

    message = parse_server_message(decode_frame(golden, wire_format))
    assert type(message) is EventMessage
    event = logged.built
    assert message == EventMessage(seq=logged.seq, kind=event.kind, ts=event.ts, data=event.data)
    assert (message.seq, message.kind, message.ts, message.data) == (
        logged.seq,
        event.kind,
        event.ts,
        event.data,
    )
    # A client re-encoding what it parsed gets the server's bytes back.
    assert encode_message(message.to_wire(), wire_format) == golden


def test_no_stray_event_golden_files() -> None:
    # After the golden test: a regeneration from scratch writes the files first.
    expected = {golden_path(EVENTS, name, f).name for name in GOLDEN_EVENTS for f in WireFormat}
    assert {p.name for p in EVENTS.iterdir()} == expected


@pytest.mark.parametrize("name", sorted(GOLDEN_EVENTS))
def test_both_encodings_carry_the_same_map(name: str) -> None:
    logged = GOLDEN_EVENTS[name]
    maps = [decode_frame(read_golden(golden_path(EVENTS, name, f), f), f) for f in WireFormat]
    assert maps[0] == maps[1] == SequencedEvent(logged.seq, logged.built).to_wire()


def test_session_created_is_laid_out_as_the_directory_logs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # asyncio.run rather than an async test: nothing in tests/protocol needs pytest-asyncio.
    monkeypatch.setattr(ids, "session_id", lambda: SESSION_ID)
    created = GOLDEN_EVENTS["session.created"]

    async def log_of_a_new_session() -> list[tuple[int, bytes]] | HistoryGone:
        broker = MemoryBroker()
        spec = SessionSpec(TITLE, CLASSES, SETTINGS)
        record = await create_session(broker, spec, created.built.ts)
        assert record.session_id == SESSION_ID
        epoch = (await broker.position(SESSION_ID)).epoch
        return await broker.read_since(SESSION_ID, LogPosition(0, epoch))

    assert asyncio.run(log_of_a_new_session()) == [(created.seq, created.built.to_bytes())]
