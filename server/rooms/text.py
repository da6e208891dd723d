"""What characters people may type, shared by chat and by names.

Refused: control characters (but line breaks and tabs in chat) and the bidirectional
overrides and isolates, which can make text display as something else than it says (a name
that reads "teacher" backwards, a link that hides where it goes). Other format characters stay
allowed: the zero-width joiner builds family and flag emoji that children use every day.
"""

from __future__ import annotations

import re

# Category Cc is exactly U+0000-U+001F and U+007F-U+009F; one regular expression scans a text
# far faster than a category lookup per character (chat text is checked on every post).
_FORBIDDEN_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_FORBIDDEN_SINGLE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def has_forbidden_characters(text: str, *, multiline: bool) -> bool:
    """Control characters (but tab, line feed and carriage return when ``multiline``) and the
    bidirectional embeddings, overrides and isolates."""
    pattern = _FORBIDDEN_MULTILINE if multiline else _FORBIDDEN_SINGLE_LINE
    return pattern.search(text) is not None
