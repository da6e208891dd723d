"""Presence: two tabs count once; a leave waits out a grace period; a quick return cancels it."""

from __future__ import annotations

from server.rooms.events import EventKind
from server.rooms.presence import PresenceTracker, joined_event, left_event
from tests.rooms.builders import AMANI

GRACE = 5.0


def test_two_connections_count_once() -> None:
    presence = PresenceTracker(grace=GRACE)
    presence.connect("p_amani", 1)
    presence.connect("p_amani", 2)
    assert presence.is_connected("p_amani")
    assert presence.disconnect("p_amani", 1, now=100.0) is None
    assert presence.is_connected("p_amani")
    assert presence.due(now=10_000.0) == []
    assert presence.disconnect("p_amani", 2, now=101.0) == 101.0 + GRACE
    assert not presence.is_connected("p_amani")


def test_last_disconnect_is_due_at_the_grace_deadline() -> None:
    presence = PresenceTracker(grace=GRACE)
    presence.connect("p_amani", 1)
    deadline = presence.disconnect("p_amani", 1, now=100.0)
    assert deadline == 105.0
    assert not presence.idle  # a leave is pending
    assert presence.due(now=104.999) == []
    assert presence.due(now=105.0) == ["p_amani"]
    assert presence.due(now=200.0) == []  # reported once
    assert presence.idle


def test_due_reports_only_the_expired_participants() -> None:
    presence = PresenceTracker(grace=GRACE)
    for number, participant in enumerate(["p_a", "p_b", "p_c"]):
        presence.connect(participant, number)
        presence.disconnect(participant, number, now=100.0 + number)
    assert sorted(presence.due(now=106.0)) == ["p_a", "p_b"]
    assert presence.due(now=107.0) == ["p_c"]


def test_reconnect_within_grace_cancels_the_leave() -> None:
    presence = PresenceTracker(grace=GRACE)
    presence.connect("p_amani", 1)
    presence.disconnect("p_amani", 1, now=100.0)
    presence.connect("p_amani", 2)
    assert presence.is_connected("p_amani")
    assert presence.due(now=1_000.0) == []
    # The new connection's own disconnect starts a fresh grace period.
    assert presence.disconnect("p_amani", 2, now=500.0) == 505.0
    assert presence.due(now=504.0) == []
    assert presence.due(now=505.0) == ["p_amani"]


def test_unknown_or_repeated_disconnects_change_nothing() -> None:
    presence = PresenceTracker(grace=GRACE)
    assert presence.disconnect("p_nobody", 1, now=1.0) is None
    presence.connect("p_amani", 1)
    assert presence.disconnect("p_amani", 7, now=1.0) is None  # not one of theirs
    assert presence.is_connected("p_amani")
    assert presence.disconnect("p_amani", 1, now=2.0) == 2.0 + GRACE
    assert presence.disconnect("p_amani", 1, now=3.0) is None  # already gone
    assert presence.due(now=2.0 + GRACE) == ["p_amani"]


def test_idle_only_without_connections_and_pending_leaves() -> None:
    presence = PresenceTracker(grace=GRACE)
    assert presence.idle
    presence.connect("p_amani", 1)
    assert not presence.idle
    presence.disconnect("p_amani", 1, now=0.0)
    assert not presence.idle
    presence.due(now=GRACE)
    assert presence.idle


def test_zero_grace_is_due_at_once() -> None:
    presence = PresenceTracker(grace=0.0)
    presence.connect("p_amani", 1)
    assert presence.disconnect("p_amani", 1, now=3.0) == 3.0
    assert presence.due(now=3.0) == ["p_amani"]


def test_drop_leaves_at_once_without_touching_other_pending_leaves() -> None:
    presence = PresenceTracker(grace=GRACE)
    presence.connect("p_amani", 1)
    presence.connect("p_amani", 2)
    presence.connect("p_ingrid", 3)
    presence.disconnect("p_ingrid", 3, now=100.0)  # in her grace period
    assert presence.drop("p_amani", 1) is False  # another tab is still open
    assert presence.is_connected("p_amani")
    assert presence.drop("p_amani", 2) is True
    assert not presence.is_connected("p_amani")
    assert presence.drop("p_amani", 2) is False  # already gone
    assert presence.due(now=104.0) == []  # Amani's leave is not pending: it was logged at once
    assert presence.due(now=105.0) == ["p_ingrid"]
    assert presence.idle


def test_joined_and_left_events() -> None:
    joined = joined_event(AMANI, 1234)
    assert joined.kind == EventKind.PARTICIPANT_JOINED
    assert joined.ts == 1234
    assert joined.data == {
        "participant": {"id": "p_amani", "name": "Amani", "role": "student", "class_id": "c1"}
    }
    left = left_event("p_amani", "disconnected", 1300)
    assert left.kind == EventKind.PARTICIPANT_LEFT
    assert left.ts == 1300
    assert left.data == {"participant_id": "p_amani", "reason": "disconnected"}
