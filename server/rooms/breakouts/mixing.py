"""Split the present students into groups that mix the classes. Pure and deterministic: the
same students, size and seed give the same groups on every machine (``random.Random(seed)``,
never the global generator), although only the deciding worker runs it: the groups it makes
are logged in ``breakout.opened``.

How: the students of each class are shuffled, the classes are laid end to end (the largest
first), and the line is dealt round the groups like cards. Dealing keeps the group sizes within
one of each other and spreads every class over the groups as evenly as its numbers allow.
Laying the largest class first means that whenever the other classes together have at least
one student per group, every group gets at least two classes (the tests prove it on random
sessions).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Student:
    id: str
    class_id: str


def group_count(students: int, size: int) -> int:
    """Enough groups that none has more than ``size`` members, but nobody alone in a group
    (5 students in groups of 2 make 3 + 2, not 2 + 2 + 1)."""
    if students <= 1:
        return 1
    count = -(-students // size)  # ceiling division
    while count > 1 and students // count < 2:
        count -= 1
    return count


def assign_groups(students: Sequence[Student], size: int, seed: int) -> list[list[str]]:
    """The members of each group (participant ids), in dealing order. ``size`` >= 2."""
    rng = random.Random(seed)
    by_class: dict[str, list[str]] = {}
    for student in sorted(students, key=lambda s: s.id):  # the input order must not matter
        by_class.setdefault(student.class_id, []).append(student.id)
    for members in by_class.values():
        rng.shuffle(members)
    classes = sorted(by_class, key=lambda class_id: (-len(by_class[class_id]), class_id))
    line = [member for class_id in classes for member in by_class[class_id]]
    groups: list[list[str]] = [[] for _ in range(group_count(len(line), size))]
    for place, member in enumerate(line):
        groups[place % len(groups)].append(member)
    return groups
