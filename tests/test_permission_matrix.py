"""Who may send what: every client message type against every role, over a real server.

One row per type of ``CLIENT_TYPES`` (a new command without a row fails the first test), one
column per role. A cell is the documented outcome of a well-formed example of the command
(docs/protocol.md): ``"ok"``, or the error code it is refused with. Every refusal must leave the
session as it was: nothing appended to the log, and no event reaches a teacher's connection
(checked after a ping/pong round trip). Whatever an example needs is prepared first by another
teacher or a partner student (a waiting student for ``lobby.admit``, an open poll for
``poll.answer``, a raised hand for ``hand.lower``...), so that the role is the only reason a
command is refused. Examples whose success ends something (``leave``, ``session.end``,
``agenda.finish``) succeed in a session of their own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from server.client import ClassbridgeClient, ClientError
from server.protocol.classroom import PeerReaction
from server.protocol.ice import IceServers
from server.protocol.messages import CLIENT_TYPES, Ack, Pong
from server.protocol.peer import PeerCursors, PeerSignal, PeerTyping
from tests.conftest import SHARED_LOOP
from tests.helpers import WAIT, open_classroom, participant_of, wait_event
from tests.live import LiveServer
from tests.matrix_lesson import PHASES, RECT_PROPS, ROLES, Lesson, event_at, open_lesson

pytestmark = SHARED_LOOP

OK, FORBIDDEN = "ok", "forbidden"
Build = Callable[[Lesson, str], Awaitable[dict[str, Any]]]
After = Callable[[Lesson, str], Awaitable[None]]


def cells(*outcomes: str) -> dict[str, str]:
    """The outcomes for host, teacher, station, student and observer, in this order."""
    return dict(zip(ROLES, outcomes, strict=True))


TEACHERS_ONLY = cells(OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN)
NOT_OBSERVERS = cells(OK, OK, OK, OK, FORBIDDEN)
PUPILS_ONLY = cells(FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN)  # students and class stations
EVERYONE = cells(OK, OK, OK, OK, OK)


@dataclass(frozen=True)
class Row:
    outcomes: dict[str, str]
    build: Build
    # How success looks: "ack" (with the seq of a logged event), "relayed" (an ack without
    # seq, the message reaches another participant), "pong", "ice" (ice.servers), "silent"
    # (no answer at all: cursors), "closed" (the connection closes with 1000).
    reply: str = "ack"
    own_session: bool = False  # a success ends something: it runs in a session of its own
    after: After | None = None  # puts things back after a success


def payload(**fields: Any) -> Build:
    async def build(lesson: Lesson, role: str) -> dict[str, Any]:
        return dict(fields)

    return build


# --- examples that need something first ----------------------------------------------------


async def own_join(lesson: Lesson, role: str) -> dict[str, Any]:
    return {"token": lesson.actors[role].token}


async def a_recent_post(lesson: Lesson, role: str) -> dict[str, Any]:
    posted = await lesson.aide.chat("a post to delete")
    return {"message_id": posted.seq}


def video_partner(role: str) -> str:
    return "teacher" if role == "host" else "host"


async def a_signal(lesson: Lesson, role: str) -> dict[str, Any]:
    to = lesson.pid(video_partner(role))
    return {"to": to, "pc": "cam", "candidate": {"candidate": ""}}


async def amanis_grant_off(lesson: Lesson, role: str) -> dict[str, Any]:
    return {"participant": lesson.pid(lesson.amani), "on": False}


async def amanis_mute_lifted(lesson: Lesson, role: str) -> dict[str, Any]:
    return {"participant": lesson.pid(lesson.amani), "audio": False}


async def a_present_student(lesson: Lesson, role: str) -> dict[str, Any]:
    victim = await lesson.present_student(1, lesson.unique("Zawadi"))
    return {"participant": participant_of(victim)}


async def the_running_phase(lesson: Lesson, role: str) -> dict[str, Any]:
    return {"from": await lesson.current_phase()}


async def a_raised_hand(lesson: Lesson, role: str) -> dict[str, Any]:
    try:
        await lesson.baraka.command({"type": "hand.raise"})
    except ClientError as error:  # still up since an earlier refusal
        code = error.code
    else:
        code = "raised"
    assert code in ("raised", "already_raised")
    return {"participant": lesson.pid(lesson.baraka)}


async def lower_own_hand(lesson: Lesson, role: str) -> None:
    await lesson.actors[role].command({"type": "hand.lower"})


async def new_poll(lesson: Lesson) -> int:
    created = await lesson.aide.command(
        {"type": "poll.create", "question": "Rain today?", "options": ["yes", "no"]}
    )
    assert created.seq is not None
    return created.seq


async def an_open_poll_answer(lesson: Lesson, role: str) -> dict[str, Any]:
    return {"poll": await new_poll(lesson), "choices": [0]}


async def an_open_poll(lesson: Lesson, role: str) -> dict[str, Any]:
    return {"poll": await new_poll(lesson)}


async def no_breakouts(lesson: Lesson, role: str) -> dict[str, Any]:
    await lesson.close_breakouts()
    return {"size": 2}


async def close_again(lesson: Lesson, role: str) -> None:
    await lesson.aide.command({"type": "breakout.close"})  # the actor opened a round


async def amani_to_the_main_room(lesson: Lesson, role: str) -> dict[str, Any]:
    await lesson.fresh_breakouts()  # every student present is in a group
    return {"participant": lesson.pid(lesson.amani), "group": None}


async def open_groups(lesson: Lesson, role: str) -> dict[str, Any]:
    await lesson.open_breakouts()
    return {}


async def a_broadcast(lesson: Lesson, role: str) -> dict[str, Any]:
    await lesson.open_breakouts()
    return {"text": "Five minutes left"}


async def groups_closed(lesson: Lesson, role: str) -> None:
    lesson.groups = None


async def own_group(lesson: Lesson, role: str) -> dict[str, Any]:
    await lesson.fresh_breakouts()  # no call waiting yet
    return {}


async def a_calling_group(lesson: Lesson, role: str) -> dict[str, Any]:
    await lesson.fresh_breakouts()
    await lesson.baraka.command({"type": "breakout.call_teacher"})
    return {"group": lesson.group_of(lesson.baraka)["id"]}


async def a_group(lesson: Lesson, role: str) -> dict[str, Any]:
    groups = await lesson.open_breakouts()
    return {"group": groups[0]["id"]}


async def a_waiting_student(lesson: Lesson, role: str) -> dict[str, Any]:
    lesson.waiter, participant_id = await lesson.waiting_student(1, lesson.unique("Juma"))
    return {"participant": participant_id}


async def let_in(lesson: Lesson, role: str) -> None:
    """The admitted student's own join is logged after the admission: wait for it."""
    assert lesson.waiter is not None
    await lesson.waiter.admitted()


