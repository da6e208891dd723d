"""The SVG export of a board (server/rooms/board/svg.py): pure, so no server is needed.

Every document is parsed with ElementTree: an export that is not well-formed XML fails here,
whatever the browser would make of it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from server.protocol.board import BoardAppend, BoardPut
from server.rooms.board.model import MAIN_BOARD, Board
from server.rooms.board.records import BoardRecord
from server.rooms.board.svg import (
    EMPTY_VIEW,
    MARGIN,
    arrowhead_length,
    ink_for,
    number,
    render_svg,
    wrap,
)
from tests.rooms.builders import AMANI, TEACHER, full_session

NS = "{http://www.w3.org/2000/svg}"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"

STROKE: dict[str, Any] = {
    "points": [0, 0, 40, 30, 80, 10],
    "color": "#cc0000",
    "width": 4,
    "open": False,
}
RECT = {"x": 100, "y": 50, "w": 60, "h": 40, "color": "#000000", "width": 2, "fill": None}
ELLIPSE = {"x": 10, "y": 10, "w": 31, "h": 20, "color": "#0000cc", "width": 3, "fill": "#ffee00"}
LINE = {"x1": 0, "y1": 100, "x2": 50, "y2": 150, "color": "#00aa00", "width": 2}
ARROW: dict[str, Any] = {"x1": 0, "y1": 0, "x2": 100, "y2": 0, "color": "#333333", "width": 2}
TEXT: dict[str, Any] = {"x": 20, "y": 200, "text": "Hello\nworld", "color": "#112233", "size": 24}
NOTE = {"x": 300, "y": 300, "w": 150, "h": 150, "text": "Rain in Bergen", "color": "#ffe066"}


def board_of(*records: tuple[str, str, dict[str, Any]], title: str = "") -> Board:
    """A board holding ``(id, kind, props)`` records, z in the given order (bottom first)."""
    board = Board(id=MAIN_BOARD, title=title)
    for z, (record_id, kind, props) in enumerate(records, start=1):
        board.records[record_id] = BoardRecord(record_id, kind, "p_amani", "c1", z, z, dict(props))
    return board


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg.encode())


def drawing(root: ET.Element) -> list[ET.Element]:
    """The elements after the title and the white page, in document (paint) order."""
    children = list(root)
    assert children[0].tag == f"{NS}title"
    assert children[1].tag == f"{NS}rect"
    assert children[1].get("fill") == "#ffffff"
    return children[2:]


def view_box(root: ET.Element) -> tuple[float, float, float, float]:
    x, y, w, h = (float(part) for part in root.get("viewBox", "").split())
    return x, y, x + w, y + h


def note_lines(note: ET.Element) -> list[str]:
    """The wrapped lines of a note's text (the note is a group: its sheet, then its text)."""
    _sheet, text = list(note)
    return [span.text or "" for span in text]


def every_text(root: ET.Element) -> str:
    return "\n".join("".join(e.itertext()) for e in root.iter(f"{NS}text"))


def test_an_empty_board_is_a_blank_page() -> None:
    svg = render_svg(Board(id=MAIN_BOARD))
    assert svg.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<svg ')
    root = parse(svg)
    assert root.tag == f"{NS}svg"
    assert root.get("version") == "1.1"
    assert root.get("viewBox") == " ".join(map(str, EMPTY_VIEW))
    assert drawing(root) == []
    assert root.findtext(f"{NS}title") == MAIN_BOARD  # no title given: the board's id


