"""Which Redis commands the servers send, and which a Lua script runs for them.

INFO commandstats counts a command that a script runs (``redis.call``) like one a client sent:
one EVALSHA that does INCR, XADD and PUBLISH shows as four calls. To say how many commands the
servers actually send per event, a short MONITOR sample during the warm-up gives, per command,
the share of its calls that came from a script (MONITOR prints those as ``[0 lua]``). MONITOR
costs Redis CPU, so it never runs inside the measured window.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import Counter

MAX_LINES = 50_000
LINE_LIMIT = 2**20  # an EVALSHA line carries the event's payload, escaped
# +1700000000.123456 [0 127.0.0.1:5555] "evalsha" ...   or   ... [0 lua] "INCR" ...
_LINE = re.compile(rb'^\+\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]*)"')


async def script_shares(port: int, start_ns: int, seconds: float) -> dict[str, float] | None:
    """Per command seen: the fraction of its calls run by a script, from ``seconds`` of MONITOR
    starting at ``start_ns`` (monotonic). None when nothing could be sampled."""
    delay = (start_ns - time.monotonic_ns()) / 1e9
    if delay > 0:
        await asyncio.sleep(delay)
    try:
        counts = await _sample(port, seconds)
    except (OSError, TimeoutError, ValueError):
        return None
    return shares(counts) or None


async def _sample(port: int, seconds: float) -> Counter[tuple[str, bool]]:
    """(command, run by a script) -> lines seen; bounded in lines and time."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, limit=LINE_LIMIT), 2.0
    )
    counts: Counter[tuple[str, bool]] = Counter()
    try:
        writer.write(b"MONITOR\r\n")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        for _ in range(MAX_LINES):
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                line = await asyncio.wait_for(reader.readline(), remaining)
            except TimeoutError:
                break
            if not line:
                break
            if match := _LINE.match(line):
                counts[match[2].decode(errors="replace").lower(), match[1] == b"lua"] += 1
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return counts


def shares(counts: Counter[tuple[str, bool]]) -> dict[str, float]:
    totals: Counter[str] = Counter()
    for (name, _), count in counts.items():
        totals[name] += count
    return {name: round(counts[name, True] / total, 4) for name, total in totals.items()}
