"""Settings from ``CLASSBRIDGE_*`` variables and overrides, and the checks on them."""

from __future__ import annotations

import dataclasses

import pytest

from server.settings import Limits, Settings, settings_from_env, validate
from server.workers import settings_to_env

SECRET = "settings-test-secret-0123456789abcdef"


def test_defaults_without_environment() -> None:
    settings = settings_from_env({})
    assert settings == Settings()
    assert (settings.host, settings.port, settings.broker_url) == ("127.0.0.1", 8000, "memory://")
    assert settings.secret is None
    assert settings.api_key is None
    assert settings.limits == Limits()


def test_environment_variables_are_parsed() -> None:
    env = {
        "CLASSBRIDGE_HOST": "0.0.0.0",
        "CLASSBRIDGE_PORT": "9001",
        "CLASSBRIDGE_SECRET": SECRET,
        "CLASSBRIDGE_API_KEY": "operator-key",
        "CLASSBRIDGE_BROKER_URL": "memory://",
        "CLASSBRIDGE_LOG_LEVEL": "debug",
        "CLASSBRIDGE_DEMO": "yes",
        "CLASSBRIDGE_PERMESSAGE_DEFLATE": "ON",
        "CLASSBRIDGE_TOKEN_TTL": "60",
        "CLASSBRIDGE_HISTORY_SIZE": "500",
        "CLASSBRIDGE_SNAPSHOT_EVERY": "50",
        "CLASSBRIDGE_CHAT_PER_SECOND": "0.5",
        "CLASSBRIDGE_PRESENCE_GRACE": "2.5",
        "UNRELATED": "ignored",
    }
    settings = settings_from_env(env)
    assert (settings.host, settings.port, settings.secret, settings.api_key) == (
        "0.0.0.0",
        9001,
        SECRET,
        "operator-key",
    )
    assert settings.broker_url == "memory://"
    assert settings.log_level == "debug"
    assert settings.demo is True
    assert settings.permessage_deflate is True
    assert settings.token_ttl == 60
    limits = settings.limits
    assert (limits.history_size, limits.snapshot_every) == (500, 50)
    assert (limits.chat_per_second, limits.presence_grace) == (0.5, 2.5)
    assert limits.chat_max_chars == Limits().chat_max_chars


@pytest.mark.parametrize(
    ("raw", "value"),
    [("1", True), ("true", True), ("Yes", True), (" on ", True), ("0", False), ("FALSE", False)],
)
def test_booleans(raw: str, value: bool) -> None:
    assert settings_from_env({"CLASSBRIDGE_DEMO": raw}).demo is value


@pytest.mark.parametrize("raw", ["ture", "2", "enabled", "y"])
def test_unrecognised_boolean_is_refused_not_read_as_false(raw: str) -> None:
    with pytest.raises(ValueError, match="CLASSBRIDGE_DEMO"):
        settings_from_env({"CLASSBRIDGE_DEMO": raw})


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"CLASSBRIDGE_PORT": "eighty"}, "invalid literal for int"),
        ({"CLASSBRIDGE_CHAT_PER_SECOND": "fast"}, "could not convert string to float"),
    ],
)
def test_unparsable_numbers_are_refused(env: dict[str, str], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        settings_from_env(env)


def test_empty_variables_count_as_not_set() -> None:
    env = {"CLASSBRIDGE_API_KEY": "", "CLASSBRIDGE_PORT": " ", "CLASSBRIDGE_DEMO": ""}
    settings = settings_from_env(env)
    assert settings.api_key is None
    assert settings.port == 8000
    assert settings.demo_enabled


def test_overrides_win_over_the_environment() -> None:
    env = {"CLASSBRIDGE_PORT": "9001", "CLASSBRIDGE_HISTORY_SIZE": "500", "CLASSBRIDGE_DEMO": "1"}
    settings = settings_from_env(env, port=9100, history_size=300, demo=False)
    assert settings.port == 9100
    assert settings.limits.history_size == 300
    assert settings.demo is False


def test_none_overrides_mean_not_given() -> None:
    env = {"CLASSBRIDGE_PORT": "9001", "CLASSBRIDGE_HISTORY_SIZE": "500"}
    settings = settings_from_env(env, port=None, history_size=None, host=None)
    assert (settings.port, settings.limits.history_size, settings.host) == (9001, 500, "127.0.0.1")


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().port = 1  # type: ignore[misc]


# --- validate ----------------------------------------------------------------------------------


def test_snapshot_every_at_most_half_of_history() -> None:
    assert settings_from_env({}, history_size=100, snapshot_every=50).limits.snapshot_every == 50
    with pytest.raises(ValueError, match="snapshot_every"):
        settings_from_env({}, history_size=100, snapshot_every=51)
    with pytest.raises(ValueError, match="snapshot_every"):
        settings_from_env({"CLASSBRIDGE_HISTORY_SIZE": "10"})


def test_snapshot_every_must_be_positive() -> None:
    with pytest.raises(ValueError, match="snapshot_every"):
        settings_from_env({}, snapshot_every=0)


@pytest.mark.parametrize(
    "override",
    [
        {"chat_per_second": 0.0},
        {"messages_per_second": -1.0},
        {"self_joins_per_minute": 0.0},
        {"chat_burst": 0},
        {"messages_burst": 0},
        {"self_joins_burst": 0},
    ],
)
def test_rates_and_bursts_must_be_positive(override: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(override))):
        settings_from_env({}, **override)


