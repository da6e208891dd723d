"""Polls and quick checks: a teacher asks, students answer, results are shown at the close.

- ``poll.create``: teachers and hosts. 2 to 10 options; one choice or several (``multiple``);
  ``anonymous`` polls never tell anyone but the student who answered what.
- ``poll.answer``: students only (a station's or an observer's answer would count a room or
  an outsider as a pupil). One answer per student, replaced by each new one until the close.
- ``poll.close``: any teacher or host. Answers logged after the close are ignored by the
  reducer (first in the log wins), so the results are the same on every replica.

Who learns what. Events are encoded once and each goes to the viewers its visibility rule
allows, so no event is rewritten per viewer; the design follows from that:

- ``poll.answered {poll, by, choices, anonymous}`` reaches the student who answered and, for
  polls that are not anonymous, teachers and hosts. Other students never get it.
- ``poll.counts {poll, counts, answers, as_of}``: the totals after an answer, appended by the
  worker that logged the answer once its replica applied it. Teachers and hosts get every one
  (live counts, for anonymous polls too: they carry no participant id); everyone else only
  those counted after the close (the final results). ``as_of`` is the seq the totals were
  counted at: a client keeps the totals with the highest ``as_of`` (two workers may log theirs
  in either order).
- ``poll.closed {poll, by, counts, answers, as_of}`` reaches everyone: the results.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from server.errors import ClassbridgeError, Forbidden, InvalidMessage, LimitExceeded, NotFound
from server.protocol.classroom import PollAnswer, PollClose, PollCreate
from server.rooms.actor import Actor
from server.rooms.classroom_model import Poll
from server.rooms.events import Event, EventKind
from server.rooms.limits import CommandLimits
from server.rooms.roles import Role
from server.rooms.rule import Rule
from server.rooms.state import SessionState
from server.rooms.text import has_forbidden_characters

QUESTION_MAX_CHARS = 300
OPTION_MAX_CHARS = 100
MIN_OPTIONS, MAX_OPTIONS = 2, 10
MAX_POLLS = 100  # per session: each one stays in the state (and the snapshot) for the export


class PollClosed(ClassbridgeError):
    code = "poll_closed"
    http_status = 409


def _check_text(text: str, name: str, max_chars: int, *, multiline: bool) -> str:
    if not text.strip():
        raise InvalidMessage(f"'{name}' must not be empty", detail=name)
    if len(text) > max_chars:
        raise LimitExceeded(f"'{name}' is longer than {max_chars} characters", detail=name)
    if has_forbidden_characters(text, multiline=multiline):
        raise InvalidMessage(f"'{name}' holds characters that are not allowed", detail=name)
    return text.strip()


def create_poll(state: SessionState, actor: Actor, command: PollCreate, now: int) -> Event:
    if not actor.role.is_teacher:
        raise Forbidden("only teachers and hosts create polls")
    question = _check_text(command.question, "question", QUESTION_MAX_CHARS, multiline=True)
    if not MIN_OPTIONS <= len(command.options) <= MAX_OPTIONS:
        raise InvalidMessage(f"a poll has {MIN_OPTIONS} to {MAX_OPTIONS} options", detail="options")
    options = [
        _check_text(option, "options", OPTION_MAX_CHARS, multiline=False)
        for option in command.options
    ]
    if len(set(options)) != len(options):
        raise InvalidMessage("two options are the same", detail="options")
    if len(state.polls) >= MAX_POLLS:
        raise LimitExceeded(f"a session holds at most {MAX_POLLS} polls", detail="polls")
    data = {
        "by": actor.participant_id,
        "question": question,
        "options": options,
        "multiple": command.multiple,
        "anonymous": command.anonymous,
    }
    return Event(kind=EventKind.POLL_CREATED, ts=now, data=data)


def _open_poll(state: SessionState, poll_id: int) -> Poll:
    poll = state.polls.get(poll_id)
    if poll is None:
        raise NotFound("no such poll", detail="poll")
    if poll.closed:
        raise PollClosed("this poll is closed")
    return poll


def _check_choices(poll: Poll, choices: list[int]) -> list[int]:
    if not choices:
        raise InvalidMessage("choose at least one option", detail="choices")
    if len(set(choices)) != len(choices):
        raise InvalidMessage("an option is chosen twice", detail="choices")
    if not poll.multiple and len(choices) > 1:
        raise InvalidMessage("this poll takes one choice", detail="choices")
    if any(not 0 <= choice < len(poll.options) for choice in choices):
        raise InvalidMessage("no such option", detail="choices")
    return sorted(choices)


def answer_poll(state: SessionState, actor: Actor, command: PollAnswer, now: int) -> Event:
    if actor.role is not Role.STUDENT:
        raise Forbidden("only students answer polls")
    poll = _open_poll(state, command.poll)
    data = {
        "poll": poll.id,
        "by": actor.participant_id,
        "choices": _check_choices(poll, command.choices),
        "anonymous": poll.anonymous,  # read by the visibility rule, which has only the event
    }
    return Event(kind=EventKind.POLL_ANSWERED, ts=now, data=data)


def _totals(state: SessionState, poll: Poll) -> dict[str, Any]:
    return {"counts": poll.counts(), "answers": len(poll.answers), "as_of": state.seq}


def close_poll(state: SessionState, actor: Actor, poll_id: int, now: int) -> Event:
    if not actor.role.is_teacher:
        raise Forbidden("only teachers and hosts close polls")
    poll = _open_poll(state, poll_id)
    data = {"poll": poll.id, "by": actor.participant_id, **_totals(state, poll)}
    return Event(kind=EventKind.POLL_CLOSED, ts=now, data=data)


def poll_follow_up(state: SessionState, event: Event, now: int) -> Event | None:
    """What the worker that appended ``event`` appends once its replica applied it: the
    poll's totals, when an answer was counted after the last totals logged (by this worker
    or another). After a close that is only when an answer reached the log between the
    close's decision and its place in the log: the close's own totals missed it."""
    if event.kind not in (EventKind.POLL_ANSWERED, EventKind.POLL_CLOSED):
        return None
    poll = state.polls.get(event.data["poll"])
    if poll is None or poll.last_answer_seq <= poll.published_as_of:
        return None
    return Event(kind=EventKind.POLL_COUNTS, ts=now, data={"poll": poll.id, **_totals(state, poll)})


# --- who sees what -------------------------------------------------------------------------


def sees_answer(state: SessionState, viewer: Actor, event: Event) -> bool:
    if viewer.participant_id == event.data["by"]:
        return True
    return viewer.role.is_teacher and not event.data["anonymous"]


def sees_counts(state: SessionState, viewer: Actor, event: Event) -> bool:
    if viewer.role.is_teacher:
        return True
    poll = state.polls.get(event.data["poll"])
    # Totals counted before the close would tell students how the answers came in.
    return poll is not None and poll.closed and event.data["as_of"] >= poll.closed_seq


def _responses(poll: Poll) -> dict[str, list[int]]:
    return {pid: list(choices) for pid, choices in poll.answers.items()}


def poll_for(poll: Poll, viewer: Actor, as_of: int) -> dict[str, Any]:
    teacher = viewer.role.is_teacher
    mine = poll.answers.get(viewer.participant_id)
    shows_totals = teacher or poll.closed
    return {
        "id": poll.id,
        "question": poll.question,
        "options": list(poll.options),
        "multiple": poll.multiple,
        "anonymous": poll.anonymous,
        "by": poll.created_by,
        "created_at": poll.created_at,
        "closed": poll.closed,
        "closed_by": poll.closed_by,
        "closed_at": poll.closed_at,
        "mine": None if mine is None else list(mine),
        "counts": poll.counts() if shows_totals else None,
        "answers": len(poll.answers) if shows_totals else None,
        "as_of": as_of,  # the seq the totals were counted at (see poll.counts)
        "responses": _responses(poll) if teacher and not poll.anonymous else None,
    }


def polls_for(state: SessionState, viewer: Actor) -> list[dict[str, Any]]:
    """The snapshot's ``polls``, in the order they were created, as ``viewer`` may see them."""
    return [poll_for(poll, viewer, state.seq) for poll in state.polls.values()]


