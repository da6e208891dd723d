"""Media rules in the session core: who may ask for the server's relay, and who may let a
student take part in video."""

from __future__ import annotations

from server.errors import Forbidden, InvalidMessage, NotFound
from server.rooms.actor import Actor
from server.rooms.events import Event, EventKind
from server.rooms.roles import Role
from server.rooms.state import SessionState


def request_relay(actor: Actor, on: bool, now: int) -> Event:
    """Teachers may send every class's video through the server (a weak uplink at one
    school, a broadcast to many classes) even when the policy would not."""
    if not actor.role.is_teacher:
        raise Forbidden("only teachers choose how video flows", detail="on")
    data = {"on": on, "by": actor.participant_id}
    return Event(kind=EventKind.MEDIA_RELAY_REQUESTED, ts=now, data=data)


def grant_media(
    state: SessionState, actor: Actor, participant_id: str, on: bool, now: int
) -> Event:
    """Students have no camera on by default (a class station shows the class); a teacher may
    let one present to everyone, with their own device. Only students: other roles take part
    in video by role (hosts, teachers, stations) or never (observers)."""
    if not actor.role.is_teacher:
        raise Forbidden("only teachers let students take part in video", detail="participant")
    target = state.participants.get(participant_id)
    if target is None:
        raise NotFound("no such participant in this session", detail="participant")
    if target.role != Role.STUDENT:
        raise InvalidMessage("only students are granted video", detail="participant")
    data = {"participant_id": participant_id, "on": on, "by": actor.participant_id}
    return Event(kind=EventKind.MEDIA_GRANTED, ts=now, data=data)
