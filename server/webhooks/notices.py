"""Which log events become webhook notices, and on which worker (no I/O here).

Every worker applies every event of the sessions it has loaded, but a notice must leave once:
it is sent by the worker that appended the event (``appended``, called from the hub's append),
so a participant's ``left`` logged by the survivor that swept a dead worker is sent by that
survivor. Two notices depend on the order of the log, which only the in-order apply sees
(``watching`` wraps the replica's event callback): ``session.started`` is the session's very
first ``participant.joined``, and ``session.ended`` the first ``session.ended`` (a second one,
from a teacher who ended it at the same moment, changes nothing and is not announced).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from server.rooms.events import Event, EventKind
from server.rooms.state import SessionState

if TYPE_CHECKING:
    from server.hub.replica import SessionReplica

Notice = dict[str, Any]
Deliver = Callable[[Notice], None]
EventCallback = Callable[["SessionReplica", Event], None]


class Notices:
    def __init__(self) -> None:
        self.deliver: Deliver | None = None  # the sender's queue; None: webhooks are off
        # Per session, the seqs that are a start or an end in log order (see the docstring).
        self._firsts: dict[str, dict[str, int]] = {}

    def watching(self, callback: EventCallback) -> EventCallback:
        def observe(replica: SessionReplica, event: Event) -> None:
            callback(replica, event)
            if self.deliver is not None:
                self._observe(replica.state, event)

        return observe

    def _observe(self, state: SessionState, event: Event) -> None:
        if event.kind == EventKind.PARTICIPANT_JOINED and is_first_join(state, event):
            self._firsts.setdefault(state.session_id, {})["started"] = state.seq
        elif event.kind == EventKind.SESSION_ENDED:
            self._firsts.setdefault(state.session_id, {}).setdefault("ended", state.seq)

    def appended(self, state: SessionState, seq: int, event: Event) -> None:
        """The event at ``seq`` was appended by this worker and is applied: notify."""
        if self.deliver is None:
            return
        firsts = self._firsts.get(state.session_id, {})
        for notice in notices_for(state, seq, event, firsts):
            self.deliver(notice)
        if event.kind == EventKind.SESSION_ENDED:
            self._firsts.pop(state.session_id, None)  # nothing more to tell about it

    def recording_ready(self, about: dict[str, Any], size: int) -> None:
        """A recording file was finished (server/media/recorder.py) on this worker."""
        if self.deliver is None:
            return
        session_id = str(about["session_id"])
        data = {
            "name": about["name"],
            "publisher": about["publisher"],
            "class_id": about["class_id"],
            "started_at": about["started_at"],
            "stopped_at": about.get("stopped_at"),
            "bytes": size,
            "path": f"/api/sessions/{session_id}/recordings/{about['name']}",
        }
        ts = int(time.time() * 1000)
        notice_id = f"{session_id}:recording:{about['name']}"
        self.deliver(notice(notice_id, "recording.ready", session_id, None, ts, data))


def is_first_join(state: SessionState, event: Event) -> bool:
    """Right after applying ``event``: the session's first participant ever, joining first."""
    joined = state.participants.get(event.data["participant"]["id"])
    return (
        len(state.participants) == 1 and joined is not None and joined.first_joined_at == event.ts
    )


def notices_for(
    state: SessionState, seq: int, event: Event, firsts: dict[str, int]
) -> list[Notice]:
    session_id = state.session_id
    match event.kind:
        case EventKind.PARTICIPANT_JOINED:
            info = event.data["participant"]
            joined = {k: info[k] for k in ("id", "name", "role", "class_id")}
            found = [notice_at(session_id, seq, event, {"participant": joined})]
            if firsts.get("started") == seq:
                data = {"title": state.title, "first_participant": joined["id"]}
                started = notice(
                    f"{session_id}:started", "session.started", session_id, seq, event.ts, data
                )
                found.insert(0, started)
            return found
        case EventKind.PARTICIPANT_LEFT:
            data = {k: event.data[k] for k in ("participant_id", "reason")}
            return [notice_at(session_id, seq, event, data)]
        case EventKind.SESSION_ENDED if firsts.get("ended", seq) == seq:
            return [
                notice(
                    f"{session_id}:ended",
                    "session.ended",
                    session_id,
                    seq,
                    event.ts,
                    {"by": event.data["by"]},
                )
            ]
    return []


def notice_at(session_id: str, seq: int, event: Event, data: dict[str, Any]) -> Notice:
    return notice(f"{session_id}:{seq}", event.kind, session_id, seq, event.ts, data)


def notice(
    notice_id: str, kind: str, session_id: str, seq: int | None, ts: int, data: dict[str, Any]
) -> Notice:
    """The JSON body POSTed. ``id`` is the same on every retry: receivers deduplicate by it."""
    return {
        "id": notice_id,
        "type": kind,
        "session_id": session_id,
        "seq": seq,
        "ts": ts,
        "data": data,
    }