async def turned_away(lesson: Lesson, role: str) -> None:
    assert lesson.waiter is not None
    assert await lesson.waiter.wait_closed() == 4014


async def a_new_record(lesson: Lesson, role: str) -> dict[str, Any]:
    record = {"id": lesson.unique("put"), "kind": "rect", "props": RECT_PROPS}
    return {"board": "main", "record": record}


async def amanis_record_patch(lesson: Lesson, role: str) -> dict[str, Any]:
    record = await lesson.put(lesson.amani)
    return {"board": "main", "record": record, "props": {"color": "#ff0000"}}


async def amanis_record_delete(lesson: Lesson, role: str) -> dict[str, Any]:
    return {"board": "main", "records": [await lesson.put(lesson.amani)]}


async def own_open_stroke(lesson: Lesson, role: str) -> dict[str, Any]:
    # Only the stroke's author appends. An observer cannot draw one: it tries Amani's.
    author = lesson.amani if role == "observer" else lesson.actors[role]
    stroke = await lesson.put(author, "stroke")  # open: its author draws it
    return {"board": "main", "record": stroke, "offset": 2, "points": [5, 5]}


async def own_last_change(lesson: Lesson, role: str) -> dict[str, Any]:
    if role != "observer":  # an observer has drawn nothing
        await lesson.put(lesson.actors[role])
    return {"board": "main"}


async def own_undone_change(lesson: Lesson, role: str) -> dict[str, Any]:
    if role != "observer":
        await lesson.put(lesson.actors[role])
        await lesson.actors[role].command({"type": "board.undo", "board": "main"})
    return {"board": "main"}


async def a_new_board(lesson: Lesson, role: str) -> dict[str, Any]:
    return {"board": lesson.unique("extra"), "title": "Ideas"}


# --- the matrix ----------------------------------------------------------------------------

NOT_RECORDING = "recording_disabled"  # the shared server has no recordings folder

