"""The Origin allow-list as a pure policy, and its settings."""

from __future__ import annotations

import pytest

from server.origins import OriginPolicy, parse_origin
from server.settings import settings_from_env


def test_parse_origin_fills_in_the_default_port() -> None:
    assert parse_origin("https://School.Example.org") == ("https", "school.example.org", 443)
    assert parse_origin("http://localhost:8000") == ("http", "localhost", 8000)
    assert parse_origin("http://[::1]:8000") == ("http", "::1", 8000)


@pytest.mark.parametrize(
    "text",
    ["null", "", "file:///home/a.html", "ws://a.org", "https://a.org/page", "https://a.org:x", "*"],
)
def test_parse_origin_refuses_what_is_not_a_web_origin(text: str) -> None:
    assert parse_origin(text) is None


def test_default_policy_is_same_origin_plus_clients_without_origin() -> None:
    policy = OriginPolicy(())
    assert policy.allows(None, "localhost:8000")  # a native client, a script
    assert policy.allows("http://localhost:8000", "localhost:8000")
    # Behind a TLS proxy the page is https on 443 and the Host header has no port.
    assert policy.allows("https://classbridge.example.org", "classbridge.example.org")
    assert not policy.allows("http://localhost:8001", "localhost:8000")
    assert not policy.allows("https://evil.example", "classbridge.example.org")
    assert not policy.allows("null", "localhost:8000")
    assert not policy.allows("https://evil.example", None)
    assert policy.cors_origins == []


def test_listed_origins_and_the_public_url_are_allowed() -> None:
    policy = OriginPolicy(
        ("https://school-a.example.org", "http://portal.example.net:8080"),
        public_url="https://classbridge.example.org/",
    )
    host = "10.0.0.5:8000"  # the server is reached on an internal address
    assert policy.allows("https://school-a.example.org", host)
    assert policy.allows("https://school-a.example.org:443", host)
    assert policy.allows("http://portal.example.net:8080", host)
    assert policy.allows("https://classbridge.example.org", host)
    assert not policy.allows("http://school-a.example.org", host)  # another scheme
    assert not policy.allows("https://school-b.example.org", host)
    assert policy.cors_origins == [
        "http://portal.example.net:8080",
        "https://classbridge.example.org",
        "https://school-a.example.org",
    ]


def test_star_allows_any_page() -> None:
    policy = OriginPolicy(("*",))
    assert policy.allows("https://anything.example", "localhost:8000")
    assert policy.allows("null", "localhost:8000")
    assert policy.cors_origins == ["*"]


def test_allowed_origins_from_the_environment() -> None:
    env = {"CLASSBRIDGE_ALLOWED_ORIGINS": "https://a.example.org, http://b.example.org:8080"}
    settings = settings_from_env(env)
    assert settings.allowed_origins == ("https://a.example.org", "http://b.example.org:8080")
    assert settings_from_env({}).allowed_origins == ()


@pytest.mark.parametrize("entry", ["a.example.org", "https://a.example.org/app", "null"])
def test_an_allowed_origin_that_could_never_match_is_refused(entry: str) -> None:
    with pytest.raises(ValueError, match="allowed_origins"):
        settings_from_env({}, allowed_origins=[entry])


def test_connection_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="connections_per_ip_per_minute"):
        settings_from_env({}, connections_per_ip_per_minute=0)
    with pytest.raises(ValueError, match="connections_per_ip_burst"):
        settings_from_env({}, connections_per_ip_burst=0)


def test_proxy_headers_are_off_and_trust_only_loopback_by_default() -> None:
    settings = settings_from_env({})
    assert settings.proxy_headers is False
    assert settings.forwarded_allow_ips == ("127.0.0.1",)
    env = {"CLASSBRIDGE_PROXY_HEADERS": "yes", "CLASSBRIDGE_FORWARDED_ALLOW_IPS": "10.0.0.2"}
    settings = settings_from_env(env)
    assert settings.proxy_headers is True
    assert settings.forwarded_allow_ips == ("10.0.0.2",)
