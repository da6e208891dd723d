"""Reactions: a short emoji that everyone else sees for a moment (volatile, never logged).

Only a fixed list is relayed: a reaction is a signal ("I agree", "I have a question"), not a
message, so it cannot carry text between pupils that the chat rules would not let through.
Observers watch and do not react. Each connection has a budget of its own (server/budgets.py).
"""

from __future__ import annotations

from server.errors import Forbidden, InvalidMessage
from server.protocol.classroom import PeerReaction
from server.rooms.actor import Actor

# Thumbs up, clapping hands, red heart, face with tears of joy, face with open mouth, red
# question mark, party popper. The heart is the two-code-point form every platform shows red.
REACTIONS = (
    "\U0001f44d",
    "\U0001f44f",
    "\u2764\ufe0f",
    "\U0001f602",
    "\U0001f62e",
    "\u2753",
    "\U0001f389",
)


def reaction_notice(sender: Actor, emoji: str) -> PeerReaction:
    if not sender.role.may_chat:
        raise Forbidden("observers do not react")
    if emoji not in REACTIONS:
        raise InvalidMessage("not one of the reactions offered", detail="emoji")
    return PeerReaction(sender=sender.participant_id, emoji=emoji)
