"""The pure reducer: ``apply_event(state, seq, event)``.

Deterministic: the same log gives the same state on every replica. It updates the state in
place (a replica owns its state, and copying a large session per event would be wasteful) and
returns it. Events of unknown kinds only advance ``seq``, so an older worker keeps working next
to a newer one during a rolling upgrade.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from server.rooms import agenda, hands, lobby, polls, recording
from server.rooms.attendance import record_join, record_leave
from server.rooms.board import reducer as board
from server.rooms.board.storage import new_boards
from server.rooms.breakouts.reducer import HANDLERS as BREAKOUT_HANDLERS
from server.rooms.events import Event, EventKind
from server.rooms.lobby_state import stored_policy
from server.rooms.moderation_reducer import HANDLERS as MODERATION_HANDLERS
from server.rooms.state import (
    SETTING_NAMES,
    ChatMessage,
    ClassInfo,
    Participant,
    RecordingState,
    SessionSettings,
    SessionState,
    present_publishers,
)
from server.rooms.transcript import TranscriptEntry

# How many deleted message ids a replica remembers (to keep deleted text out of replays).
DELETED_MEMORY = 10_000

Handler = Callable[[SessionState, int, Event], None]


def _session_created(state: SessionState, seq: int, event: Event) -> None:
    data = event.data
    state.session_id = data["session_id"]
    state.title = data["title"]
    state.created_at = event.ts
    state.classes = {c["id"]: ClassInfo(**c) for c in data["classes"]}
    state.settings = SessionSettings.from_wire(data["settings"])
    state.boards = new_boards()


def _participant_joined(state: SessionState, seq: int, event: Event) -> None:
    info: dict[str, Any] = event.data["participant"]
    participant = state.participants.get(info["id"])
    if participant is None:
        participant = Participant(
            id=info["id"],
            name=info["name"],
            role=info["role"],
            class_id=info["class_id"],
            first_joined_at=event.ts,
        )
        state.participants[participant.id] = participant
    participant.name = info["name"]
    participant.present = True
    participant.last_change_at = event.ts
    record_join(state.attendance, participant.id, event.ts)


def _participant_left(state: SessionState, seq: int, event: Event) -> None:
    participant = state.participants.get(event.data["participant_id"])
    if participant is not None:
        participant.present = False
        participant.last_change_at = event.ts
        record_leave(state.attendance, participant.id, event.ts)
        hands.drop_hand(state, participant.id)  # leaving lowers the hand


def _chat_posted(state: SessionState, seq: int, event: Event) -> None:
    data = event.data
    state.chat.append(
        ChatMessage(
            id=seq,
            sender=data["from"],
            class_id=data["class_id"],
            text=data["text"],
            ts=event.ts,
            to=data.get("to"),
            group=data.get("group"),
        )
    )
    entry = TranscriptEntry(
        seq, data["from"], data["class_id"], event.ts, data.get("to"), data["text"]
    )
    entry.group = data.get("group")
    state.transcript.add(entry)


def _chat_deleted(state: SessionState, seq: int, event: Event) -> None:
    message_id = event.data["message_id"]
    state.deleted_messages.add(message_id)
    state.transcript.delete(message_id, event.data.get("by"), event.ts)
    if len(state.deleted_messages) > DELETED_MEMORY:
        # Forget the oldest: their posts have long left the history that replays read.
        state.deleted_messages.discard(min(state.deleted_messages))
    kept = [m for m in state.chat if m.id != message_id]
    if len(kept) != len(state.chat):
        state.chat.clear()
        state.chat.extend(kept)


def _settings_changed(state: SessionState, seq: int, event: Event) -> None:
    for name, value in event.data["changes"].items():
        # Not ``hasattr``: it accepts method names such as ``to_wire``, and assigning one raises,
        # which would stop this replica while the others go on. Unknown names come from a
        # newer worker (see SessionSettings.from_wire).
        if name in SETTING_NAMES:
            # Logs from before the lobby policy hold the old boolean ``lobby``.
            setattr(state.settings, name, stored_policy(value) if name == "lobby" else value)


def _on_boards(handler: board.BoardHandler) -> Handler:
    def apply(state: SessionState, seq: int, event: Event) -> None:
        handler(state.boards, seq, event.data)

    return apply


def _media_topology(state: SessionState, seq: int, event: Event) -> None:
    # Decided on one worker from the publishers it saw; if presence changed before the event
    # reached the log, it no longer fits and is ignored here (the next decision follows).
    if event.data["publishers"] == present_publishers(state):
        state.media.topology = event.data["topology"]


def _media_relay_requested(state: SessionState, seq: int, event: Event) -> None:
    state.media.relay_requested = bool(event.data["on"])


def _media_granted(state: SessionState, seq: int, event: Event) -> None:
    participant_id = event.data["participant_id"]
    if event.data["on"]:
        state.media.grants.add(participant_id)
    else:
        state.media.grants.discard(participant_id)


def _on_recording(handler: Callable[[RecordingState, Event], None]) -> Handler:
    def apply(state: SessionState, seq: int, event: Event) -> None:
        handler(state.recording, event)

    return apply


_HANDLERS: dict[str, Handler] = {
    EventKind.SESSION_CREATED: _session_created,
    EventKind.PARTICIPANT_JOINED: _participant_joined,
    EventKind.PARTICIPANT_LEFT: _participant_left,
    EventKind.CHAT_POSTED: _chat_posted,
    EventKind.CHAT_DELETED: _chat_deleted,
    EventKind.SETTINGS_CHANGED: _settings_changed,
    EventKind.BOARD_CREATED: _on_boards(board.board_created),
    EventKind.BOARD_ACCESS_CHANGED: _on_boards(board.access_changed),
    EventKind.BOARD_PUT: _on_boards(board.record_put),
    EventKind.BOARD_PATCHED: _on_boards(board.record_patched),
    EventKind.BOARD_APPENDED: _on_boards(board.points_appended),
    EventKind.BOARD_DELETED: _on_boards(board.records_deleted),
    EventKind.BOARD_CLEARED: _on_boards(board.board_cleared),
    EventKind.BOARD_RESTORED: _on_boards(board.records_restored),
    EventKind.BOARD_STEP_DROPPED: _on_boards(board.step_dropped),
    EventKind.MEDIA_TOPOLOGY: _media_topology,
    EventKind.MEDIA_RELAY_REQUESTED: _media_relay_requested,
    EventKind.MEDIA_GRANTED: _media_granted,
    EventKind.RECORDING_REQUESTED: _on_recording(recording.apply_requested),
    EventKind.RECORDING_CONSENTED: _on_recording(recording.apply_consented),
    EventKind.RECORDING_STARTED: _on_recording(recording.apply_started),
    EventKind.RECORDING_STOPPED: _on_recording(recording.apply_stopped),
    **MODERATION_HANDLERS,
    **agenda.HANDLERS,
    **BREAKOUT_HANDLERS,
    **hands.HANDLERS,
    **polls.HANDLERS,
    **lobby.HANDLERS,
}


def apply_event(state: SessionState, seq: int, event: Event) -> SessionState:
    handler = _HANDLERS.get(event.kind)
    if handler is not None:
        handler(state, seq, event)
    state.seq = seq
    return state