def test_each_kind_renders() -> None:
    board = board_of(
        ("s", "stroke", STROKE),
        ("r", "rect", RECT),
        ("e", "ellipse", ELLIPSE),
        ("l", "line", LINE),
        ("a", "arrow", ARROW),
        ("t", "text", TEXT),
        ("n", "note", NOTE),
    )
    stroke, rect, ellipse, line, arrow, text, note = drawing(parse(render_svg(board)))

    assert stroke.tag == f"{NS}polyline"
    assert stroke.get("points") == "0,0 40,30 80,10"
    assert (stroke.get("fill"), stroke.get("stroke"), stroke.get("stroke-width")) == (
        "none",
        "#cc0000",
        "4",
    )
    assert (stroke.get("stroke-linecap"), stroke.get("stroke-linejoin")) == ("round", "round")

    assert rect.tag == f"{NS}rect"
    assert [rect.get(a) for a in ("x", "y", "width", "height", "fill")] == [
        "100",
        "50",
        "60",
        "40",
        "none",
    ]

    assert ellipse.tag == f"{NS}ellipse"
    assert [ellipse.get(a) for a in ("cx", "cy", "rx", "ry", "fill")] == [
        "25.5",
        "20",
        "15.5",
        "10",
        "#ffee00",
    ]

    assert line.tag == f"{NS}line"
    assert [line.get(a) for a in ("x1", "y1", "x2", "y2", "stroke")] == [
        "0",
        "100",
        "50",
        "150",
        "#00aa00",
    ]

    assert arrow.tag == f"{NS}g"
    assert [child.tag for child in arrow] == [f"{NS}line", f"{NS}polygon"]

    assert text.tag == f"{NS}text"
    assert text.get("font-size") == "24"
    assert text.get(XML_SPACE) == "preserve"
    assert [(s.get("x"), s.text) for s in text] == [("20", "Hello"), ("20", "world")]

    assert note.tag == f"{NS}g"
    sheet, words = list(note)
    assert (sheet.tag, sheet.get("fill"), sheet.get("width"), sheet.get("height")) == (
        f"{NS}rect",
        "#ffe066",
        "150",
        "150",
    )
    assert words.tag == f"{NS}text"
    assert " ".join(note_lines(note)) == "Rain in Bergen"


def test_records_are_painted_bottom_to_top() -> None:
    board = board_of(("low", "rect", RECT), ("high", "ellipse", ELLIPSE))
    board.records["low"].z, board.records["high"].z = 7, -3  # z decides, not insertion
    tags = [e.tag for e in drawing(parse(render_svg(board)))]
    assert tags == [f"{NS}ellipse", f"{NS}rect"]


def test_equal_z_is_ordered_by_id() -> None:
    board = board_of(("b", "rect", RECT), ("a", "ellipse", ELLIPSE))
    for record in board.records.values():
        record.z = 1
    tags = [e.tag for e in drawing(parse(render_svg(board)))]
    assert tags == [f"{NS}ellipse", f"{NS}rect"]


def test_a_single_point_stroke_is_a_dot() -> None:
    dot = {"points": [5, 6], "color": "#cc0000", "width": 9, "open": True}
    (circle,) = drawing(parse(render_svg(board_of(("s", "stroke", dot)))))
    assert circle.tag == f"{NS}circle"
    assert [circle.get(a) for a in ("cx", "cy", "r", "fill")] == ["5", "6", "4.5", "#cc0000"]


def test_a_stroke_without_points_draws_nothing() -> None:
    empty = {"points": [], "color": "#cc0000", "width": 2, "open": True}
    root = parse(render_svg(board_of(("s", "stroke", empty))))
    assert drawing(root) == []
    assert root.get("viewBox") == " ".join(map(str, EMPTY_VIEW))


def test_the_arrowhead_points_at_the_end() -> None:
    (arrow,) = drawing(parse(render_svg(board_of(("a", "arrow", ARROW)))))
    shaft, head = list(arrow)
    head_length = arrowhead_length(ARROW["width"])
    assert (shaft.get("x1"), shaft.get("x2")) == ("0", str(100 - head_length))
    corners = [tuple(map(float, p.split(","))) for p in head.get("points", "").split()]
    assert corners[0] == (100, 0)  # the tip
    assert {x for x, _ in corners[1:]} == {100 - head_length}
    assert sorted(y for _, y in corners[1:]) == [-head_length / 2, head_length / 2]
    assert head.get("fill") == "#333333"


def test_a_short_arrow_is_all_head() -> None:
    short = {**ARROW, "x2": 5}
    (arrow,) = drawing(parse(render_svg(board_of(("a", "arrow", short)))))
    assert [child.tag for child in arrow] == [f"{NS}polygon"]


