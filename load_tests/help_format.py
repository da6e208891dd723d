"""``--help`` that names each option's default.

A benchmark's figures depend on every knob (the duration, the ramp, the send interval of the
server it starts), and a command copied from a document is read against its ``--help``: the
defaults belong there, not only in the source.
"""

from __future__ import annotations

import argparse
import copy
import re
from typing import Any

# A help text that gives the default itself: "(default)", "(default: 1, this process)",
# "Default: memory,redis".
SAYS_DEFAULT = re.compile(r"\(default\b|\bdefault:", re.IGNORECASE)


class DefaultsShownFormatter(argparse.HelpFormatter):
    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if not _worth_showing(action) or SAYS_DEFAULT.search(text):
            return text  # nothing to show, or the text already says it in its own words
        return f"{text} (default: %(default)s)" if text else "default: %(default)s"

    def _expand_help(self, action: argparse.Action) -> str:
        default = action.default
        if isinstance(default, (tuple, list, float)):
            # As it is typed (``--rates 100,300``, ``--subscribers 1 2 4``, ``2`` for 2.0), not
            # as Python prints it.
            action = copy.copy(action)
            values = default if isinstance(default, (tuple, list)) else [default]
            separator = " " if action.nargs in ("+", "*") else ","
            action.default = separator.join(_typed(value) for value in values)
        return super()._expand_help(action)


def _typed(value: object) -> str:
    if not isinstance(value, float):
        return str(value)
    short = f"{value:g}"
    return short if float(short) == value else repr(value)  # never a rounded value


def _worth_showing(action: argparse.Action) -> bool:
    # None, False, [] and "" say "off" or "none" better by their absence; positionals have
    # none.
    default = action.default
    if default is argparse.SUPPRESS or default is None or default is False or default in ([], ""):
        return False
    return bool(action.option_strings)


class DefaultsShownParser(argparse.ArgumentParser):
    """A parser (and, through ``add_subparsers``, its commands) whose help shows defaults,
    also for options given no help text (argparse prints no line for those otherwise)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", DefaultsShownFormatter)
        super().__init__(*args, **kwargs)

    def format_help(self) -> str:
        for action in self._actions:  # argument groups' options are in here too
            if action.help is None and _worth_showing(action):
                action.help = "default: %(default)s"
        return super().format_help()
