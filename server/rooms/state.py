"""The state of one session, as built by the reducer from the log."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import msgpack

from server.rooms.agenda_state import AgendaState, dump_agenda, load_agenda
from server.rooms.attendance import Attendance, dump_attendance, load_attendance
from server.rooms.board.model import Board
from server.rooms.board.storage import dump_board, load_board, new_boards
from server.rooms.breakouts.model import BreakoutState
from server.rooms.classroom_model import (
    Poll,
    RaisedHand,
    dump_hands,
    dump_polls,
    load_hands,
    load_polls,
)
from server.rooms.lobby_state import LobbyPolicy, LobbyState, stored_policy
from server.rooms.moderation_state import ModerationState
from server.rooms.roles import Role
from server.rooms.transcript import Transcript

# Recent chat kept in the state (and so in snapshots for late joiners). The export reads the
# longer, bounded transcript (server/rooms/transcript.py) instead.
CHAT_HISTORY = 200


@dataclass(slots=True)
class ClassInfo:
    id: str
    name: str
    country: str
    timezone: str
    language: str

    def to_wire(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Participant:
    id: str
    name: str
    role: str
    class_id: str
    present: bool = False
    first_joined_at: int = 0
    last_change_at: int = 0

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "class_id": self.class_id,
            "present": self.present,
        }


@dataclass(slots=True)
class ChatMessage:
    id: int  # the seq of the event that posted it: unique and the same on every replica
    sender: str
    class_id: str
    text: str
    ts: int
    to: str | None = None
    group: str | None = None  # a breakout group's chat (server/rooms/breakouts/access.py)

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "id": self.id,
            "from": self.sender,
            "class_id": self.class_id,
            "text": self.text,
            "ts": self.ts,
        }
        if self.to is not None:
            wire["to"] = self.to
        if self.group is not None:
            wire["group"] = self.group
        return wire


@dataclass(slots=True)
class SessionSettings:
    lobby: str = LobbyPolicy.OPEN.value  # who waits in the lobby (server/rooms/lobby.py)
    student_private_chat: bool = False

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> SessionSettings:
        """Known settings only: during a rolling upgrade a newer worker may log settings that
        this one does not have yet, and its replica must keep working."""
        return cls(**{name: value for name, value in data.items() if name in SETTING_NAMES})

    def __post_init__(self) -> None:
        # Snapshots and logs from before the lobby policy hold the old boolean.
        self.lobby = stored_policy(self.lobby)

    def to_wire(self) -> dict[str, Any]:
        return asdict(self)


SETTING_NAMES = frozenset(f.name for f in fields(SessionSettings))


@dataclass(slots=True)
class MediaState:
    topology: str = "none"  # see server/signaling/topology.py
    relay_requested: bool = False  # a teacher asked for the server's relay
    # Students a teacher let take part in video (their roles do not by default).
    grants: set[str] = field(default_factory=set)

    def to_wire(self) -> dict[str, Any]:
        return {
            "topology": self.topology,
            "relay_requested": self.relay_requested,
            "grants": sorted(self.grants),
        }

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> MediaState:
        # Snapshots from before grants have none.
        grants = set(data.get("grants", ()))
        return cls(data["topology"], data["relay_requested"], grants)


@dataclass(slots=True)
class RecordingState:
    """A recording asked for, the classes that consented, and whether it runs (rules:
    server/rooms/recording.py). All empty when nobody asked for one."""

    requested_by: str | None = None
    requested_at: int = 0
    consents: dict[str, str] = field(default_factory=dict)  # class id -> who consented
    active: bool = False
    started_at: int = 0

    @property
    def on(self) -> bool:
        """Requested or running: the media must reach the server (topology ``relay``)."""
        return self.requested_by is not None

    def to_wire(self) -> dict[str, Any]:
        return {
            "requested_by": self.requested_by,
            "requested_at": self.requested_at,
            "consents": dict(self.consents),
            "active": self.active,
            "started_at": self.started_at,
        }


@dataclass(slots=True)
class SessionState:
    session_id: str = ""
    title: str = ""
    seq: int = 0
    created_at: int = 0
    classes: dict[str, ClassInfo] = field(default_factory=dict)
    participants: dict[str, Participant] = field(default_factory=dict)
    chat: deque[ChatMessage] = field(default_factory=lambda: deque(maxlen=CHAT_HISTORY))
    deleted_messages: set[int] = field(default_factory=set)
    settings: SessionSettings = field(default_factory=SessionSettings)
    boards: dict[str, Board] = field(default_factory=dict)
    media: MediaState = field(default_factory=MediaState)
    recording: RecordingState = field(default_factory=RecordingState)
    # For the export (server/export): merged presence intervals, and the bounded transcript.
    attendance: dict[str, Attendance] = field(default_factory=dict)
    transcript: Transcript = field(default_factory=Transcript)
    moderation: ModerationState = field(default_factory=ModerationState)
    # Every session starts with the default agenda, not started (server/rooms/agenda.py).
    agenda: AgendaState = field(default_factory=AgendaState)
    lobby: LobbyState = field(default_factory=LobbyState)  # server/rooms/lobby.py
    hands: list[RaisedHand] = field(default_factory=list)  # in line order (rooms/hands.py)
    polls: dict[int, Poll] = field(default_factory=dict)  # by id, oldest first (rooms/polls.py)
    breakouts: BreakoutState = field(default_factory=BreakoutState)  # server/rooms/breakouts/

    def is_present(self, participant_id: str) -> bool:
        participant = self.participants.get(participant_id)
        return participant is not None and participant.present

    def find_message(self, message_id: int) -> ChatMessage | None:
        for message in self.chat:
            if message.id == message_id:
                return message
        return None


def takes_part_in_video(state: SessionState, participant_id: str) -> bool:
    """Hosts, teachers and stations by their role; students when a teacher granted it."""
    participant = state.participants.get(participant_id)
    if participant is None:
        return False
    return Role(participant.role).may_use_media or participant_id in state.media.grants


def present_publishers(state: SessionState) -> list[str]:
    """Who takes part in video now, sorted: the same list on every replica."""
    return sorted(
        p.id
        for p in state.participants.values()
        if p.present and (Role(p.role).may_use_media or p.id in state.media.grants)
    )


def dump_state(state: SessionState) -> dict[str, Any]:
    """The whole state as plain data, for snapshots kept by the broker (see ``pack_state``).

    Records are stored as rows (lists in field order) rather than maps: a snapshot is taken
    on the event loop every few hundred events, and rows are several times cheaper to build
    than ``dataclasses.asdict`` (measured in the chat fan-out benchmark).
    """
    return {**_dump_all_but_transcript(state), "transcript": state.transcript.dump()}


def pack_state(state: SessionState) -> bytes:
    """``msgpack.packb(dump_state(state))``, byte for byte, without building or packing the
    transcript's rows again: they were packed once each, as they were added, and a full
    transcript (5000 rows) is most of a chatty session's snapshot."""
    packer = msgpack.Packer(use_bin_type=True)
    rest = _dump_all_but_transcript(state)
    parts = [packer.pack_map_header(len(rest) + 1)]
    for key, value in rest.items():
        parts.append(packer.pack(key))
        parts.append(packer.pack(value))
    parts.append(packer.pack("transcript"))
    parts.extend(state.transcript.pack())
    return b"".join(parts)


