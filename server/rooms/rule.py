"""The shape of a command rule: the replica's state, who sent it, the command, the time the
worker stamps on events, and the server's limits in; the events to append out (or a
``ClassbridgeError`` raised). Pure: no clock, no I/O."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from server.rooms.actor import Actor
from server.rooms.events import Event
from server.rooms.limits import CommandLimits
from server.rooms.state import SessionState

# The command parameter is ``Any`` because each rule takes its own command class; the
# registry (commands.COMMAND_RULES) pairs each rule with that class.
Rule = Callable[[SessionState, Actor, Any, int, CommandLimits], list[Event]]
