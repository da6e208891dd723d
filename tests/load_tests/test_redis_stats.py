"""Redis commands per event (load_tests/redis_stats.py): the arithmetic, and the redis system
of the chat benchmark at a tiny size."""

from __future__ import annotations

from collections import Counter

import pytest

from load_tests.config import FanoutConfig
from load_tests.fanout import run_benchmark
from load_tests.redis_monitor import shares
from load_tests.redis_stats import command_figures
from tests.tools import required_tool


def test_per_event_figures_take_out_the_probes_own_commands() -> None:
    before = {"evalsha": 10, "incr": 10, "xadd": 10, "publish": 10, "info": 3}
    after = {"evalsha": 30, "incr": 30, "xadd": 30, "publish": 30, "info": 4, "ping": 2}

    figures = command_figures(before, after, appended=20, script_share=None, monitored=False)

    # info: 4 - 3 - 1 (the INFO that took ``before`` counts itself only once done) = 0.
    assert figures.by_command == {"evalsha": 20, "incr": 20, "publish": 20, "xadd": 20, "ping": 2}
    assert figures.calls == 82
    assert figures.per_event == 4.1
    assert figures.scripts_per_event == 1.0
    assert figures.sent_per_event is None  # no MONITOR sample
    assert figures.unsampled_per_event is None
    assert list(figures.top) == ["evalsha", "incr", "publish", "xadd", "ping"]  # calls, then name


def test_monitor_shares_split_what_scripts_ran_from_what_servers_sent() -> None:
    before: dict[str, int] = {}
    after = {"evalsha": 10, "incr": 10, "publish": 10, "hset": 4, "info": 1, "monitor": 1}
    share = {"evalsha": 0.0, "incr": 1.0, "publish": 0.5}

    figures = command_figures(before, after, appended=10, script_share=share, monitored=True)

    assert "monitor" not in figures.by_command
    assert "info" not in figures.by_command
    assert figures.calls == 34
    # Sent: every evalsha, no incr (all from scripts), half the publishes; hset not sampled.
    assert figures.sent_per_event == 1.5
    assert figures.unsampled_per_event == 0.4
    assert figures.script_share == share


def test_no_events_gives_no_per_event_figures() -> None:
    figures = command_figures({}, {"ping": 3, "info": 1}, 0, None, False)
    assert figures.calls == 3
    assert figures.per_event is None
    assert figures.scripts_per_event is None


def test_monitor_sample_shares() -> None:
    counts = {("incr", True): 3, ("incr", False): 1, ("evalsha", False): 4}
    assert shares(Counter(counts)) == {"incr": 0.75, "evalsha": 0.0}


@pytest.mark.slow
async def test_tiny_chat_run_on_redis_workers_counts_commands_per_event() -> None:
    required_tool("redis-server")
    config = FanoutConfig(
        sessions=1, clients=3, senders=1, rates=(30.0,), duration=1.0, warmup=0.6, ramp=0.2,
        systems=("redis",), redis_workers=2, progress=False,
    )  # fmt: skip

    results = await run_benchmark(config)

    (result,) = results["cb-redis-2w"]
    assert result.acked_total == result.sent_total > 0
    assert result.deliveries_total == result.expected_deliveries
    assert (result.lost, result.duplicates, result.error_count) == (0, 0, 0)
    assert result.server_workers == 2
    assert result.redis_cpu_s is not None
    commands = result.redis_commands
    assert commands is not None
    assert commands.appended == result.acked_total
    assert commands.per_event is not None
    assert commands.per_event > 1
    assert commands.scripts_per_event is not None
    assert commands.scripts_per_event >= 1