def _dump_all_but_transcript(state: SessionState) -> dict[str, Any]:
    return {
        "session_id": state.session_id,
        "title": state.title,
        "seq": state.seq,
        "created_at": state.created_at,
        "classes": [
            [c.id, c.name, c.country, c.timezone, c.language] for c in state.classes.values()
        ],
        "participants": [
            [p.id, p.name, p.role, p.class_id, p.present, p.first_joined_at, p.last_change_at]
            for p in state.participants.values()
        ],
        "chat": [[m.id, m.sender, m.class_id, m.text, m.ts, m.to, m.group] for m in state.chat],
        "deleted_messages": sorted(state.deleted_messages),
        "settings": state.settings.to_wire(),
        "boards": [dump_board(board) for board in state.boards.values()],
        "media": state.media.to_wire(),
        "recording": state.recording.to_wire(),
        "attendance": dump_attendance(state.attendance),
        "moderation": state.moderation.to_wire(),
        "agenda": dump_agenda(state.agenda),
        "lobby": state.lobby.dump(),
        "hands": dump_hands(state.hands),
        "polls": dump_polls(state.polls),
        "breakouts": state.breakouts.to_wire(),
    }


def load_state(data: dict[str, Any]) -> SessionState:
    state = SessionState(
        session_id=data["session_id"],
        title=data["title"],
        seq=data["seq"],
        created_at=data["created_at"],
        settings=SessionSettings.from_wire(data["settings"]),
    )
    state.classes = {row[0]: ClassInfo(*row) for row in data["classes"]}
    state.participants = {row[0]: Participant(*row) for row in data["participants"]}
    state.chat.extend(ChatMessage(*row) for row in data["chat"])
    state.deleted_messages = set(data["deleted_messages"])
    if "media" in data:  # snapshots from before video have none: nothing flows yet
        state.media = MediaState.from_wire(data["media"])
    if "recording" in data:  # snapshots from before recording have none: nothing was asked
        state.recording = RecordingState(**data["recording"])
    # Snapshots from before the export have neither: attendance counts from the next join,
    # and the transcript from the next post.
    state.attendance = load_attendance(data.get("attendance", []))
    if "transcript" in data:
        state.transcript = Transcript.load(data["transcript"])
    if "moderation" in data:  # snapshots from before moderation have none: nothing decided
        state.moderation = ModerationState.from_wire(data["moderation"])
    if "agenda" in data:  # snapshots from before the agenda: the default one, not started
        state.agenda = load_agenda(data["agenda"])
    if "lobby" in data:  # snapshots from before the lobby: nobody waits, nobody was let in
        state.lobby = LobbyState.load(data["lobby"])
    # Snapshots from before hands and polls have none: no hand up, no poll asked.
    state.hands = load_hands(data.get("hands", []))
    state.polls = load_polls(data.get("polls", []))
    if "breakouts" in data:  # snapshots from before breakouts: no group was ever open
        state.breakouts = BreakoutState.from_wire(data["breakouts"])
    if "boards" in data:
        state.boards = {row[0]: load_board(row) for row in data["boards"]}
    elif state.session_id:
        state.boards = new_boards()  # a snapshot from before the whiteboard
    return state
