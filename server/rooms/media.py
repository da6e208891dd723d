"""Media rules in the session core: who may ask for the server's relay."""

from __future__ import annotations

from server.errors import Forbidden
from server.rooms.actor import Actor
from server.rooms.events import Event, EventKind


def request_relay(actor: Actor, on: bool, now: int) -> Event:
    """Teachers may send every class's video through the server (a weak uplink at one
    school, a broadcast to many classes) even when the policy would not."""
    if not actor.role.is_teacher:
        raise Forbidden("only teachers choose how video flows", detail="on")
    data = {"on": on, "by": actor.participant_id}
    return Event(kind=EventKind.MEDIA_RELAY_REQUESTED, ts=now, data=data)
