"""Static checks of the browser code in client_demo/."""

from __future__ import annotations

import re
from pathlib import Path

CLIENT_DEMO = Path(__file__).resolve().parents[2] / "client_demo"


def test_the_page_code_never_writes_html() -> None:
    """Text from people reaches the page through textContent and fillText only."""
    for path in CLIENT_DEMO.glob("*.js"):
        source = path.read_text(encoding="utf-8")
        found = re.findall(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", source)
        assert found == [], f"{path.name}: {found}"