def test_a_zero_length_arrow_still_renders() -> None:
    still = {**ARROW, "x2": 0}
    root = parse(render_svg(board_of(("a", "arrow", still))))
    assert [e.tag for e in drawing(root)] == [f"{NS}line"]


HOSTILE = [
    "<script>alert('x')</script>",
    "Tom & Jerry",
    "say \"hi\" and 'bye'",
    "]]> <![CDATA[ x ]]>",
    "<!-- comment --> <?pi x?> &amp; &#x3c;",
    '"/><script>alert(1)</script><x a="',
]


@pytest.mark.parametrize("text", HOSTILE)
def test_typed_text_is_escaped(text: str) -> None:
    board = board_of(
        ("t", "text", {**TEXT, "text": text}),
        ("n", "note", {**NOTE, "w": 2000, "text": text}),
    )
    svg = render_svg(board, title=text)
    root = parse(svg)
    assert not list(root.iter("script"))
    assert not list(root.iter(f"{NS}script"))
    for raw in ("<script", "]]>", "<!--", "<?pi", "&#x3c;"):
        assert raw not in svg
    assert root.findtext(f"{NS}title") == text
    text_element, note = drawing(root)
    assert "".join(text_element.itertext()) == text  # the same characters come back out
    assert "".join(note.itertext()) == text


def test_characters_xml_cannot_hold_are_dropped() -> None:
    # Validation refuses control characters; a lone surrogate or U+FFFF can still come in
    # through JSON, and must not make the document malformed or unencodable.
    board = board_of(("t", "text", {**TEXT, "text": "a\ud800b\uffffc"}))
    svg = render_svg(board)
    svg.encode()
    assert "".join(drawing(parse(svg))[0].itertext()) == "abc"


def test_emoji_and_other_scripts_stay() -> None:
    text = "Jambo 👋🏾 مرحبا 你好 👨‍👩‍👧"
    root = parse(render_svg(board_of(("t", "text", {**TEXT, "text": text}))))
    assert every_text(root) == text


def test_multi_line_text_keeps_empty_lines_as_space() -> None:
    board = board_of(("t", "text", {**TEXT, "text": "one\r\n\ntwo\tx"}))
    (text,) = drawing(parse(render_svg(board)))
    spans = list(text)
    assert [s.text for s in spans] == ["one", "two x"]
    first, second = (float(s.get("y", "")) for s in spans)
    line_height = TEXT["size"] * 5 // 4
    assert second - first == 2 * line_height  # the blank line keeps its place


def test_note_text_is_wrapped_inside_the_note() -> None:
    words = "the river near our school floods every spring"
    board = board_of(("n", "note", {**NOTE, "text": words}))
    (note,) = drawing(parse(render_svg(board)))
    lines = note_lines(note)
    assert len(lines) > 1
    assert " ".join(lines) == words
    for span in note[1]:
        assert 300 < float(span.get("x", "")) < 450


def test_wrap() -> None:
    assert wrap("a bb ccc dddd", 6) == ["a bb", "ccc", "dddd"]
    assert wrap("abcdefghij", 4) == ["abcd", "efgh", "ij"]
    assert wrap("one\n\ntwo", 10) == ["one", "", "two"]
    assert wrap("", 5) == [""]


def test_note_ink_contrasts_with_its_paper() -> None:
    assert ink_for("#ffe066") != "#ffffff"
    assert ink_for("#1a237e") == "#ffffff"
    dark = board_of(("n", "note", {**NOTE, "color": "#1a237e"}))
    (note,) = drawing(parse(render_svg(dark)))
    assert note[1].get("fill") == "#ffffff"


def test_the_view_box_holds_every_record_with_a_margin() -> None:
    far = {**STROKE, "points": [-500, -300, 2000, 1500]}
    board = board_of(("s", "stroke", far), ("r", "rect", RECT), ("a", "arrow", ARROW))
    root = parse(render_svg(board))
    left, top, right, bottom = view_box(root)
    half = STROKE["width"] // 2
    assert (left, top) == (-500 - half - MARGIN, -300 - half - MARGIN)
    assert (right, bottom) == (2000 + half + MARGIN, 1500 + half + MARGIN)
    page = drawing(root)
    assert page  # and the white page covers the whole view
    background = list(root)[1]
    assert [float(background.get(a, "")) for a in ("x", "y")] == [left, top]
    assert root.get("width") == background.get("width") == number(right - left)


