"""One example of every protocol v1 message type, shared by the golden-file and fuzz tests.

The golden files in ``golden/`` hold these examples as the codecs write them. To rewrite them
after a deliberate change of the wire format (never automatically):

    CLASSBRIDGE_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/protocol

then review the diff: every changed byte is a change every client sees.
"""

from __future__ import annotations

from server.protocol.agenda import (
    AgendaAdvance,
    AgendaBack,
    AgendaFinish,
    AgendaSet,
    PhaseSpec,
    ReflectionAnswer,
)
from server.protocol.board import (
    BoardAccessUpdate,
    BoardAppend,
    BoardClear,
    BoardCreate,
    BoardDelete,
    BoardPatch,
    BoardPut,
    BoardRecords,
    BoardRedo,
    BoardUndo,
)
from server.protocol.breakouts import (
    BreakoutAnswer,
    BreakoutBroadcast,
    BreakoutCallTeacher,
    BreakoutClose,
    BreakoutMove,
    BreakoutOpen,
    BreakoutVisit,
)
from server.protocol.classroom import (
    HandClear,
    HandLower,
    HandRaise,
    PeerReaction,
    PollAnswer,
    PollClose,
    PollCreate,
    Reaction,
)
from server.protocol.ice import IceRefresh, IceServers
from server.protocol.lobby import LobbyAdmit, LobbyDeny, LobbyWait
from server.protocol.media import MediaGrant, MediaRelay
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
)
from server.protocol.moderation import (
    ModerationClass,
    ModerationLock,
    ModerationMute,
    ModerationRemove,
    ModerationScope,
    SessionEnd,
)
from server.protocol.peer import Cursor, PeerCursors, PeerSignal, PeerTyping, Signal, Typing
from server.protocol.recording import RecordingConsent, RecordingStart, RecordingStop

_STROKE = {"points": [0, 0, 4, 3], "color": "#1f6feb", "width": 4}

TOKEN = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzaWQiOiJzX2RlbW8ifQ.c2lnbmF0dXJl"

CLIENT_EXAMPLES: dict[str, ClientMessage] = {
    "join": Join(
        token=TOKEN, resume=ResumePoint(seq=41, epoch="9f3a1c2e"), session="s_demo", id="join-1"
    ),
    "chat.send": ChatSend(text="Habari! こんにちは 👋\nLine two", to="p_teacher", id=7),
    "chat.delete": ChatDelete(message_id=43, id="del-1"),
    "settings.update": SettingsUpdate(
        settings={"student_private_chat": True, "lobby": "class"}, id=8
    ),
    "ping": Ping(id=-9_007_199_254_740_993),
    "leave": Leave(),
    "signal": Signal(
        to="p_station_ke",
        pc="cam-1",
        description={
            "type": "offer",
            "sdp": "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n",
        },
        id="sig-1",
    ),
    "typing": Typing(),
    "cursor": Cursor(board="main", x=-120, y=48),
    "board.put": BoardPut(
        board="main", record={"id": "s-7f3a", "kind": "stroke", "props": _STROKE}, id=11
    ),
    "board.patch": BoardPatch(
        board="main", record="n-2", props={"text": "Maji ni uhai 💧"}, z=9, id=12
    ),
    "board.append": BoardAppend(
        board="main", record="s-7f3a", offset=2, points=[9, 7, 14, 12], end=True
    ),
    "board.delete": BoardDelete(board="main", records=["s-7f3a", "n-2"], id=13),
    "board.clear": BoardClear(board="main", id=14),
    "board.undo": BoardUndo(board="main", id=15),
    "board.redo": BoardRedo(board="group-1"),
    "board.access": BoardAccessUpdate(
        board="main", mode="selected", classes=["c1"], participants=["p_aase"], locked=False, id=16
    ),
    "board.create": BoardCreate(board="group-1", title="Kikundi 1 / Gruppe 1", id=17),
    "media.relay": MediaRelay(on=True, id=18),
    "media.grant": MediaGrant(participant="p_amani", on=True, id=19),
    "recording.start": RecordingStart(id=19),
    "recording.consent": RecordingConsent(id="consent-c2"),
    "recording.stop": RecordingStop(),
    "ice.refresh": IceRefresh(id="ice-1"),
    "agenda.set": AgendaSet(
        phases=(
            PhaseSpec(name="Karibu / Velkommen", minutes=10),
            PhaseSpec(name="Reflect", minutes=5, prompt="Ni nini ulijifunza? Hva lærte du?"),
        ),
        id="agenda-1",
    ),
    "agenda.advance": AgendaAdvance(from_phase=-1, id=40),
    "agenda.back": AgendaBack(from_phase=1, id=41),
    "agenda.finish": AgendaFinish(from_phase=1),
    "reflection.answer": ReflectionAnswer(phase=1, text="Bergen ina mvua nyingi 🌧️", id=42),
    "moderation.mute": ModerationMute(participant="p_amani", audio=True, video=False, id=30),
    "moderation.remove": ModerationRemove(participant="p_amani", bar=True, id="rm-1"),
    "moderation.lock": ModerationLock(locked=True, id=31),
    "moderation.class": ModerationClass(class_id="c2", chat=False, id=32),
    "moderation.scope": ModerationScope(teachers_own_class=True),
    "session.end": SessionEnd(id="end"),
    "hand.raise": HandRaise(id="hand-1"),
    "hand.lower": HandLower(participant="p_amani", id=60),
    "hand.clear": HandClear(),
    "reaction": Reaction(emoji="\U0001f44f"),
    "poll.create": PollCreate(
        question="Mto upi ni mrefu zaidi? / Hvilken elv er lengst?",
        options=["Tana", "Glomma", "Nile 🌍"],
        multiple=True,
        anonymous=True,
        id="poll-1",
    ),
    "poll.answer": PollAnswer(poll=44, choices=[0, 2], id=61),
    "poll.close": PollClose(poll=44),
    "breakout.open": BreakoutOpen(
        size=4, seed=2026, minutes=20, names=["Mto / Elva", "Mlima / Fjell"], id="bo-1"
    ),
    "breakout.move": BreakoutMove(participant="p_aase", group="r1-g2", id=50),
    "breakout.broadcast": BreakoutBroadcast(text="Dakika tano / Fem minutter ⏳", id=51),
    "breakout.close": BreakoutClose(id=52),
    "breakout.call_teacher": BreakoutCallTeacher(id="call-1"),
    "breakout.answer": BreakoutAnswer(group="r1-g1", id=53),
    "breakout.visit": BreakoutVisit(group="r1-g2"),
    "lobby.admit": LobbyAdmit(participant="p_amani", id="admit-1"),
    "lobby.deny": LobbyDeny(class_id="c2", id=70),
}

