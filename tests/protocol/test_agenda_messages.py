"""Parsing the agenda and reflection commands (server/protocol/agenda.py): shapes only, each
bad field named in the error (the bounds are the rules', tests/rooms/test_agenda.py)."""

from __future__ import annotations

from typing import Any

import pytest

from server.errors import InvalidMessage
from server.protocol.agenda import AgendaAdvance, AgendaSet, PhaseSpec, ReflectionAnswer
from server.protocol.messages import parse_client_message


def test_phases_parse_with_and_without_a_prompt() -> None:
    message = parse_client_message(
        {
            "type": "agenda.set",
            "phases": [
                {"name": "Hello", "minutes": 5},
                {"name": "End", "minutes": 3, "prompt": "?"},
            ],
            "id": 3,
        }
    )
    assert message == AgendaSet(phases=(PhaseSpec("Hello", 5), PhaseSpec("End", 3, "?")), id=3)
    assert message.to_wire()["phases"][0] == {"name": "Hello", "minutes": 5, "prompt": None}


def test_from_is_the_wire_name_of_the_phase_left() -> None:
    message = parse_client_message({"type": "agenda.advance", "from": -1})
    assert message == AgendaAdvance(from_phase=-1)
    assert message.to_wire() == {"type": "agenda.advance", "from": -1}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"type": "agenda.set"}, "phases"),
        ({"type": "agenda.set", "phases": {"name": "x"}}, "phases"),
        ({"type": "agenda.set", "phases": ["Hello"]}, "phases.0"),
        ({"type": "agenda.set", "phases": [{"minutes": 5}]}, "phases.0.name"),
        ({"type": "agenda.set", "phases": [{"name": "x", "minutes": True}]}, "phases.0.minutes"),
        ({"type": "agenda.set", "phases": [{"name": "x", "minutes": 5.5}]}, "phases.0.minutes"),
        (
            {"type": "agenda.set", "phases": [{"name": "x", "minutes": 5, "prompt": 7}]},
            "phases.0.prompt",
        ),
        ({"type": "agenda.advance"}, "from"),
        ({"type": "agenda.advance", "from": "0"}, "from"),
        ({"type": "agenda.back", "from": -2}, "from"),
        ({"type": "agenda.finish", "from": None}, "from"),
        ({"type": "reflection.answer", "text": "x"}, "phase"),
        ({"type": "reflection.answer", "phase": 1, "text": ["x"]}, "text"),
    ],
)
def test_bad_fields_are_named(data: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidMessage) as refusal:
        parse_client_message(data)
    assert refusal.value.detail == field


def test_an_answer_parses() -> None:
    message = parse_client_message({"type": "reflection.answer", "phase": 3, "text": "fjords"})
    assert message == ReflectionAnswer(phase=3, text="fjords")
