"""Teacher controls, held to what protocol sections 23 to 27 promise in the corners: a removal
lowers the hand, a locked session keeps waiting newcomers out, an ended session or a barred
participant decides nothing more."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from server.errors import Barred, SessionEnded, SessionLocked
from server.protocol.classroom import HandRaise, PollCreate
from server.protocol.lobby import LobbyAdmit
from server.protocol.messages import ChatSend, ClientMessage
from server.protocol.moderation import ModerationLock, ModerationRemove, SessionEnd
from server.rooms.actor import Actor
from server.rooms.commands import decide
from server.rooms.lobby import must_wait, waiting_event
from server.rooms.moderation import check_may_act, check_self_join
from server.rooms.roles import Role
from server.rooms.state import SessionSettings
from server.rooms.visibility import snapshot_for
from tests.rooms.board.parity import node_executable
from tests.rooms.builders import AMANI, HOST, INGRID, LIMITS, OLA, TEACHER, Session, full_session
from tests.rooms.lobby_steps import BAHATI

TEACHER_C1 = Actor("p_teacher_c1", "Mwalimu Otieno", Role.TEACHER, "c1")


def queue(session: Session) -> list[str]:
    return [hand.participant for hand in session.state.hands]


# --- a removal or the end lowers the hands -----------------------------------------------------


@pytest.mark.parametrize("bar", [False, True])
def test_a_removed_student_s_hand_leaves_the_queue(bar: bool) -> None:
    session = full_session()
    session.command(AMANI, HandRaise())
    session.command(INGRID, HandRaise())
    session.command(HOST, ModerationRemove(AMANI.participant_id, bar=bar))
    # participant.removed makes them leave at once (no participant.left follows, protocol
    # section 24), and leaving lowers the hand (section 25).
    assert queue(session) == ["p_ingrid"]
    assert [h["participant"] for h in snapshot_for(session.state, TEACHER)["hands"]] == ["p_ingrid"]


def test_the_end_of_the_session_lowers_every_hand() -> None:
    session = full_session()
    session.command(AMANI, HandRaise())
    session.command(OLA, HandRaise())
    session.command(TEACHER, SessionEnd())
    assert queue(session) == []


# --- the lock holds for those still waiting -----------------------------------------------------


def test_a_waiting_newcomer_does_not_enter_a_locked_session_by_the_policy() -> None:
    session = Session(SessionSettings(lobby="class")).join(HOST, TEACHER)
    session.append(waiting_event(BAHATI, session.tick()))
    session.command(TEACHER, ModerationLock(locked=True))
    session.join(TEACHER_C1)  # the teacher of Bahati's class arrives
    # Locking keeps newcomers out (protocol section 23): arriving teachers do not let them in.
    assert must_wait(session.state, BAHATI)
    # A teacher who admits them explicitly still can.
    session.command(TEACHER_C1, LobbyAdmit(participant=BAHATI.participant_id))
    assert not must_wait(session.state, BAHATI)


def test_unlocking_lets_the_policy_admit_again() -> None:
    session = Session(SessionSettings(lobby="class")).join(HOST, TEACHER)
    session.append(waiting_event(BAHATI, session.tick()))
    session.command(TEACHER, ModerationLock(locked=True))
    session.join(TEACHER_C1)
    session.command(TEACHER, ModerationLock(locked=False))
    assert not must_wait(session.state, BAHATI)


# --- nothing more is decided for an ended session or a barred participant -------------------------
# The hub asks ``check_may_act`` before deciding any command, and again as a join completes.

COMMANDS: list[tuple[Actor, ClientMessage]] = [
    (AMANI, ChatSend(text="still here?")),
    (AMANI, HandRaise()),
    (TEACHER, PollCreate(question="Still?", options=["yes", "no"])),
]


@pytest.mark.parametrize(("actor", "command"), COMMANDS)
def test_an_ended_session_decides_no_command(actor: Actor, command: ClientMessage) -> None:
    session = full_session()
    session.command(HOST, SessionEnd())
    with pytest.raises(SessionEnded):
        check_may_act(session.state, actor)
    # Before the end, the same command was allowed through this check.
    check_may_act(full_session().state, actor)
    decide(full_session().state, actor, command, session.tick(), LIMITS)


def test_a_barred_participant_decides_no_command() -> None:
    session = full_session()
    session.command(HOST, ModerationRemove(AMANI.participant_id, bar=True))
    # A command decided on a worker whose connection is not closed yet (in flight as the
    # removal is applied) is refused, not logged.
    with pytest.raises(Barred):
        check_may_act(session.state, AMANI)
    check_may_act(session.state, INGRID)  # everyone else goes on


# --- the SDK lowers the hands as the reducer does ------------------------------------------------

CLIENT_DEMO = Path(__file__).resolve().parents[2] / "client_demo"
HANDS_RUNNER = """
import { applyModerationEvent } from "CLIENT_DEMO/moderation.js";
let text = "";
for await (const chunk of process.stdin) text += chunk;
const { session, log } = JSON.parse(text);
const participants = new Map();
for (const c of session.classes) for (const p of c.participants) participants.set(p.id, { ...p });
const client = { session, participants, cursors: new Map(), me: null, _emit() {} };
const queues = [];
for (const [seq, kind, ts, data] of log) {
  applyModerationEvent(client, seq, kind, data, ts);
  queues.push(client.session.hands.map((hand) => hand.participant));
}
console.log(JSON.stringify(queues));
"""


def test_moderation_js_lowers_hands_on_removal_and_end_as_the_server(tmp_path: Path) -> None:
    session = full_session()
    for actor in (AMANI, INGRID, OLA):
        session.command(actor, HandRaise())
    snapshot = snapshot_for(session.state, TEACHER)
    start = len(session.log)
    session.command(HOST, ModerationRemove(INGRID.participant_id))
    session.command(HOST, SessionEnd())
    log = session.log[start:]
    runner = tmp_path / "run.mjs"
    runner.write_text(HANDS_RUNNER.replace("CLIENT_DEMO", CLIENT_DEMO.as_posix()), "utf-8")
    wire_log = [[seq, event.kind, event.ts, event.data] for seq, event in log]
    result = subprocess.run(
        [node_executable(), str(runner)],
        input=json.dumps({"session": snapshot, "log": wire_log}),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert json.loads(result.stdout) == [["p_amani", "p_ola"], []]
    assert queue(session) == []


def test_a_class_code_makes_no_newcomer_once_locked_or_ended() -> None:
    session = full_session()
    check_self_join(session.state)  # open: a join code gives a token
    session.command(TEACHER, ModerationLock(locked=True))
    with pytest.raises(SessionLocked):
        check_self_join(session.state)
    session.command(TEACHER, ModerationLock(locked=False))
    session.command(HOST, SessionEnd())
    with pytest.raises(SessionEnded):
        check_self_join(session.state)