_AMANI = {"id": "p_amani", "name": "Amani", "role": "student", "class_id": "c1"}

SERVER_EXAMPLES: dict[str, ServerMessage] = {
    "welcome": Welcome(
        participant=_AMANI,
        seq=42,
        epoch="9f3a1c2e",
        resume="none",
        session={
            "id": "s_demo",
            "title": "Water in our towns",
            "classes": [
                {
                    "id": "c1",
                    "name": "Form 2 Blue",
                    "country": "KE",
                    "timezone": "Africa/Nairobi",
                    "language": "sw",
                    "participants": [{**_AMANI, "present": True}],
                },
            ],
            "chat": [
                {
                    "id": 40,
                    "from": "p_amani",
                    "class_id": "c1",
                    "text": "Jambo",
                    "ts": 1700000000000,
                }
            ],
            "settings": {"lobby": "open", "student_private_chat": False},
        },
        id="join-1",
        server_time=1_700_000_002_500,
    ),
    "event": EventMessage(
        seq=43,
        kind="chat.posted",
        ts=1_700_000_001_234,
        data={"from": "p_ingrid", "class_id": "c2", "text": "Hei fra Bergen 🌧️"},
    ),
    "ack": Ack(id=7, seq=43),
    "error": ErrorReply(
        code="rate_limited",
        message="too many chat messages: slow down",
        id="chat-9",
        detail="text",
        retry_after_ms=1500,
    ),
    "pong": Pong(id="p-1"),
    "peer.signal": PeerSignal(
        sender="p_station_pt",
        pc="cam-1",
        candidate={
            "candidate": "candidate:1 1 udp 2122260223 192.0.2.7 54400 typ host",
            "sdpMid": "0",
            "sdpMLineIndex": 0,
        },
    ),
    "peer.typing": PeerTyping(sender="p_amani"),
    "peer.reaction": PeerReaction(sender="p_aase", emoji="\u2764\ufe0f"),
    "peer.cursors": PeerCursors(
        cursors=[
            {"from": "p_amani", "board": "main", "x": -120, "y": 48},
            {"from": "p_aase", "board": "main", "x": 300, "y": 12},
        ]
    ),
    "board.records": BoardRecords(
        board="main",
        records=[
            {
                "id": "s-7f3a",
                "kind": "stroke",
                "author": "p_amani",
                "class_id": "c1",
                "z": 1,
                "seq": 44,
                "props": {**_STROKE, "open": False},
            }
        ],
        last=True,
    ),
    # A station's servers: STUN as configured, TURN with a credential made by the TURN REST
    # scheme (see tests/signaling/test_ice.py for how it is checked).
    "ice.servers": IceServers(
        servers=[
            {"urls": ["stun:stun.example.org:3478"]},
            {
                "urls": ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:443"],
                "username": "1700003600:p_station_ke",
                "credential": "Jhm2DZu4u6aYpdMOjZ19S4Nlu9k=",
            },
        ],
        expires_at=1_700_003_600_000,
        id="ice-1",
    ),
    "lobby": LobbyWait(participant=_AMANI, policy="everyone", id="join-1"),
}

EXAMPLES: dict[str, ClientMessage | ServerMessage] = {**CLIENT_EXAMPLES, **SERVER_EXAMPLES}
