"""The mixing of breakout groups (server/rooms/breakouts/mixing.py), as properties over random
sessions: every student in exactly one group, sizes within one, classes mixed whenever the
numbers allow, the same groups for the same seed."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from server.rooms.breakouts.mixing import Student, assign_groups, group_count


@st.composite
def sessions(draw: st.DrawFn) -> list[Student]:
    """Up to 4 classes of up to 30 students each (the ids say the class, for readable failures)."""
    counts = draw(st.lists(st.integers(0, 30), min_size=1, max_size=4))
    return [Student(f"c{c}-s{n}", f"c{c}") for c, count in enumerate(counts) for n in range(count)]


sizes = st.integers(2, 8)
seeds = st.integers(0, 2**32)


def classes_in(group: list[str], students: list[Student]) -> set[str]:
    class_of = {s.id: s.class_id for s in students}
    return {class_of[member] for member in group}


@given(sessions(), sizes, seeds)
def test_every_student_is_in_exactly_one_group(
    students: list[Student], size: int, seed: int
) -> None:
    groups = assign_groups(students, size, seed)
    placed = [member for group in groups for member in group]
    assert sorted(placed) == sorted(s.id for s in students)


@given(sessions(), sizes, seeds)
def test_group_sizes_differ_by_at_most_one(students: list[Student], size: int, seed: int) -> None:
    lengths = [len(group) for group in assign_groups(students, size, seed)]
    assert max(lengths) - min(lengths) <= 1


@given(sessions(), sizes, seeds)
def test_no_group_is_bigger_than_asked_and_nobody_is_alone(
    students: list[Student], size: int, seed: int
) -> None:
    lengths = [len(group) for group in assign_groups(students, size, seed)]
    if len(students) >= 2:
        assert min(lengths) >= 2
    if len(lengths) > 1:  # only a lone group grows past the size (5 in groups of 4: one group)
        assert max(lengths) <= max(size, 3)


@given(sessions(), sizes, seeds)
def test_each_class_is_spread_evenly(students: list[Student], size: int, seed: int) -> None:
    groups = assign_groups(students, size, seed)
    for class_id in {s.class_id for s in students}:
        per_group = [len({m for m in g if m.startswith(f"{class_id}-")}) for g in groups]
        assert max(per_group) - min(per_group) <= 1


@given(sessions(), sizes, seeds)
def test_groups_mix_classes_whenever_the_numbers_allow(
    students: list[Student], size: int, seed: int
) -> None:
    groups = assign_groups(students, size, seed)
    counts = Counter(s.class_id for s in students)
    # Mixing every group needs at least one student outside the largest class per group.
    allowed = len(counts) > 1 and len(students) - max(counts.values()) >= len(groups)
    if allowed:
        assert all(len(classes_in(group, students)) >= 2 for group in groups)


@given(sessions(), sizes, seeds)
def test_the_same_seed_gives_the_same_groups_whatever_the_order(
    students: list[Student], size: int, seed: int
) -> None:
    first = assign_groups(students, size, seed)
    assert assign_groups(list(reversed(students)), size, seed) == first


def test_two_classes_of_four_in_groups_of_four_make_two_plus_two() -> None:
    students = [Student(f"a{n}", "a") for n in range(4)] + [Student(f"b{n}", "b") for n in range(4)]
    for seed in range(20):
        groups = assign_groups(students, 4, seed)
        assert len(groups) == 2
        for group in groups:
            assert Counter(m[0] for m in group) == {"a": 2, "b": 2}


def test_seeds_change_the_groups() -> None:
    students = [Student(f"a{n}", "a") for n in range(6)] + [Student(f"b{n}", "b") for n in range(6)]
    outcomes = {str(assign_groups(students, 3, seed)) for seed in range(10)}
    assert len(outcomes) > 1


def test_group_count_avoids_a_student_alone() -> None:
    assert group_count(8, 4) == 2
    assert group_count(9, 4) == 3
    assert group_count(5, 2) == 2  # 3 + 2, not 2 + 2 + 1
    assert group_count(3, 2) == 1
    assert group_count(1, 2) == 1
