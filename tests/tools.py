"""Programs the tests start (redis-server, redis-cli, node): found, or the test is skipped on a
developer's machine and fails in CI, where .ci/run installs them and sets CI."""

from __future__ import annotations

import os
import shutil

import pytest


def required_tool(*names: str) -> str:
    """The path of the first of ``names``; every one of them must be installed."""
    found = [shutil.which(name) for name in names]
    missing = [name for name, path in zip(names, found, strict=True) if path is None]
    if missing:
        listed = " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(f"{listed} required when CI is set; .ci/run installs it")
        pytest.skip(f"{listed} not installed")
    return str(found[0])