def test_frame_and_queue_sizes() -> None:
    with pytest.raises(ValueError, match="max_frame_bytes"):
        settings_from_env({}, max_frame_bytes=1000)
    with pytest.raises(ValueError, match="send_queue_bytes"):
        settings_from_env({}, max_frame_bytes=8192, send_queue_bytes=4096)
    settings = settings_from_env({}, max_frame_bytes=4096, send_queue_bytes=4096)
    assert settings.limits.send_queue_bytes == 4096


def test_send_interval() -> None:
    assert settings_from_env({}).limits.send_interval_ms == 20  # a 50 Hz tick by default
    env = {"CLASSBRIDGE_SEND_INTERVAL_MS": "0"}
    assert settings_from_env(env).limits.send_interval_ms == 0
    for wrong in (-1.0, 1001.0):
        with pytest.raises(ValueError, match="send_interval_ms"):
            settings_from_env({}, send_interval_ms=wrong)


def test_short_secret_is_refused_at_startup() -> None:
    with pytest.raises(ValueError, match="secret"):
        settings_from_env({"CLASSBRIDGE_SECRET": "too-short"})
    assert settings_from_env({}, secret=SECRET).secret == SECRET


def test_validate_accepts_the_defaults() -> None:
    validate(Settings())


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"broker_url": "amqp://cache:5672"}, "is not supported"),
        ({"broker_url": "kafka://x"}, "is not supported"),
        ({"log_level": "trace"}, "log_level must be one of"),
        ({"history_size": 20_000}, "history_size must be at most"),
    ],
)
def test_unsupported_broker_and_log_level_are_refused(
    overrides: dict[str, str], error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        settings_from_env({}, **overrides)


# --- derived values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api_key", "demo", "enabled"),
    [
        (None, None, True),  # no API key: the demo is the only way in
        ("key", None, False),
        (None, False, False),
        ("key", True, True),
    ],
)
def test_demo_enabled(api_key: str | None, demo: bool | None, enabled: bool) -> None:
    assert Settings(api_key=api_key, demo=demo).demo_enabled is enabled


@pytest.mark.parametrize(
    ("settings", "url"),
    [
        (Settings(), "http://localhost:8000"),
        (Settings(host="0.0.0.0", port=9000), "http://localhost:9000"),
        (Settings(host="::"), "http://localhost:8000"),
        (Settings(host="class.example.org", port=80), "http://class.example.org:80"),
        (Settings(host="::1"), "http://[::1]:8000"),
        (Settings(host="fd00::5", port=8443), "http://[fd00::5]:8443"),
        (Settings(public_url="https://bridge.example.org/"), "https://bridge.example.org"),
        (Settings(public_url="https://x.org/classes//", port=1), "https://x.org/classes"),
    ],
)
def test_base_url(settings: Settings, url: str) -> None:
    assert settings.base_url == url


# --- ICE servers -------------------------------------------------------------------------------

