"""chat.json and chat.txt: the transcript in log order, as the one who exports may read it.

Direct messages and breakout groups' posts are marked; a deleted message is listed, marked,
without its text (the state no longer has it). Posts older than the transcript keeps are
counted, not listed (server/rooms/transcript.py).
"""

from __future__ import annotations

from typing import Any

from server.export.context import ExportContext, to_json, utc
from server.rooms import transcript
from server.rooms.transcript import TranscriptEntry


def _message(ctx: ExportContext, entry: TranscriptEntry) -> dict[str, Any]:
    message: dict[str, Any] = {
        "id": entry.id,
        "ts": entry.ts,
        "time_utc": utc(entry.ts),
        "from": entry.sender,
        "name": ctx.name_of(entry.sender),
        "class_id": entry.class_id,
        "class_name": ctx.class_name(entry.class_id),
        "direct": entry.to is not None,
        "deleted": entry.text is None,
    }
    if entry.to is not None:
        message["to"] = entry.to
        message["to_name"] = ctx.name_of(entry.to)
    if entry.group is not None:
        message["group"] = entry.group
        message["group_name"] = ctx.group_name(entry.group)
    if entry.text is None:
        message["deleted_by"] = entry.deleted_by and ctx.name_of(entry.deleted_by)
        message["deleted_at_utc"] = utc(entry.deleted_at)
    else:
        message["text"] = entry.text
    return message


def chat_messages(ctx: ExportContext) -> list[dict[str, Any]]:
    return [_message(ctx, e) for e in ctx.state.transcript.entries if ctx.sees(e)]


def chat_json(ctx: ExportContext) -> bytes:
    return to_json(
        {
            "session_id": ctx.state.session_id,
            "exported_at_utc": utc(ctx.now),
            # Older posts than the transcript keeps: counted, not listed.
            "earlier_messages_not_kept": ctx.state.transcript.dropped,
            "kept_at_most": {
                "messages": transcript.MAX_MESSAGES,
                "characters": transcript.MAX_CHARS,
            },
            "messages": chat_messages(ctx),
        }
    )


def _line(message: dict[str, Any]) -> str:
    stamp = message["time_utc"].replace("T", " ").replace("Z", " UTC")
    who = f"{message['name']} ({message['class_name']})"
    if message["direct"]:
        who += f" to {message['to_name']} (direct message)"
    if "group" in message:
        who += f" in {message['group_name']} (breakout group)"
    if message["deleted"]:
        return f"[{stamp}] {who}: [deleted by {message['deleted_by'] or 'a teacher'}]"
    # Lines of a multi-line message are indented under it, so each post starts a line.
    text = message["text"].replace("\r\n", "\n").replace("\n", "\n    ")
    return f"[{stamp}] {who}: {text}"


def chat_txt(ctx: ExportContext) -> bytes:
    header = [f'Chat of "{ctx.state.title}", exported {utc(ctx.now)}']
    if ctx.state.transcript.dropped:
        header.append(f"({ctx.state.transcript.dropped} earlier messages are not kept)")
    lines = header + [""] + [_line(m) for m in chat_messages(ctx)]
    return ("\n".join(lines) + "\n").encode()
