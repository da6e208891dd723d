"""Turn a client command into the events to append, after checking it against the state.

``decide`` is pure: it reads the replica's state and the sender's identity, and either returns
events or raises a ``ClassbridgeError`` that the gateway sends back as an error reply.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.errors import UnknownType
from server.protocol.board import is_board_command
from server.protocol.media import MediaRelay
from server.protocol.messages import ChatDelete, ChatSend, ClientMessage, SettingsUpdate
from server.protocol.recording import RecordingConsent, RecordingStart, RecordingStop
from server.rooms.actor import Actor
from server.rooms.board.rules import decide_board
from server.rooms.chat import delete_message, post_message
from server.rooms.events import Event
from server.rooms.media import request_relay
from server.rooms.recording import consent_recording, request_recording, stop_recording
from server.rooms.settings_rules import change_settings
from server.rooms.state import SessionState


@dataclass(frozen=True, slots=True)
class CommandLimits:
    chat_max_chars: int = 2000
    recording: bool = False  # the server has a recordings folder (settings.recordings_dir)


def decide(
    state: SessionState, actor: Actor, command: ClientMessage, now: int, limits: CommandLimits
) -> list[Event]:
    match command:
        case ChatSend(text=text, to=to):
            return [post_message(state, actor, text, to, now, limits.chat_max_chars)]
        case ChatDelete(message_id=message_id):
            return [delete_message(state, actor, message_id, now)]
        case SettingsUpdate(settings=changes):
            return [change_settings(actor, changes, now)]
        case MediaRelay(on=on):
            return [request_relay(actor, on, now)]
        case RecordingStart():
            return [request_recording(state, actor, now, enabled=limits.recording)]
        case RecordingConsent():
            return [consent_recording(state, actor, now)]
        case RecordingStop():
            return [stop_recording(state, actor, now)]
    if is_board_command(command):
        return decide_board(state, actor, command, now)
    raise UnknownType(f"'{command.TYPE}' is not a session command", detail=command.TYPE)
