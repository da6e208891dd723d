"""How moderation events change the state (rules: server/rooms/moderation.py). Pure and
deterministic like the rest of the reducer: every replica applies the same log the same way."""

from __future__ import annotations

from collections.abc import Callable

from server.rooms.attendance import record_leave
from server.rooms.events import Event, EventKind
from server.rooms.hands import drop_hand
from server.rooms.moderation_state import MEDIA_KINDS
from server.rooms.state import Participant, SessionState


def _leave(state: SessionState, participant: Participant, ts: int) -> None:
    """Removed or ended: the participant leaves now, as a ``participant.left`` would do."""
    if participant.present:
        participant.present = False
        participant.last_change_at = ts
        record_leave(state.attendance, participant.id, ts)
    drop_hand(state, participant.id)  # leaving lowers the hand (protocol section 25)


def _update_kinds(kinds: set[str], event: Event) -> None:
    for kind in MEDIA_KINDS:
        asked = event.data.get(kind)
        if asked is True:
            kinds.add(kind)
        elif asked is False:
            kinds.discard(kind)


def muted(state: SessionState, seq: int, event: Event) -> None:
    moderation = state.moderation
    participant_id = event.data.get("participant")
    if participant_id is not None:
        _update_kinds(moderation.muted.setdefault(participant_id, set()), event)
        return
    class_id = event.data["class"]
    _update_kinds(moderation.class_muted.setdefault(class_id, set()), event)
    # Lifting a class request lifts it for each member too: "unmute the class" means everyone.
    lifted = [kind for kind in MEDIA_KINDS if event.data.get(kind) is False]
    for participant in state.participants.values():
        if participant.class_id == class_id and participant.id in moderation.muted:
            moderation.muted[participant.id].difference_update(lifted)


def removed(state: SessionState, seq: int, event: Event) -> None:
    # The removed participant's connections are closed by each worker (hub/enforcement.py);
    # they leave now, so no ``participant.left`` has to follow.
    participant = state.participants.get(event.data["participant_id"])
    if participant is not None:
        _leave(state, participant, event.ts)
    if event.data.get("barred"):
        state.moderation.barred.add(event.data["participant_id"])


def locked(state: SessionState, seq: int, event: Event) -> None:
    state.moderation.locked = bool(event.data["locked"])


def ended(state: SessionState, seq: int, event: Event) -> None:
    moderation = state.moderation
    if moderation.ended:
        return  # two teachers ended it at once: the first in the log counts
    moderation.ended_by, moderation.ended_at = event.data["by"], event.ts
    for participant in state.participants.values():
        _leave(state, participant, event.ts)


def permissions_changed(state: SessionState, seq: int, event: Event) -> None:
    class_id = event.data["class"]
    moderation = state.moderation
    for name, disabled in (
        ("chat", moderation.chat_disabled),
        ("drawing", moderation.drawing_disabled),
    ):
        allowed = event.data.get(name)
        if allowed is True:
            disabled.discard(class_id)
        elif allowed is False:
            disabled.add(class_id)


def scope_changed(state: SessionState, seq: int, event: Event) -> None:
    state.moderation.teachers_own_class = bool(event.data["teachers_own_class"])


HANDLERS: dict[str, Callable[[SessionState, int, Event], None]] = {
    EventKind.MODERATION_MUTED: muted,
    EventKind.PARTICIPANT_REMOVED: removed,
    EventKind.SESSION_LOCKED: locked,
    EventKind.SESSION_ENDED: ended,
    EventKind.CLASS_PERMISSIONS_CHANGED: permissions_changed,
    EventKind.MODERATION_SCOPE_CHANGED: scope_changed,
}
