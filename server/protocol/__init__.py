"""Wire protocol v1: message types, the two codecs, and close codes. No I/O here."""

from server.protocol.codec import WireFormat, decode_frame, encode_message, pack_batch
from server.protocol.messages import (
    Ack,
    ChatDelete,
    ChatSend,
    ClientMessage,
    ErrorReply,
    EventMessage,
    Join,
    Leave,
    Ping,
    Pong,
    ResumePoint,
    ServerMessage,
    SettingsUpdate,
    Welcome,
    parse_client_message,
    parse_server_message,
)

__all__ = [
    "Ack",
    "ChatDelete",
    "ChatSend",
    "ClientMessage",
    "ErrorReply",
    "EventMessage",
    "Join",
    "Leave",
    "Ping",
    "Pong",
    "ResumePoint",
    "ServerMessage",
    "SettingsUpdate",
    "Welcome",
    "WireFormat",
    "decode_frame",
    "encode_message",
    "pack_batch",
    "parse_client_message",
    "parse_server_message",
]
