"""``--help`` of the benchmarks names each option's default, as it would be typed."""

from __future__ import annotations

import re

import pytest

from load_tests.cli import main
from load_tests.help_format import DefaultsShownParser


def _help_of(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # argparse wraps lines as it likes


def test_every_command_shows_its_options_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    fanout = _help_of("chat-fanout", capsys)
    assert "--sessions SESSIONS sessions (N) (default: 10)" in fanout
    assert "--rates RATES offered msg/s, e.g. 100,300 (default: 1000,4000,8000,12000)" in fanout
    assert "--seed SEED default: 1 " in fanout  # an option given no help text at all
    # A help text that already speaks of its default is left as written.
    assert "turns it off --url" in fanout
    assert "(default: 1, this process) --base-root" in fanout  # --generator-processes
    lesson = _help_of("lesson", capsys)
    assert "--answer-share ANSWER_SHARE default: 0.9" in lesson  # inside an argument group
    assert "--stroke-rate STROKE_RATE strokes/s (default: 0.06666666666666667)" in lesson  # 1/15
    assert "--stroke-seconds STROKE_SECONDS default: 1,3" in lesson  # typed "low,high"
    assert not re.search(r"default: \)", lesson)  # --chaos is empty: nothing to show


def test_off_and_none_defaults_are_not_shown() -> None:
    parser = DefaultsShownParser(prog="p")
    parser.add_argument("--name", help="a name")
    parser.add_argument("--quiet", action="store_true", help="say less")
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--words", nargs="*", default=[])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1.0, 2.5])
    parser.add_argument("--mode", default="fast", help="how; the default may change")
    shown = " ".join(parser.format_help().split())
    assert "--name NAME a name --quiet say less --count COUNT default: 3" in shown
    assert "--words [WORDS ...] --sizes SIZES [SIZES ...] default: 1 2.5" in shown  # as typed
    assert shown.endswith("--mode MODE how; the default may change (default: fast)")