MATRIX: dict[str, Row] = {
    # A second join on a joined connection, by anyone.
    "join": Row(cells(*["already_joined"] * 5), own_join),
    "leave": Row(EVERYONE, payload(), reply="closed", own_session=True),
    "ping": Row(EVERYONE, payload(), reply="pong"),
    "chat.send": Row(NOT_OBSERVERS, payload(text="Olá, Nairobi!")),
    "chat.delete": Row(TEACHERS_ONLY, a_recent_post),
    "settings.update": Row(TEACHERS_ONLY, payload(settings={"student_private_chat": False})),
    "typing": Row(NOT_OBSERVERS, payload(), reply="relayed"),
    "reaction": Row(NOT_OBSERVERS, payload(emoji="\U0001f44f"), reply="relayed"),
    "cursor": Row(NOT_OBSERVERS, payload(board="main", x=10, y=10), reply="silent"),
    # Video: hosts, teachers and stations only (students while granted, which this one is not).
    "signal": Row(cells(OK, OK, OK, FORBIDDEN, FORBIDDEN), a_signal, reply="relayed"),
    "ice.refresh": Row(cells(OK, OK, OK, FORBIDDEN, FORBIDDEN), payload(), reply="ice"),
    "media.relay": Row(TEACHERS_ONLY, payload(on=False)),
    "media.grant": Row(TEACHERS_ONLY, amanis_grant_off),
    # Recording: teachers get the server's answer; others are refused before that.
    "recording.start": Row(cells(NOT_RECORDING, NOT_RECORDING, *[FORBIDDEN] * 3), payload()),
    "recording.consent": Row(cells("not_requested", "not_requested", *[FORBIDDEN] * 3), payload()),
    "recording.stop": Row(cells("not_requested", "not_requested", *[FORBIDDEN] * 3), payload()),
    # Moderation (section 24).
    "moderation.mute": Row(TEACHERS_ONLY, amanis_mute_lifted),
    "moderation.remove": Row(TEACHERS_ONLY, a_present_student),
    "moderation.lock": Row(TEACHERS_ONLY, payload(locked=False)),
    "moderation.class": Row(TEACHERS_ONLY, payload(**{"class": "c2", "chat": True})),
    "moderation.scope": Row(cells(OK, *[FORBIDDEN] * 4), payload(teachers_own_class=False)),
    "session.end": Row(TEACHERS_ONLY, payload(), own_session=True),
    # Lobby (section 23): a student of c2 waits for each example.
    "lobby.admit": Row(TEACHERS_ONLY, a_waiting_student, after=let_in),
    "lobby.deny": Row(TEACHERS_ONLY, a_waiting_student, after=turned_away),
    # Hands, reactions and polls (section 25).
    "hand.raise": Row(PUPILS_ONLY, payload(), after=lower_own_hand),
    "hand.lower": Row(TEACHERS_ONLY, a_raised_hand),  # Baraka's hand: only teachers lower it
    "hand.clear": Row(TEACHERS_ONLY, payload()),
    "poll.create": Row(TEACHERS_ONLY, payload(question="Rain today?", options=["yes", "no"])),
    "poll.answer": Row(cells(*[FORBIDDEN] * 3, OK, FORBIDDEN), an_open_poll_answer),
    "poll.close": Row(TEACHERS_ONLY, an_open_poll),
    # Agenda and reflections (section 26); phase 1 runs when a row starts.
    "agenda.set": Row(TEACHERS_ONLY, payload(phases=PHASES)),
    "agenda.advance": Row(TEACHERS_ONLY, the_running_phase),
    "agenda.back": Row(TEACHERS_ONLY, the_running_phase),
    "agenda.finish": Row(TEACHERS_ONLY, the_running_phase, own_session=True),
    "reflection.answer": Row(PUPILS_ONLY, payload(phase=0, text="They have no winter.")),
    # Breakout groups (section 27).
    "breakout.open": Row(TEACHERS_ONLY, no_breakouts, after=close_again),
    "breakout.move": Row(TEACHERS_ONLY, amani_to_the_main_room),
    "breakout.broadcast": Row(TEACHERS_ONLY, a_broadcast),
    "breakout.call_teacher": Row(cells(*[FORBIDDEN] * 3, OK, FORBIDDEN), own_group),
    "breakout.answer": Row(TEACHERS_ONLY, a_calling_group),
    "breakout.visit": Row(TEACHERS_ONLY, a_group),
    "breakout.close": Row(TEACHERS_ONLY, open_groups, after=groups_closed),
    # Whiteboard (section 20); the main board lets everyone who may draw draw.
    "board.put": Row(NOT_OBSERVERS, a_new_record),
    "board.patch": Row(TEACHERS_ONLY, amanis_record_patch),  # someone else's record
    "board.delete": Row(TEACHERS_ONLY, amanis_record_delete),  # likewise
    "board.append": Row(NOT_OBSERVERS, own_open_stroke),
    "board.undo": Row(NOT_OBSERVERS, own_last_change),
    "board.redo": Row(NOT_OBSERVERS, own_undone_change),
    "board.clear": Row(TEACHERS_ONLY, payload(board="main")),
    "board.access": Row(TEACHERS_ONLY, payload(board="main", mode="everyone")),
    "board.create": Row(TEACHERS_ONLY, a_new_board),
}


