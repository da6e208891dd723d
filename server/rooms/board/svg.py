"""The SVG picture of a board: a standalone SVG 1.1 document a teacher can keep or print.

Pure and deterministic: the same board gives the same bytes on every worker, so an export can
be compared, cached or diffed. Coordinates are integers already; the few computed numbers
(ellipse centres, arrowheads) use only arithmetic and a square root, which IEEE 754 rounds the
same everywhere, and are printed with a fixed number of decimals.

Students type the text on a board, so every piece of text and every attribute is escaped: the
document holds no script, no link and no reference to anything outside itself.

Geometry: ``x, y`` of a text record is the top-left corner of its first line; a note's text is
wrapped inside its box by an estimate of character widths (no font metrics here), and runs past
the bottom rather than being cut, so nothing a student wrote is lost from the export.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.rooms.board.model import Board
from server.rooms.board.records import BoardRecord, RecordKind

MARGIN = 40  # around the drawing, so strokes at the edge are not cut by the page border
EMPTY_VIEW = (0, 0, 800, 600)  # an empty board: a blank landscape page
FONT_FAMILY = "sans-serif"  # what every viewer and printer has
NOTE_FONT_SIZE = 16
NOTE_PADDING = 10

# Characters XML 1.0 cannot hold at all (even escaped). Validation refuses control characters,
# but a lone surrogate or U+FFFF can still arrive through JSON: drop them, or the document
# would be malformed (or fail to encode as UTF-8).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}
_SPECIAL = re.compile("[&<>\"']")


def escape(text: str) -> str:
    """Text safe both as element content and inside a double- or single-quoted attribute."""
    return _SPECIAL.sub(lambda m: _ESCAPES[m.group()], _NOT_XML.sub("", text))


def number(value: float) -> str:
    """Integers as they are; other numbers with at most two decimals, never ``-0``."""
    if isinstance(value, int):
        return str(value)
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True, slots=True)
class Box:
    left: float
    top: float
    right: float
    bottom: float

    def grown(self, by: float) -> Box:
        return Box(self.left - by, self.top - by, self.right + by, self.bottom + by)


@dataclass(frozen=True, slots=True)
class Drawn:
    markup: str
    box: Box


def _attrs(**values: object) -> str:
    """``name="value"`` pairs in the given order (so output is stable); ``_`` becomes ``-``."""
    parts = []
    for name, value in values.items():
        shown = number(value) if isinstance(value, int | float) else str(value)
        parts.append(f'{name.replace("_", "-")}="{escape(shown)}"')
    return " ".join(parts)


def _outline(props: dict[str, Any]) -> dict[str, object]:
    fill = props.get("fill")
    return {"fill": fill or "none", "stroke": props["color"], "stroke_width": props["width"]}


# --- shapes ------------------------------------------------------------------------------------


def _stroke(props: dict[str, Any]) -> Drawn | None:
    points: list[int] = props["points"]
    if not points:
        return None  # put with no points yet: nothing to see
    width, color = props["width"], props["color"]
    xs, ys = points[0::2], points[1::2]
    box = Box(min(xs), min(ys), max(xs), max(ys)).grown(width / 2)
    if len(points) == 2:
        # A tap: a zero-length polyline is drawn by some viewers and not by others.
        dot = _attrs(cx=xs[0], cy=ys[0], r=width / 2, fill=color)
        return Drawn(f"<circle {dot}/>", box)
    pairs = " ".join(f"{x},{y}" for x, y in zip(xs, ys, strict=True))
    line = _attrs(
        points=pairs,
        fill="none",
        stroke=color,
        stroke_width=width,
        stroke_linecap="round",
        stroke_linejoin="round",
    )
    return Drawn(f"<polyline {line}/>", box)


def _box(props: dict[str, Any]) -> Box:
    x, y = props["x"], props["y"]
    return Box(x, y, x + props["w"], y + props["h"])


def _rect(props: dict[str, Any]) -> Drawn:
    box = _box(props)
    rect = _attrs(x=props["x"], y=props["y"], width=props["w"], height=props["h"])
    return Drawn(f"<rect {rect} {_attrs(**_outline(props))}/>", box.grown(props["width"] / 2))


def _ellipse(props: dict[str, Any]) -> Drawn:
    box = _box(props)
    centre = _attrs(
        cx=props["x"] + props["w"] / 2,
        cy=props["y"] + props["h"] / 2,
        rx=props["w"] / 2,
        ry=props["h"] / 2,
    )
    return Drawn(f"<ellipse {centre} {_attrs(**_outline(props))}/>", box.grown(props["width"] / 2))


def _segment(x1: float, y1: float, x2: float, y2: float, props: dict[str, Any]) -> str:
    ends = _attrs(x1=x1, y1=y1, x2=x2, y2=y2)
    look = _attrs(stroke=props["color"], stroke_width=props["width"], stroke_linecap="round")
    return f"<line {ends} {look}/>"


def _ends_box(props: dict[str, Any], reach: float) -> Box:
    x1, y1, x2, y2 = props["x1"], props["y1"], props["x2"], props["y2"]
    return Box(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)).grown(reach)


def _line(props: dict[str, Any]) -> Drawn:
    markup = _segment(props["x1"], props["y1"], props["x2"], props["y2"], props)
    return Drawn(markup, _ends_box(props, props["width"] / 2))


def arrowhead_length(width: int) -> int:
    """Long and wide enough to cover the shaft's round cap at any width."""
    return 3 * width + 8


