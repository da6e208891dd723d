"""Recording with consent, in the session core: who may start, consent and stop, and when a
recording starts. Sans-I/O; the server's relay writes the files (server/media/recorder.py).

- ``recording.start``: a teacher or host asks. Asking is consenting for their own class.
- ``recording.consent``: a teacher or host consents for their own class (a host too speaks
  only for the class they belong to: each school answers for its own pupils).
- ``recording.stop``: any teacher or host stops a recording, or withdraws a request.

The recording starts once every class that has a publisher present (a host, teacher or
station: only their media is recorded) has consented. A class whose present publishers
include no teacher (its station alone) cannot consent, so the recording waits for its
teacher or for the station to leave. Only the media of consented classes is ever written:
a class that arrives while the recording runs is not recorded (its publishers are skipped)
until its teacher consents, and the recording goes on for the others meanwhile.

``recording_start`` is run after every event that can complete the consents (a request, a
consent, a presence change) by the worker that appended it, as for the topology. Two workers
may both decide to start; the reducer keeps the first and ignores the second.
"""

from __future__ import annotations

from server.errors import ClassbridgeError, Forbidden
from server.rooms.actor import Actor
from server.rooms.events import Event, EventKind
from server.rooms.roles import Role
from server.rooms.state import RecordingState, SessionState, present_publishers


class RecordingDisabled(ClassbridgeError):
    """The server has no ``recordings_dir``: it cannot record."""

    code = "recording_disabled"
    http_status = 404


class AlreadyRecording(ClassbridgeError):
    code = "already_recording"
    http_status = 409


class NotRequested(ClassbridgeError):
    """Consent or stop with no recording asked for nor running."""

    code = "not_requested"
    http_status = 409


class AlreadyConsented(ClassbridgeError):
    code = "already_consented"
    http_status = 409


STOPPED = "stopped"  # a teacher stopped a running recording
WITHDRAWN = "withdrawn"  # a teacher stopped a request before the recording started
NO_TEACHER = "no_teacher"  # the last teacher or host left: nobody answers for the recording


def _require_teacher(actor: Actor, what: str) -> None:
    if not actor.role.is_teacher:
        raise Forbidden(f"only teachers and hosts may {what} a recording")


def request_recording(state: SessionState, actor: Actor, now: int, *, enabled: bool) -> Event:
    _require_teacher(actor, "start")
    if not enabled:
        raise RecordingDisabled("this server does not record (no recordings folder configured)")
    if state.recording.on:
        raise AlreadyRecording("a recording is already asked for or running")
    data = {"by": actor.participant_id, "class_id": actor.class_id}
    return Event(kind=EventKind.RECORDING_REQUESTED, ts=now, data=data)


def consent_recording(state: SessionState, actor: Actor, now: int) -> Event:
    _require_teacher(actor, "consent to")
    if not state.recording.on:
        raise NotRequested("no recording is asked for")
    if actor.class_id in state.recording.consents:
        raise AlreadyConsented("your class has already consented")
    data = {"class_id": actor.class_id, "by": actor.participant_id}
    return Event(kind=EventKind.RECORDING_CONSENTED, ts=now, data=data)


def stop_recording(state: SessionState, actor: Actor, now: int) -> Event:
    _require_teacher(actor, "stop")
    if not state.recording.on:
        raise NotRequested("no recording is asked for or running")
    reason = STOPPED if state.recording.active else WITHDRAWN
    data = {"by": actor.participant_id, "reason": reason}
    return Event(kind=EventKind.RECORDING_STOPPED, ts=now, data=data)


def classes_to_consent(state: SessionState) -> list[str]:
    """The classes whose consent the recording waits for: those with a publisher present."""
    participants = state.participants
    present = {participants[p].class_id for p in present_publishers(state)}
    return sorted(present - state.recording.consents.keys())


def recording_start(state: SessionState, now: int) -> Event | None:
    """The ``recording.started`` event to append now, or None (nothing asked, already
    running, or a class with a publisher present has not consented)."""
    recording = state.recording
    if not recording.on or recording.active or classes_to_consent(state):
        return None
    data = {"classes": sorted(recording.consents)}
    return Event(kind=EventKind.RECORDING_STARTED, ts=now, data=data)


def recording_follow_up(state: SessionState, now: int) -> Event | None:
    """What the worker that appended a presence, consent or grant change appends next: a stop
    when no teacher or host is present any more (pupils are never recorded with no teacher
    on the call to stop it), else a start when the consents are complete."""
    if state.recording.on and not any(
        p.present and Role(p.role).is_teacher for p in state.participants.values()
    ):
        data = {"by": None, "reason": NO_TEACHER}
        return Event(kind=EventKind.RECORDING_STOPPED, ts=now, data=data)
    return recording_start(state, now)


def recorded_classes(recording: RecordingState) -> frozenset[str]:
    """The classes whose publishers the recorder writes now (none unless running)."""
    return frozenset(recording.consents) if recording.active else frozenset()


# --- the reducer's part --------------------------------------------------------------------


def apply_requested(recording: RecordingState, event: Event) -> None:
    if recording.on:
        return  # two teachers asked at once: the first request in the log holds
    recording.requested_by = event.data["by"]
    recording.requested_at = event.ts
    recording.consents = {event.data["class_id"]: event.data["by"]}


def apply_consented(recording: RecordingState, event: Event) -> None:
    # Decided on a replica that had not yet seen a stop: nothing to consent to any more.
    if recording.on:
        recording.consents.setdefault(event.data["class_id"], event.data["by"])


def apply_started(recording: RecordingState, event: Event) -> None:
    # Not re-checked against presence: a class that arrived meanwhile is simply not
    # recorded until it consents (``recorded_classes``), so every client can take
    # ``recording.started`` as it comes.
    if recording.on and not recording.active:
        recording.active = True
        recording.started_at = event.ts


def apply_stopped(recording: RecordingState, event: Event) -> None:
    recording.requested_by = None
    recording.requested_at = 0
    recording.consents = {}
    recording.active = False
    recording.started_at = 0
