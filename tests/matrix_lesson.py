"""A running lesson for tests/test_permission_matrix.py: one participant of every role, two
partner students, a teacher who prepares what each command needs, and a teacher whose connection
watches the log. The session's lobby policy is ``everyone``, so students are let in by a teacher.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from server.client import ClassbridgeClient, ClientError
from server.protocol.lobby import LobbyWait
from server.protocol.messages import EventMessage
from tests.helpers import Classroom, open_classroom, participant_of, wait_event
from tests.live import LiveServer

ROLES = ("host", "teacher", "station", "student", "observer")

# Phase 0 has a prompt, so pupils can answer a reflection once the agenda has started.
PHASES = [
    {"name": "Connect", "minutes": 10, "prompt": "What surprised you about the other class?"},
    {"name": "Collaborate", "minutes": 20},
    {"name": "Create", "minutes": 20},
    {"name": "Reflect", "minutes": 10},
]

STROKE_PROPS = {"points": [0, 0, 1, 1], "color": "#000000", "width": 2}
RECT_PROPS = {"x": 1, "y": 1, "w": 10, "h": 10, "color": "#123456", "width": 2}


@dataclass
class Lesson:
    room: Classroom
    actors: dict[str, ClassbridgeClient]  # role -> the connection that sends the commands
    aide: ClassbridgeClient  # a teacher of c2: prepares what a command needs
    watcher: ClassbridgeClient  # another teacher of c2: sees every event, sends nothing else
    amani: ClassbridgeClient  # partner students of c2: targets of teachers' commands
    baraka: ClassbridgeClient
    groups: list[dict[str, Any]] | None = None  # the breakout groups open now, if any
    waiter: ClassbridgeClient | None = None  # the last student sent to wait in the lobby
    _names: Iterator[int] = field(default_factory=itertools.count)

    def pid(self, client_or_role: ClassbridgeClient | str) -> str:
        client = self.actors[client_or_role] if isinstance(client_or_role, str) else client_or_role
        return participant_of(client)

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{next(self._names)}"

    # --- people ---------------------------------------------------------------------------------

    async def waiting_student(self, index: int, name: str) -> tuple[ClassbridgeClient, str]:
        token = await self.room.token("student", index, name)
        client = self.room.server.client(token)
        answer = await client.connect_or_wait()
        assert isinstance(answer, LobbyWait), answer
        return client, str(answer.participant["id"])

    async def present_student(self, index: int, name: str) -> ClassbridgeClient:
        client, participant_id = await self.waiting_student(index, name)
        await self.aide.command({"type": "lobby.admit", "participant": participant_id})
        await client.admitted()
        return client

    # --- the agenda -----------------------------------------------------------------------------

    async def current_phase(self) -> int:
        """The running phase, read from the ``current`` of a refused move (nothing changes)."""
        try:
            await self.aide.request({"type": "agenda.advance", "from": 99})
        except ClientError as error:
            refusal = error.reply
        else:
            raise AssertionError("a move from phase 99 was accepted")
        assert refusal.code == "phase_moved", refusal
        assert refusal.current is not None
        return int(refusal.current["current"])

    # --- breakouts ------------------------------------------------------------------------------

    async def close_breakouts(self) -> None:
        if self.groups is not None:
            await self.aide.command({"type": "breakout.close"})
            self.groups = None

    async def fresh_breakouts(self) -> list[dict[str, Any]]:
        """A new round of groups (the previous one closed first)."""
        await self.close_breakouts()
        ack = await self.aide.command({"type": "breakout.open", "size": 2, "seed": 7})
        opened = await wait_event(self.aide, "breakout.opened", lambda e: e.seq == ack.seq)
        self.groups = list(opened.data["groups"])
        return self.groups

    async def open_breakouts(self) -> list[dict[str, Any]]:
        return self.groups if self.groups is not None else await self.fresh_breakouts()

    def group_of(self, client: ClassbridgeClient) -> dict[str, Any]:
        assert self.groups is not None
        me = participant_of(client)
        return next(g for g in self.groups if me in g["members"])

    async def close(self) -> None:
        for client in (*self.actors.values(), self.aide, self.watcher, self.amani, self.baraka):
            await client.close()

    # --- the board ------------------------------------------------------------------------------

    async def put(self, author: ClassbridgeClient, kind: str = "rect", **props: Any) -> str:
        record_id = self.unique("r")
        base = STROKE_PROPS if kind == "stroke" else RECT_PROPS
        record = {"id": record_id, "kind": kind, "props": {**base, **props}}
        await author.command({"type": "board.put", "board": "main", "record": record})
        return record_id


async def open_lesson(server: LiveServer) -> Lesson:
    room = await open_classroom(server, settings={"lobby": "everyone"})
    aide = await room.teacher(1)
    watcher = await room.join(await room.token("teacher", 1, "Ms Otieno"))
    host = await room.join(room.created["host_token"])
    teacher = await room.teacher(0)
    station = await room.join(await room.token("station", 0, "Room 12"))
    observer = await room.join(await room.token("observer", 0, "Inspector"))
    lesson = Lesson(room, {}, aide, watcher, aide, aide)  # students follow: they need the aide
    student = await lesson.present_student(0, "Rui")
    lesson.amani = await lesson.present_student(1, "Amani")
    lesson.baraka = await lesson.present_student(1, "Baraka")
    lesson.actors = dict(zip(ROLES, (host, teacher, station, student, observer), strict=True))
    await aide.command({"type": "agenda.set", "phases": PHASES})
    await aide.command({"type": "agenda.advance", "from": -1})
    await aide.command({"type": "agenda.advance", "from": 0})  # phase 1 runs: back works
    return lesson


async def event_at(client: ClassbridgeClient, seq: int) -> EventMessage:
    """The event with this seq (earlier ones are skipped); fails if the client skips past it."""
    while True:
        event = await client.next_event()
        if event.seq >= seq:
            assert event.seq == seq, f"event {seq} never reached this connection"
            return event
