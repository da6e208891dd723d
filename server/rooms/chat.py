"""Chat rules: who may post, to whom, how long, and who may delete."""

from __future__ import annotations

from server.errors import (
    DirectMessageNotAllowed,
    Forbidden,
    InvalidMessage,
    LimitExceeded,
    NotFound,
)
from server.protocol.peer import PeerTyping
from server.rooms.actor import Actor
from server.rooms.events import Event, EventKind
from server.rooms.moderation import check_may_chat
from server.rooms.roles import Role
from server.rooms.state import SessionState
from server.rooms.text import has_forbidden_characters
from server.rooms.visibility import message_visible


def _check_text(text: str, max_chars: int) -> None:
    if not text.strip():
        raise InvalidMessage("chat text is empty", detail="text")
    if len(text) > max_chars:
        raise LimitExceeded(f"chat text is longer than {max_chars} characters", detail="text")
    if has_forbidden_characters(text, multiline=True):
        raise InvalidMessage("chat text contains control characters", detail="text")


def check_direct_message(state: SessionState, sender: Actor, recipient_id: str) -> None:
    """Teachers write to anyone; others write to teachers; students to students only if allowed,
    and never to a student of another class (safeguarding: minors of two schools who have not
    met do not talk privately, whatever the setting)."""
    recipient = state.participants.get(recipient_id)
    if recipient is None:
        raise NotFound("no such participant in this session", detail="to")
    if recipient_id == sender.participant_id:
        raise InvalidMessage("cannot send a direct message to yourself", detail="to")
    if sender.role.is_teacher or Role(recipient.role).is_teacher:
        return
    both_students = sender.role is Role.STUDENT and recipient.role == Role.STUDENT
    same_class = sender.class_id == recipient.class_id
    if both_students and same_class and state.settings.student_private_chat:
        return
    raise DirectMessageNotAllowed("direct messages between these participants are turned off")


def post_message(
    state: SessionState, sender: Actor, text: str, to: str | None, now: int, max_chars: int
) -> Event:
    if not sender.role.may_chat:
        raise Forbidden("observers cannot post to the chat")
    check_may_chat(state, sender, to)
    _check_text(text, max_chars)
    data: dict[str, object] = {"from": sender.participant_id, "class_id": sender.class_id}
    if to is not None:
        check_direct_message(state, sender, to)
        data["to"] = to
    data["text"] = text
    return Event(kind=EventKind.CHAT_POSTED, ts=now, data=data)


def delete_message(state: SessionState, actor: Actor, message_id: int, now: int) -> Event:
    if not actor.role.is_teacher:
        raise Forbidden("only teachers can delete chat messages")
    message = state.find_message(message_id)
    # A direct message the teacher may not read is "not found": deleting must not reveal it.
    if message is None or not message_visible(state, actor, message):
        raise NotFound("no such chat message (deleted, or too old to delete)", detail="message_id")
    data: dict[str, object] = {"message_id": message_id, "by": actor.participant_id}
    if message.to is not None:
        # The parties of a direct message decide who is told of its deletion (visibility.py).
        data["from"], data["to"] = message.sender, message.to
    if message.group is not None:  # told to the breakout group and teachers only
        data["group"] = message.group
    return Event(kind=EventKind.CHAT_DELETED, ts=now, data=data)


def typing_notice(sender: Actor) -> PeerTyping:
    """ "Someone is typing" for the others; only for those who may post themselves."""
    if not sender.role.may_chat:
        raise Forbidden("observers cannot post to the chat")
    return PeerTyping(sender=sender.participant_id)
