from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import pytest
import uvloop


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """`classbridge serve` runs on uvloop (uvicorn picks it when installed), the other tests in
    pytest's asyncio loop. Timers differ between the two (uvloop's clock moves in milliseconds),
    so the tests of presence, resume and connections run on both."""
    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}
