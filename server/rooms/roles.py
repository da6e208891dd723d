"""Participant roles and what each may do. The role always comes from the join token."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    HOST = "host"
    TEACHER = "teacher"
    STATION = "station"
    STUDENT = "student"
    OBSERVER = "observer"

    @property
    def is_teacher(self) -> bool:
        """Hosts and teachers run the session together."""
        return self in (Role.HOST, Role.TEACHER)

    @property
    def may_chat(self) -> bool:
        return self is not Role.OBSERVER

    @property
    def may_use_media(self) -> bool:
        """Sends and receives video by default (signals WebRTC peers). Students and observers
        have no camera on: a class station shows the class."""
        return self in (Role.HOST, Role.TEACHER, Role.STATION)


def parse_role(value: str) -> Role | None:
    try:
        return Role(value)
    except ValueError:
        return None