def _arrow(props: dict[str, Any]) -> Drawn:
    """The shaft stops where the head starts, so a thick shaft does not blunt the tip. The head
    is a polygon rather than a marker: one per colour would be needed, and printers differ."""
    x1, y1, x2, y2 = props["x1"], props["y1"], props["x2"], props["y2"]
    length = math.hypot(x2 - x1, y2 - y1)
    head = arrowhead_length(props["width"])
    box = _ends_box(props, head)
    if length == 0:
        return Drawn(_segment(x1, y1, x2, y2, props), box)
    ux, uy = (x2 - x1) / length, (y2 - y1) / length
    head = min(head, int(length)) or 1
    bx, by = x2 - ux * head, y2 - uy * head  # the middle of the head's base
    side_x, side_y = -uy * head / 2, ux * head / 2
    corners = [(x2, y2), (bx + side_x, by + side_y), (bx - side_x, by - side_y)]
    points = " ".join(f"{number(x)},{number(y)}" for x, y in corners)
    shaft = _segment(x1, y1, bx, by, props) if length > head else ""
    tip = f"<polygon {_attrs(points=points, fill=props['color'])}/>"
    return Drawn(f"<g>{shaft}{tip}</g>", box)


# --- text --------------------------------------------------------------------------------------


def text_lines(text: str) -> list[str]:
    """Lines as typed: any line break ends a line; tabs become spaces."""
    return text.replace("\r\n", "\n").replace("\r", "\n").expandtabs(4).split("\n")


def _char_width(size: int) -> float:
    return size * 0.6  # about the average advance of a sans-serif letter


def _tspans(lines: list[str], x: int, top: int, size: int) -> tuple[str, int]:
    """Each line at an absolute position (empty lines keep their place without a tspan)."""
    step = size * 5 // 4
    spans = []
    for index, line in enumerate(lines):
        if line:
            where = _attrs(x=x, y=top + size + index * step)
            spans.append(f"<tspan {where}>{escape(line)}</tspan>")
    return "".join(spans), len(lines) * step


def _text_element(lines: list[str], x: int, top: int, size: int, color: str) -> tuple[str, int]:
    spans, height = _tspans(lines, x, top, size)
    look = _attrs(font_family=FONT_FAMILY, font_size=size, fill=color)
    return f'<text {look} xml:space="preserve">{spans}</text>', height


def _text(props: dict[str, Any]) -> Drawn:
    x, y, size = props["x"], props["y"], props["size"]
    lines = text_lines(props["text"])
    markup, height = _text_element(lines, x, y, size, props["color"])
    widest = max(len(line) for line in lines)
    return Drawn(markup, Box(x, y, x + widest * _char_width(size), y + height))