def poll_results(state: SessionState) -> list[dict[str, Any]]:
    """Every poll with its totals, for the export. Who answered what only for polls that are
    not anonymous: the export must not undo what anonymous promised."""
    return [
        {
            "id": poll.id,
            "question": poll.question,
            "options": list(poll.options),
            "multiple": poll.multiple,
            "anonymous": poll.anonymous,
            "created_by": poll.created_by,
            "created_at": poll.created_at,
            "closed": poll.closed,
            "closed_by": poll.closed_by,
            "closed_at": poll.closed_at,
            "counts": poll.counts(),
            "answers": len(poll.answers),
            "responses": None if poll.anonymous else _responses(poll),
        }
        for poll in state.polls.values()
    ]


# --- the reducer's part --------------------------------------------------------------------


def apply_created(state: SessionState, seq: int, event: Event) -> None:
    data = event.data
    state.polls[seq] = Poll(
        id=seq,
        question=data["question"],
        options=list(data["options"]),
        multiple=bool(data["multiple"]),
        anonymous=bool(data["anonymous"]),
        created_by=data["by"],
        created_at=event.ts,
    )


def apply_answered(state: SessionState, seq: int, event: Event) -> None:
    poll = state.polls.get(event.data["poll"])
    if poll is not None and not poll.closed:
        poll.answers[event.data["by"]] = list(event.data["choices"])
        poll.last_answer_seq = seq


def apply_closed(state: SessionState, seq: int, event: Event) -> None:
    poll = state.polls.get(event.data["poll"])
    if poll is not None and not poll.closed:  # two teachers closing at once: the first holds
        poll.closed_seq = seq
        poll.closed_by = event.data["by"]
        poll.closed_at = event.ts
        _published(poll, event)


def _published(poll: Poll, event: Event) -> None:
    poll.published_as_of = max(poll.published_as_of, event.data["as_of"])


def apply_counts(state: SessionState, seq: int, event: Event) -> None:
    # Only which totals are out: the reducer counts the answers itself.
    poll = state.polls.get(event.data["poll"])
    if poll is not None:
        _published(poll, event)


HANDLERS: dict[str, Callable[[SessionState, int, Event], None]] = {
    EventKind.POLL_CREATED: apply_created,
    EventKind.POLL_ANSWERED: apply_answered,
    EventKind.POLL_CLOSED: apply_closed,
    EventKind.POLL_COUNTS: apply_counts,
}


def _create(
    state: SessionState, actor: Actor, command: PollCreate, now: int, limits: CommandLimits
) -> list[Event]:
    return [create_poll(state, actor, command, now)]


def _answer(
    state: SessionState, actor: Actor, command: PollAnswer, now: int, limits: CommandLimits
) -> list[Event]:
    return [answer_poll(state, actor, command, now)]


def _close(
    state: SessionState, actor: Actor, command: PollClose, now: int, limits: CommandLimits
) -> list[Event]:
    return [close_poll(state, actor, command.poll, now)]


RULES: dict[type, Rule] = {PollCreate: _create, PollAnswer: _answer, PollClose: _close}
