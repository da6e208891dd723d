"""``--chart PATH.html``: the lesson's per-second figures as a self-contained HTML page with
inline SVG (no script, no external file): latency p50/p99 of every event type together but
cursors (which the server batches every 50 ms), and delivered events per second, over the
run's seconds; then the latency per event type as a table."""

from __future__ import annotations

import html
from collections.abc import Sequence

from load_tests.lesson_result import LessonResult
from load_tests.lesson_stats import SecondPoint

WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 60, 20, 34, 40
TICKS = 5


def _nice_top(value: float) -> float:
    """A round number at or above ``value`` for the top of an axis."""
    if value <= 0:
        return 1.0
    step = 10.0 ** len(str(int(value))) / 10
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * factor >= value:
            return float(step * factor)
    return float(step * 10)


def _x(second: float, seconds: int) -> float:
    return LEFT + (WIDTH - LEFT - RIGHT) * second / max(1, seconds - 1)


def _y(value: float, top: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / top)


def _polyline(
    points: Sequence[tuple[int, float | None]], seconds: int, top: float, color: str
) -> str:
    coords = " ".join(
        f"{_x(second, seconds):.1f},{_y(value, top):.1f}"
        for second, value in points
        if value is not None
    )
    return f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{coords}"/>'


def _axes(seconds: int, top: float, unit: str) -> list[str]:
    parts = [
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" '
        f'y2="{HEIGHT - BOTTOM}" stroke="#444"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="#444"/>',
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 6}" text-anchor="middle">seconds</text>',
        f'<text x="{LEFT}" y="{TOP - 14}" text-anchor="middle">{html.escape(unit)}</text>',
    ]
    for i in range(TICKS + 1):
        value = top * i / TICKS
        y = _y(value, top)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#ddd"/>'
        )
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value:g}</text>')
    step = max(1, -(-seconds // 10))  # at most about ten labelled seconds
    for second in range(0, max(1, seconds), step):
        x = _x(second, seconds)
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{second}</text>'
        )
    return parts


def _chart(
    title: str,
    unit: str,
    lines: list[tuple[str, str, list[tuple[int, float | None]]]],
    seconds: int,
    marks: Sequence[tuple[float, str]] = (),
) -> str:
    values = [v for _, _, points in lines for _, v in points if v is not None]
    top = _nice_top(max(values, default=0.0))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        'font-family="sans-serif" font-size="12">'
    ]
    parts += _axes(seconds, top, unit)
    parts += [_polyline(points, seconds, top, color) for _, color, points in lines]
    parts += _marks(marks, seconds)
    for i, (label, color, _) in enumerate(lines):
        x = WIDTH - RIGHT - 120 * (len(lines) - i)
        parts.append(f'<rect x="{x}" y="{TOP - 20}" width="12" height="4" fill="{color}"/>')
        parts.append(f'<text x="{x + 16}" y="{TOP - 14}">{html.escape(label)}</text>')
    parts.append("</svg>")
    return f"<h2>{html.escape(title)}</h2>\n" + "\n".join(parts)


def _marks(marks: Sequence[tuple[float, str]], seconds: int) -> list[str]:
    """A chaos run's faults: a dashed vertical line at each, named."""
    parts = []
    for at_s, name in marks:
        x = _x(at_s, seconds)
        parts.append(
            f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{HEIGHT - BOTTOM}" '
            'stroke="#ff7f0e" stroke-dasharray="4 3"/>'
        )
        parts.append(f'<text x="{x + 3:.1f}" y="{TOP + 12}">{html.escape(name)}</text>')
    return parts


def render_chart(result: LessonResult, heading: str) -> str:
    points: list[SecondPoint] = result.series
    faults = result.chaos.faults if result.chaos is not None else []
    marks = [(fault.at_s, fault.fault) for fault in faults]
    seconds = len(points)
    latency = [
        ("p50", "#1f77b4", [(p.second, p.p50_ms) for p in points]),
        ("p99", "#d62728", [(p.second, p.p99_ms) for p in points]),
    ]
    delivered: list[tuple[str, str, list[tuple[int, float | None]]]] = [
        ("delivered/s", "#2ca02c", [(p.second, float(p.delivered)) for p in points])
    ]
    body = [
        _chart("Latency per second, every event type but cursors", "ms", latency, seconds, marks),
        _chart("Delivered events per second, all types", "events/s", delivered, seconds, marks),
        _kinds(result),
    ]
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<title>Classbridge lesson</title></head>\n<body style="font-family: sans-serif">\n'
        f"<h1>Classbridge lesson on {html.escape(result.system)}</h1>\n"
        f"<p><code>{html.escape(heading)}</code></p>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _kinds(result: LessonResult) -> str:
    """Every event type's latency over the whole run, as in the text table."""
    head = ("event", "received", "p50 ms", "p99 ms", "max ms")
    rows = ["<tr>" + "".join(f"<th>{name}</th>" for name in head) + "</tr>"]
    for kind, lat in result.latency.items():
        cells = (kind, result.deliveries.get(kind, 0), lat.p50_ms, lat.p99_ms, lat.max_ms)
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    table = '<table border="1" cellpadding="4">' + "".join(rows) + "</table>"
    return "<h2>Latency per event type, whole run</h2>\n" + table
