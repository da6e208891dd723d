"""A post to a breakout group's chat: ``chat.send`` with a ``group``. The ordinary chat rules
apply (text, moderation), then the group's: a teacher or one of its members, while the group
exists. The post is a ``chat.posted`` event with the ``group``, so deleting it and keeping its
text out of replays work as for any post; visibility.py shows it to the group and teachers."""

from __future__ import annotations

from server.errors import InvalidMessage
from server.protocol.messages import ChatSend
from server.rooms.actor import Actor
from server.rooms.breakouts.access import check_group_post
from server.rooms.chat import post_message
from server.rooms.events import Event
from server.rooms.state import SessionState


def post_to_group(
    state: SessionState, sender: Actor, command: ChatSend, now: int, max_chars: int
) -> Event:
    group, text = command.group, command.text
    assert group is not None
    if command.to is not None:
        raise InvalidMessage("a post goes to a person or to a group, not both", detail="group")
    check_group_post(state, sender, group)
    posted = post_message(state, sender, text, None, now, max_chars)
    return Event(kind=posted.kind, ts=posted.ts, data={**posted.data, "group": group})