TURN_SECRET = "turn-shared-secret"


def test_ice_servers_from_the_environment_are_comma_separated_lists() -> None:
    env = {
        "CLASSBRIDGE_STUN_URLS": "stun:stun.example.org:3478, stun:[2001:db8::7] ,",
        "CLASSBRIDGE_TURN_URLS": "turn:turn.example.org:3478?transport=udp,turns:turn.example.org",
        "CLASSBRIDGE_TURN_SECRET": TURN_SECRET,
        "CLASSBRIDGE_TURN_TTL": "600",
    }
    settings = settings_from_env(env)
    assert settings.stun_urls == ("stun:stun.example.org:3478", "stun:[2001:db8::7]")
    assert settings.turn_urls == (
        "turn:turn.example.org:3478?transport=udp",
        "turns:turn.example.org",
    )
    assert (settings.turn_secret, settings.turn_ttl) == (TURN_SECRET, 600)
    ice = settings.ice
    assert (ice.stun_urls, ice.turn_urls, ice.turn_ttl) == (
        settings.stun_urls,
        settings.turn_urls,
        600,
    )


def test_no_ice_servers_by_default() -> None:
    settings = settings_from_env({})
    assert (settings.stun_urls, settings.turn_urls, settings.turn_secret) == ((), (), None)
    assert settings.turn_ttl == 3600
    assert not settings.ice.configured


def test_list_overrides_become_tuples() -> None:
    settings = settings_from_env({}, turn_urls=["turn:a.example.org"], turn_secret=TURN_SECRET)
    assert settings.turn_urls == ("turn:a.example.org",)
    hash(settings)  # frozen all the way down


def test_the_turn_secret_never_shows_in_repr() -> None:
    settings = settings_from_env({}, turn_urls=["turn:a.example.org"], turn_secret=TURN_SECRET)
    assert TURN_SECRET not in repr(settings)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"turn_urls": ["turn:a.example.org"]}, "turn_urls need turn_secret"),
        ({"turn_secret": TURN_SECRET}, "turn_secret is set but turn_urls is not"),
        (
            {"turn_urls": ["turn:a.example.org"], "turn_secret": TURN_SECRET, "turn_ttl": 59},
            "turn_ttl must be at least 60",
        ),
        ({"stun_urls": ["stun://stun.example.org"]}, "stun_urls: .* must not have '//'"),
        ({"stun_urls": ["turn:a.example.org"]}, "stun_urls: .* must start with stun:"),
        (
            {"turn_urls": ["stun:a.example.org"], "turn_secret": TURN_SECRET},
            "turn_urls: .* must start with turn:",
        ),
    ],
)
def test_bad_ice_settings_are_refused_at_startup(overrides: dict[str, object], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        settings_from_env({}, **overrides)


def test_a_bad_ice_url_in_the_environment_is_refused() -> None:
    with pytest.raises(ValueError, match="port outside"):
        settings_from_env({"CLASSBRIDGE_STUN_URLS": "stun:a.example.org:70000"})


def test_ice_settings_survive_the_trip_to_the_workers() -> None:
    for settings in (
        settings_from_env({}),
        settings_from_env(
            {},
            stun_urls=["stun:a.example.org", "stun:[2001:db8::7]:3478"],
            turn_urls=["turn:t.example.org?transport=tcp"],
            turn_secret=TURN_SECRET,
            turn_ttl=120,
        ),
    ):
        assert settings_from_env(settings_to_env(settings)) == settings


def test_recordings_dir_turns_recording_on() -> None:
    assert Settings().recordings_path is None  # off by default
    env = {"CLASSBRIDGE_RECORDINGS_DIR": "/var/lib/classbridge/recordings"}
    settings = settings_from_env(env)
    assert settings.recordings_dir == "/var/lib/classbridge/recordings"
    assert str(settings.recordings_path) == "/var/lib/classbridge/recordings"
    assert settings_from_env(env, recordings_dir="/srv/rec").recordings_dir == "/srv/rec"
    # Worker processes get it too.
    assert settings_from_env(settings_to_env(settings)).recordings_dir == settings.recordings_dir
    with pytest.raises(ValueError, match="recordings_dir"):
        settings_from_env({}, recordings_dir="   ")