# --- running a cell ------------------------------------------------------------------------


def drain_peers(client: ClassbridgeClient) -> list[Any]:
    drained = []
    while not client.peer_messages.empty():
        drained.append(client.peer_messages.get_nowait())
    return drained


def senders(message: Any) -> set[str]:
    if isinstance(message, PeerCursors):
        return {str(cursor["from"]) for cursor in message.cursors}
    if isinstance(message, PeerSignal | PeerTyping | PeerReaction):
        return {message.sender}
    return set()


async def peer_message_from(client: ClassbridgeClient, sender: str) -> None:
    while sender not in senders(await client.next_peer_message(timeout=WAIT)):
        pass


async def refused_with(lesson: Lesson, role: str, message: dict[str, Any], before: int) -> str:
    """The error code of a refusal that changed nothing (else an AssertionError)."""
    actor = lesson.actors[role]
    try:
        reply = await actor.request(message)
    except ClientError as error:
        code = error.code
    else:
        raise AssertionError(f"accepted with {reply}")
    await lesson.watcher.ping()  # anything the refusal had caused would be here by now
    late = [(e.seq, e.kind) for e in lesson.watcher.drain_events() if e.seq > before]
    assert late == [], f"refused with {code}, yet events followed: {late}"
    assert await lesson.room.seq() == before, f"refused with {code}, yet the log moved"
    relayed = [m for m in drain_peers(lesson.watcher) if lesson.pid(role) in senders(m)]
    assert relayed == [], f"refused with {code}, yet relayed: {relayed}"
    return code


async def succeeds(lesson: Lesson, role: str, message: dict[str, Any], reply_kind: str) -> None:
    actor, before, me = lesson.actors[role], await lesson.room.seq(), lesson.pid(role)
    if reply_kind == "closed":
        await actor.send_raw(message)
        assert await actor.wait_closed() == 1000
        left = await wait_event(lesson.watcher, "participant.left")
        assert left.data == {"participant_id": me, "reason": "left"}
        return
    if reply_kind == "silent":
        await actor.send_raw({**message, "id": "no-answer"})
        await actor.ping()
        assert actor.errors.empty(), actor.errors.get_nowait()
        await peer_message_from(lesson.watcher, me)
        return
    reply = await actor.request(message)
    if reply_kind == "ack":
        assert isinstance(reply, Ack), reply
        assert reply.seq is not None
        assert reply.seq > before
        await event_at(lesson.watcher, reply.seq)  # a teacher sees every logged event
        return
    expected_reply = {"relayed": Ack, "pong": Pong, "ice": IceServers}[reply_kind]
    assert isinstance(reply, expected_reply), reply
    if reply_kind == "relayed":
        assert isinstance(reply, Ack)
        assert reply.seq is None
        partner = message["type"] == "signal"
        receiver = lesson.actors[video_partner(role)] if partner else lesson.watcher
        await peer_message_from(receiver, me)
    assert await lesson.room.seq() == before, "nothing is logged"


async def check_cell(server: LiveServer, lesson: Lesson, message_type: str, role: str) -> str:
    """Run one cell; return its outcome (``ok`` or the error code)."""
    row = MATRIX[message_type]
    own = row.outcomes[role] == OK and row.own_session
    if own:
        lesson = await open_lesson(server)
    message = {"type": message_type, **await row.build(lesson, role)}
    drain_peers(lesson.watcher)
    before = await lesson.room.seq()
    if row.outcomes[role] != OK:
        return await refused_with(lesson, role, message, before)
    await succeeds(lesson, role, message, row.reply)
    if row.after is not None:
        await row.after(lesson, role)
    if own:
        await lesson.close()
    return OK