@pytest.mark.parametrize(
    ("kind", "props"),
    [
        ("stroke", STROKE),
        ("rect", RECT),
        ("ellipse", ELLIPSE),
        ("line", LINE),
        ("arrow", {**ARROW, "x1": 100, "y1": 80, "x2": -40, "y2": -70}),
        ("text", TEXT),
        ("note", {**NOTE, "h": 40, "text": "a long text that runs past the bottom " * 3}),
    ],
)
def test_the_view_box_holds_each_kind(kind: str, props: dict[str, Any]) -> None:
    root = parse(render_svg(board_of(("x", kind, props))))
    left, top, right, bottom = view_box(root)
    (element,) = drawing(root)
    for x, y in _coordinates(element):
        assert left + MARGIN <= x + 0.01, (x, left)
        assert x - 0.01 <= right - MARGIN, (x, right)
        assert top + MARGIN <= y + 0.01, (y, top)
        assert y - 0.01 <= bottom - MARGIN, (y, bottom)


def _coordinates(element: ET.Element) -> list[tuple[float, float]]:
    """Every point an element names (corners, ends, text anchors), its children's too."""
    found: list[tuple[float, float]] = []
    for e in element.iter():
        for pair in (e.get("points") or "").split():
            x_text, y_text = pair.split(",")
            found.append((float(x_text), float(y_text)))
        for x_name, y_name in (("x", "y"), ("x1", "y1"), ("x2", "y2"), ("cx", "cy")):
            if e.get(x_name) is not None:
                found.append((float(e.get(x_name, "")), float(e.get(y_name, ""))))
        if e.get("width") is not None:
            x, y = float(e.get("x", "")), float(e.get("y", ""))
            found.append((x + float(e.get("width", "")), y + float(e.get("height", ""))))
    return found


def test_the_output_is_deterministic() -> None:
    def build() -> Board:
        return board_of(
            ("s", "stroke", STROKE),
            ("e", "ellipse", ELLIPSE),
            ("a", "arrow", {**ARROW, "x2": 77, "y2": 31}),
            ("n", "note", NOTE),
            title="Rivers",
        )

    first = render_svg(build(), "Water in our towns")
    assert render_svg(build(), "Water in our towns") == first
    shuffled = build()
    shuffled.records = dict(reversed(list(shuffled.records.items())))
    assert render_svg(shuffled, "Water in our towns") == first  # dict order does not matter


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (3, "3"),
        (-4, "-4"),
        (2.5, "2.5"),
        (1 / 3, "0.33"),
        (-0.001, "0"),
        (7.0, "7"),
        (1e6, "1000000"),
    ],
)
def test_numbers_are_printed_without_float_noise(value: float, shown: str) -> None:
    assert number(value) == shown


def test_the_title_names_the_document() -> None:
    board = board_of(("r", "rect", RECT), title="Our rivers")
    assert parse(render_svg(board)).findtext(f"{NS}title") == "Our rivers"
    given = parse(render_svg(board, "Water & us — main")).findtext(f"{NS}title")
    assert given == "Water & us — main"


def test_records_drawn_through_the_core_render() -> None:
    """Records as the reducer stores them (open strokes, appended points, patched props)."""
    session = full_session()
    props = {"points": [1, 2], "color": "#cc0000", "width": 4}  # open until the last append
    stroke = {"id": "s1", "kind": "stroke", "props": props}
    session.command(AMANI, BoardPut(MAIN_BOARD, stroke))
    session.command(AMANI, BoardAppend(MAIN_BOARD, "s1", 1, [3, 4, 5, 6], True))
    session.command(TEACHER, BoardPut(MAIN_BOARD, {"id": "n1", "kind": "note", "props": NOTE}))
    root = parse(render_svg(session.state.boards[MAIN_BOARD]))
    polyline, note = drawing(root)
    assert polyline.get("points") == "1,2 3,4 5,6"
    assert " ".join(note_lines(note)) == NOTE["text"]
