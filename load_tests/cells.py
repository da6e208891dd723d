"""Table cells shared by every scenario's table, so that a figure reads the same in each."""

from __future__ import annotations

from collections.abc import Sequence


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def line(columns: Sequence[tuple[str, int]], cells: list[str]) -> str:
    """One row: the first cell (the system) to the left, the figures to the right."""
    return "  ".join(
        c.rjust(w) if i else c.ljust(w)
        for i, (c, (_, w)) in enumerate(zip(cells, columns, strict=True))
    )
