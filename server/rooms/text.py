"""What characters people may type, shared by chat and by names.

Refused: control characters (but line breaks and tabs in chat) and the bidirectional
overrides and isolates, which can make text display as something else than it says (a name
that reads "teacher" backwards, a link that hides where it goes). Other format characters stay
allowed: the zero-width joiner builds family and flag emoji that children use every day.
"""

from __future__ import annotations

import unicodedata

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LINE_BREAKS = frozenset("\n\r\t")


def has_forbidden_characters(text: str, *, multiline: bool) -> bool:
    for char in text:
        if char in BIDI_CONTROLS:
            return True
        if unicodedata.category(char) == "Cc" and not (multiline and char in LINE_BREAKS):
            return True
    return False
