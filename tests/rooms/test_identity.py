from __future__ import annotations

import pytest

from server.errors import TokenInvalid
from server.rooms.actor import Actor
from server.rooms.identity import check_identity
from server.rooms.roles import Role
from tests.rooms.builders import AMANI, HOST, full_session


def test_known_participants_and_newcomers_of_existing_classes_pass() -> None:
    session = full_session()
    check_identity(session.state, AMANI)
    check_identity(session.state, Actor("p_new", "Zawadi", Role.STUDENT, "c1"))


def test_a_class_the_session_lacks_is_refused() -> None:
    session = full_session()
    with pytest.raises(TokenInvalid):
        check_identity(session.state, Actor("p_new", "Zawadi", Role.STUDENT, "c9"))


@pytest.mark.parametrize(
    "impostor",
    [
        Actor(HOST.participant_id, "Ms Wanjiru", Role.STUDENT, HOST.class_id),
        Actor(HOST.participant_id, "Ms Wanjiru", Role.HOST, "c2"),
        Actor(AMANI.participant_id, "Amani", Role.TEACHER, AMANI.class_id),
    ],
)
def test_a_known_id_under_another_role_or_class_is_refused(impostor: Actor) -> None:
    session = full_session()
    with pytest.raises(TokenInvalid):
        check_identity(session.state, impostor)
