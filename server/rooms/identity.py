"""Is the identity in a token usable in this session? Checked when a connection joins."""

from __future__ import annotations

from server.errors import TokenInvalid
from server.rooms.actor import Actor
from server.rooms.state import SessionState


def check_identity(state: SessionState, actor: Actor) -> None:
    """The class must exist, and a participant id keeps the role and class it first joined
    with: a token minted with someone else's id cannot speak as them in another role or class.
    """
    if actor.class_id not in state.classes:
        raise TokenInvalid("the join token names a class this session does not have")
    known = state.participants.get(actor.participant_id)
    if known is not None and (known.role, known.class_id) != (actor.role.value, actor.class_id):
        raise TokenInvalid("this participant id belongs to someone with another role or class")
