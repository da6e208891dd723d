"""The character rules match their definition: Unicode category Cc (less tab, line feed and
carriage return in multi-line text) plus the bidirectional controls."""

from __future__ import annotations

import unicodedata

import pytest

from server.rooms.text import has_forbidden_characters

BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LINE_BREAKS = set("\t\n\r")


def _by_definition(char: str, multiline: bool) -> bool:
    if char in BIDI:
        return True
    return unicodedata.category(char) == "Cc" and not (multiline and char in LINE_BREAKS)


@pytest.mark.parametrize("multiline", [True, False])
def test_every_character_up_to_u3000_follows_the_definition(multiline: bool) -> None:
    # Every Cc character and every bidi control lies below U+3000.
    for code_point in range(0x3000):
        char = chr(code_point)
        assert has_forbidden_characters(char, multiline=multiline) == _by_definition(
            char, multiline
        ), hex(code_point)


@pytest.mark.parametrize(
    "text", ["Olá! 👨\u200d👩\u200d👧 جيد", "日本語のテキスト", "🏳\ufe0f\u200d🌈", "a\u00adb"]
)
def test_letters_emoji_and_joiners_pass(text: str) -> None:
    assert not has_forbidden_characters(text, multiline=False)
