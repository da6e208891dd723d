"""Every board command for every role, on one's own record and on someone else's: the outcome
the protocol documents (docs/protocol.md, "Who may draw"), with the board open to everyone."""

from __future__ import annotations

import pytest

from server.errors import ClassbridgeError
from server.protocol.board import (
    BoardAccessUpdate,
    BoardAppend,
    BoardClear,
    BoardCommand,
    BoardCreate,
    BoardDelete,
    BoardPatch,
    BoardUndo,
)
from server.rooms.actor import Actor
from tests.rooms.board.drawing import rect, stroke
from tests.rooms.builders import AMANI, HOST, INGRID, OBSERVER, STATION, TEACHER, full_session

ROLES = [HOST, TEACHER, STATION, AMANI, OBSERVER]
OK, NO = "ok", "forbidden"

# command -> (outcome on one's own record, outcome on Ingrid's record), per role kind
MATRIX: dict[str, dict[str, tuple[str, str]]] = {
    "put": {"teacher": (OK, OK), "drawer": (OK, OK), "observer": (NO, NO)},
    "patch": {"teacher": (OK, OK), "drawer": (OK, NO), "observer": (NO, NO)},
    "append": {
        "teacher": (OK, "invalid_message"),
        "drawer": (OK, "invalid_message"),
        "observer": (NO, NO),
    },
    "delete": {"teacher": (OK, OK), "drawer": (OK, NO), "observer": (NO, NO)},
    "undo": {"teacher": (OK, OK), "drawer": (OK, OK), "observer": (NO, NO)},
    "clear": {"teacher": (OK, OK), "drawer": (NO, NO), "observer": (NO, NO)},
    "access": {"teacher": (OK, OK), "drawer": (NO, NO), "observer": (NO, NO)},
    "create": {"teacher": (OK, OK), "drawer": (NO, NO), "observer": (NO, NO)},
}


def _kind(actor: Actor) -> str:
    if actor.role.is_teacher:
        return "teacher"
    return "observer" if actor is OBSERVER else "drawer"


def _command(name: str, target: str) -> BoardCommand:
    commands: dict[str, BoardCommand] = {
        "put": rect(f"new-{target}"),
        "patch": BoardPatch("main", target, {"width": 7}),
        "append": BoardAppend("main", target, 1, [5, 5]),
        "delete": BoardDelete("main", [target]),
        "undo": BoardUndo("main"),
        "clear": BoardClear("main"),
        "access": BoardAccessUpdate("main", mode="everyone"),
        "create": BoardCreate(f"b-{target}"),
    }
    return commands[name]


@pytest.mark.parametrize("name", sorted(MATRIX))
@pytest.mark.parametrize("actor", ROLES, ids=lambda a: a.role.value)
@pytest.mark.parametrize("whose", ["own", "other"])
def test_board_command_by_role(name: str, actor: Actor, whose: str) -> None:
    session = full_session()
    session.command(INGRID, stroke("theirs", 0, 0))
    mine = "theirs"
    if whose == "own" and actor is not OBSERVER:
        mine = "mine"
        session.command(actor, stroke(mine, 0, 0))
    expected = MATRIX[name][_kind(actor)][0 if whose == "own" else 1]
    if name == "undo" and whose == "other" and _kind(actor) != "observer":
        expected = "nothing_to_undo"  # nothing of one's own was changed
    try:
        session.command(actor, _command(name, mine))
        outcome = OK
    except ClassbridgeError as error:
        outcome = error.code
    assert outcome == expected