# --- the tests -----------------------------------------------------------------------------


async def test_every_client_message_type_has_a_row_and_every_role_a_cell() -> None:
    assert set(MATRIX) == set(CLIENT_TYPES)
    for message_type, row in MATRIX.items():
        assert tuple(row.outcomes) == ROLES, message_type


@pytest.mark.parametrize("role", ROLES)
async def test_every_command_has_its_documented_outcome_for(
    shared_server: LiveServer, role: str
) -> None:
    lesson = await open_lesson(shared_server)
    outcomes: dict[str, str] = {}
    for message_type in MATRIX:
        try:
            outcomes[message_type] = await check_cell(shared_server, lesson, message_type, role)
        except (AssertionError, ClientError, TimeoutError, ConnectionError) as failure:
            outcomes[message_type] = f"{type(failure).__name__}: {failure}"
    expected = {message_type: row.outcomes[role] for message_type, row in MATRIX.items()}
    assert outcomes == expected
    await lesson.close()


# --- another session's token ----------------------------------------------------------------


async def test_a_join_naming_another_session_is_refused(shared_server: LiveServer) -> None:
    here = await open_classroom(shared_server)
    there = await open_classroom(shared_server)
    stranger = shared_server.client(there.teacher_token(0))
    with pytest.raises(ConnectionError) as caught:
        await stranger.connect(session=here.session_id)
    assert "(wrong_session)" in str(caught.value)  # the error reply before the close
    assert (stranger.close_code, stranger.close_reason) == (4012, "wrong_session")
    assert await here.seq() == 1  # nothing but the session's creation
    at_home = shared_server.client(there.teacher_token(0))
    welcome = await at_home.connect(session=there.session_id)
    assert welcome.session is not None
    assert welcome.session["id"] == there.session_id


def targeting(participant: str) -> dict[str, dict[str, Any]]:
    """Teachers' commands aimed at one participant, by id."""
    return {
        "moderation.mute": {"participant": participant, "audio": True},
        "moderation.remove": {"participant": participant, "bar": True},
        "media.grant": {"participant": participant, "on": True},
        "hand.lower": {"participant": participant},
        "chat.send": {"text": "hello?", "to": participant},
    }


async def test_a_teacher_acts_only_in_the_session_of_their_token(
    shared_server: LiveServer,
) -> None:
    here = await open_lesson(shared_server)
    there = await open_classroom(shared_server)
    stranger = await there.teacher(0)
    for name in ("Ana", "Sofia"):  # groups open there too: a move is judged on its target
        await there.join(await there.token("student", 0, name))
    await stranger.command({"type": "breakout.open", "size": 2})
    await here.amani.command({"type": "hand.raise"})
    _, juma = await here.waiting_student(1, "Juma")
    here_before, there_before = await here.room.seq(), await there.seq()

    amani = here.pid(here.amani)
    messages = [{"type": kind, **fields} for kind, fields in targeting(amani).items()]
    messages += [
        {"type": "signal", "to": here.pid("teacher"), "pc": "cam", "candidate": {"candidate": ""}},
        {"type": "lobby.admit", "participant": juma},
        {"type": "lobby.deny", "participant": juma},
        {"type": "breakout.move", "participant": amani, "group": None},
        {"type": "board.access", "board": "main", "participants": [amani]},
    ]
    codes = {}
    for message in messages:
        with pytest.raises(ClientError) as caught:
            await stranger.request(message)
        codes[message["type"]] = caught.value.code
    assert codes == {message["type"]: "not_found" for message in messages}
    assert (await here.room.seq(), await there.seq()) == (here_before, there_before)

    # A class id names the class of the token's own session: "c2" there, not c2 here.
    await stranger.command({"type": "moderation.class", "class": "c2", "chat": False})
    assert await here.room.seq() == here_before
    await here.amani.chat("our chat is still on")  # Amani is in c2 here
    lowered = await here.aide.command({"type": "hand.lower", "participant": amani})
    assert lowered.seq is not None  # her hand was still up
    await here.aide.command({"type": "lobby.admit", "participant": juma})  # still waiting
    await here.close()