def wrap(text: str, columns: int) -> list[str]:
    """Greedy word wrap to ``columns`` characters; a longer word is cut into pieces."""
    wrapped: list[str] = []
    for line in text_lines(text):
        current = ""
        for word in line.split(" "):
            while len(word) > columns:
                if current:
                    wrapped.append(current)
                    current = ""
                wrapped.append(word[:columns])
                word = word[columns:]
            joined = f"{current} {word}" if current else word
            if len(joined) <= columns:
                current = joined
            else:
                wrapped.append(current)
                current = word
        wrapped.append(current)
    return wrapped


def ink_for(paper: str) -> str:
    """Dark text on light paper, white on dark (perceived brightness, ITU-R BT.601)."""
    r, g, b = (int(paper[i : i + 2], 16) for i in (1, 3, 5))
    return "#1f2328" if 299 * r + 587 * g + 114 * b >= 128_000 else "#ffffff"


def _note(props: dict[str, Any]) -> Drawn:
    x, y, w, h, paper = props["x"], props["y"], props["w"], props["h"], props["color"]
    sheet = _attrs(x=x, y=y, width=w, height=h, rx=4, fill=paper)
    edge = _attrs(stroke="#000000", stroke_opacity="0.15", stroke_width=1)
    columns = max(1, int((w - 2 * NOTE_PADDING) // _char_width(NOTE_FONT_SIZE)))
    lines = wrap(props["text"], columns)
    left, top = x + NOTE_PADDING, y + NOTE_PADDING
    text, height = _text_element(lines, left, top, NOTE_FONT_SIZE, ink_for(paper))
    box = Box(x, y, x + w, max(y + h, top + height)).grown(1)
    return Drawn(f"<g><rect {sheet} {edge}/>{text}</g>", box)


_RENDERERS: dict[str, Callable[[dict[str, Any]], Drawn | None]] = {
    RecordKind.STROKE: _stroke,
    RecordKind.RECT: _rect,
    RecordKind.ELLIPSE: _ellipse,
    RecordKind.LINE: _line,
    RecordKind.ARROW: _arrow,
    RecordKind.TEXT: _text,
    RecordKind.NOTE: _note,
}


def draw(record: BoardRecord) -> Drawn | None:
    """One record's markup and extent; None for nothing visible or a kind this version lacks
    (a newer worker may have written it: the rest of the board still exports)."""
    renderer = _RENDERERS.get(record.kind)
    return None if renderer is None else renderer(record.props)


# --- the document ------------------------------------------------------------------------------


def _view(boxes: list[Box]) -> tuple[int, int, int, int]:
    """Whole units around everything drawn, plus the margin: ``(x, y, width, height)``."""
    if not boxes:
        return EMPTY_VIEW
    left = math.floor(min(b.left for b in boxes)) - MARGIN
    top = math.floor(min(b.top for b in boxes)) - MARGIN
    right = math.ceil(max(b.right for b in boxes)) + MARGIN
    bottom = math.ceil(max(b.bottom for b in boxes)) + MARGIN
    return left, top, right - left, bottom - top


def render_svg(board: Board, title: str = "") -> str:
    """The board as an SVG 1.1 document, records bottom to top on a white page. ``title``
    names it (the board's title, else its id, when empty)."""
    drawn = [d for d in map(draw, board.ordered()) if d is not None]
    x, y, width, height = _view([d.box for d in drawn])
    root = _attrs(
        xmlns="http://www.w3.org/2000/svg",
        version="1.1",
        width=width,
        height=height,
        viewBox=f"{x} {y} {width} {height}",
    )
    page = _attrs(x=x, y=y, width=width, height=height, fill="#ffffff")
    body = "\n".join(d.markup for d in drawn)
    name = escape(title or board.title or board.id)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<svg {root}>\n<title>{name}</title>\n<rect {page}/>\n"
        + (f"{body}\n" if body else "")
        + "</svg>\n"
    )
