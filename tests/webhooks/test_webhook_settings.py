"""The webhook and drain settings are checked at start-up (server/settings.py)."""

from __future__ import annotations

from typing import Any

import pytest

from server.settings import settings_from_env

SECRET = "whsec-0123456789abcdef"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"webhook_url": "https://lms.example.org/hooks"}, "needs webhook_secret"),
        ({"webhook_url": "https://lms.example.org/hooks", "webhook_secret": "short"}, "16 bytes"),
        ({"webhook_secret": SECRET}, "webhook_url is not"),
        ({"webhook_url": "ftp://lms.example.org/", "webhook_secret": SECRET}, "http://"),
        ({"webhook_url": "https://", "webhook_secret": SECRET}, "http://"),
        (
            {"webhook_url": "https://x.org/", "webhook_secret": SECRET, "webhook_attempts": 0},
            "at least 1",
        ),
        ({"drain_timeout": -1.0}, "drain_timeout"),
    ],
)
def test_bad_webhook_or_drain_settings_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        settings_from_env({}, **options)


def test_the_environment_sets_them_and_the_secret_stays_out_of_repr() -> None:
    env = {
        "CLASSBRIDGE_WEBHOOK_URL": "https://lms.example.org/hooks",
        "CLASSBRIDGE_WEBHOOK_SECRET": SECRET,
        "CLASSBRIDGE_DRAIN_TIMEOUT": "4.5",
    }
    settings = settings_from_env(env)
    assert settings.webhook_url == "https://lms.example.org/hooks"
    assert settings.webhook_secret == SECRET
    assert settings.drain_timeout == 4.5
    assert SECRET not in repr(settings)
