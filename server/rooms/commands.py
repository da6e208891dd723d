"""Turn a client command into the events to append, after checking it against the state.

``decide`` is pure: it reads the replica's state and the sender's identity, and either returns
events or raises a ``ClassbridgeError`` that the gateway sends back as an error reply.

Each feature of the session core brings its rules as a map from command class to a ``Rule``
(``COMMAND_RULES`` below merges them), so a feature lives in its own module and this one only
lists them.
"""

from __future__ import annotations

from server.errors import UnknownType
from server.protocol.board import is_board_command
from server.protocol.media import MediaGrant, MediaRelay
from server.protocol.messages import ChatDelete, ChatSend, ClientMessage, SettingsUpdate
from server.protocol.recording import RecordingConsent, RecordingStart, RecordingStop
from server.rooms.actor import Actor
from server.rooms.agenda import RULES as AGENDA_RULES
from server.rooms.board.rules import decide_board
from server.rooms.breakouts.chat import post_to_group
from server.rooms.breakouts.rules import RULES as BREAKOUT_RULES
from server.rooms.chat import delete_message, post_message
from server.rooms.events import Event
from server.rooms.hands import RULES as HAND_RULES
from server.rooms.limits import CommandLimits
from server.rooms.lobby import RULES as LOBBY_RULES
from server.rooms.media import grant_media, request_relay
from server.rooms.moderation import RULES as MODERATION_RULES
from server.rooms.moderation import check_may_draw
from server.rooms.polls import RULES as POLL_RULES
from server.rooms.recording import consent_recording, request_recording, stop_recording
from server.rooms.rule import Rule
from server.rooms.settings_rules import change_settings
from server.rooms.state import SessionState

__all__ = ["COMMAND_RULES", "CommandLimits", "decide"]


def _chat_send(
    state: SessionState, actor: Actor, command: ChatSend, now: int, limits: CommandLimits
) -> list[Event]:
    if command.group is not None:  # a breakout group's chat
        return [post_to_group(state, actor, command, now, limits.chat_max_chars)]
    return [post_message(state, actor, command.text, command.to, now, limits.chat_max_chars)]


def _chat_delete(
    state: SessionState, actor: Actor, command: ChatDelete, now: int, limits: CommandLimits
) -> list[Event]:
    return [delete_message(state, actor, command.message_id, now)]


def _settings_update(
    state: SessionState, actor: Actor, command: SettingsUpdate, now: int, limits: CommandLimits
) -> list[Event]:
    return [change_settings(actor, command.settings, now)]


def _media_relay(
    state: SessionState, actor: Actor, command: MediaRelay, now: int, limits: CommandLimits
) -> list[Event]:
    return [request_relay(actor, command.on, now)]


def _media_grant(
    state: SessionState, actor: Actor, command: MediaGrant, now: int, limits: CommandLimits
) -> list[Event]:
    return [grant_media(state, actor, command.participant, command.on, now)]


def _recording_start(
    state: SessionState, actor: Actor, command: RecordingStart, now: int, limits: CommandLimits
) -> list[Event]:
    return [request_recording(state, actor, now, enabled=limits.recording)]


def _recording_consent(
    state: SessionState, actor: Actor, command: RecordingConsent, now: int, limits: CommandLimits
) -> list[Event]:
    return [consent_recording(state, actor, now)]


def _recording_stop(
    state: SessionState, actor: Actor, command: RecordingStop, now: int, limits: CommandLimits
) -> list[Event]:
    return [stop_recording(state, actor, now)]


COMMAND_RULES: dict[type, Rule] = {
    ChatSend: _chat_send,
    ChatDelete: _chat_delete,
    SettingsUpdate: _settings_update,
    MediaRelay: _media_relay,
    MediaGrant: _media_grant,
    RecordingStart: _recording_start,
    RecordingConsent: _recording_consent,
    RecordingStop: _recording_stop,
    **MODERATION_RULES,
    **AGENDA_RULES,
    **BREAKOUT_RULES,
    **HAND_RULES,
    **POLL_RULES,
    **LOBBY_RULES,
}


def decide(
    state: SessionState, actor: Actor, command: ClientMessage, now: int, limits: CommandLimits
) -> list[Event]:
    rule = COMMAND_RULES.get(type(command))
    if rule is not None:
        return rule(state, actor, command, now, limits)
    if is_board_command(command):
        check_may_draw(state, actor)  # a teacher may have turned drawing off for the class
        return decide_board(state, actor, command, now)
    raise UnknownType(f"'{command.TYPE}' is not a session command", detail=command.TYPE)
