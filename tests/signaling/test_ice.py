"""ICE servers and TURN REST credentials (server/signaling/ice.py): no sockets, no clock."""

from __future__ import annotations

import pytest

from server.errors import Forbidden
from server.rooms.actor import Actor
from server.rooms.roles import Role
from server.rooms.state import Participant, SessionState
from server.signaling.ice import (
    DEFAULT_TURN_TTL,
    STUN_SCHEMES,
    TURN_SCHEMES,
    IceConfig,
    check_ice_url,
    ice_servers,
    refresh_ice,
    turn_credential,
    welcome_ice,
)

SECRET = "classbridge-turn-test-secret"
# Computed once, independently of this code, with OpenSSL:
#   printf '%s' "1700003600:p_station_ke" \
#     | openssl dgst -sha1 -hmac "classbridge-turn-test-secret" -binary | base64
KNOWN_USERNAME = "1700003600:p_station_ke"
KNOWN_CREDENTIAL = "Jhm2DZu4u6aYpdMOjZ19S4Nlu9k="
#   printf '%s' "1700000060:p_amani" | openssl dgst -sha1 -hmac "classbridge-turn-test-secret" \
#     -binary | base64
SHORT_USERNAME = "1700000060:p_amani"
SHORT_CREDENTIAL = "hGu2oknMzAwRUYx9EsCi6Na/xHE="

NOW = 1_700_000_000.75  # a Unix time with a fraction: expiries count whole seconds
STUN = ("stun:stun.example.org:3478",)
TURN = ("turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:443")
FULL = IceConfig(stun_urls=STUN, turn_urls=TURN, turn_secret=SECRET, turn_ttl=3600)


def _actor(role: Role, participant_id: str = "p_station_ke") -> Actor:
    return Actor(participant_id=participant_id, name="Nairobi room", role=role, class_id="c2")


def _state(actor: Actor, *, granted: bool = False) -> SessionState:
    """A session where ``actor`` is present; a student granted video when ``granted``."""
    participant = Participant(actor.participant_id, actor.name, actor.role, actor.class_id, True)
    state = SessionState(participants={actor.participant_id: participant})
    if granted:
        state.media.grants.add(actor.participant_id)
    return state


def test_credential_matches_a_vector_made_with_openssl() -> None:
    assert turn_credential(SECRET, KNOWN_USERNAME) == KNOWN_CREDENTIAL
    assert turn_credential(SECRET, SHORT_USERNAME) == SHORT_CREDENTIAL


def test_servers_carry_stun_as_is_and_turn_with_rest_credentials() -> None:
    servers, expires_at = ice_servers(FULL, "p_station_ke", NOW)
    assert servers == [
        {"urls": list(STUN)},
        {"urls": list(TURN), "username": KNOWN_USERNAME, "credential": KNOWN_CREDENTIAL},
    ]
    # The username's expiry and expires_at are the same instant: seconds there, ms here.
    assert expires_at == 1_700_003_600 * 1000


@pytest.mark.parametrize(("now", "ttl"), [(1_700_000_000.0, 60), (1_700_000_000.999, 86_400)])
def test_expiry_is_now_plus_the_ttl_in_whole_seconds(now: float, ttl: int) -> None:
    config = IceConfig(turn_urls=TURN, turn_secret=SECRET, turn_ttl=ttl)
    (turn,), expires_at = ice_servers(config, "p_x", now)
    expiry = 1_700_000_000 + ttl
    assert turn["username"] == f"{expiry}:p_x"
    assert expires_at == expiry * 1000
    assert turn["credential"] == turn_credential(SECRET, turn["username"])


def test_later_now_gives_a_later_expiry_and_another_credential() -> None:
    first, first_expiry = ice_servers(FULL, "p_station_ke", NOW)
    second, second_expiry = ice_servers(FULL, "p_station_ke", NOW + 1800)
    assert second_expiry == first_expiry + 1800 * 1000
    assert second[1]["credential"] != first[1]["credential"]


def test_stun_only_has_no_credentials() -> None:
    servers, expires_at = ice_servers(IceConfig(stun_urls=STUN), "p_x", NOW)
    assert servers == [{"urls": list(STUN)}]
    assert expires_at == (1_700_000_000 + DEFAULT_TURN_TTL) * 1000


def test_nothing_configured_gives_no_servers() -> None:
    assert ice_servers(IceConfig(), "p_x", NOW).servers == []


@pytest.mark.parametrize("role", [Role.HOST, Role.TEACHER, Role.STATION])
def test_roles_with_video_get_servers_in_the_welcome(role: Role) -> None:
    grant = welcome_ice(FULL, _state(_actor(role)), _actor(role), NOW)
    assert grant is not None
    assert grant.servers[1]["username"] == KNOWN_USERNAME


@pytest.mark.parametrize("role", [Role.STUDENT, Role.OBSERVER])
def test_students_and_observers_get_nothing(role: Role) -> None:
    assert welcome_ice(FULL, _state(_actor(role)), _actor(role), NOW) is None
    with pytest.raises(Forbidden):
        refresh_ice(FULL, _state(_actor(role)), _actor(role), NOW)


def test_a_student_granted_video_gets_servers() -> None:
    student = _actor(Role.STUDENT, "p_amani")
    granted = welcome_ice(FULL, _state(student, granted=True), student, NOW)
    assert granted is not None
    assert granted.servers[1]["username"].endswith(":p_amani")
    refreshed = refresh_ice(FULL, _state(student, granted=True), student, NOW)
    assert refreshed.servers == granted.servers


def test_welcome_leaves_ice_out_when_nothing_is_configured() -> None:
    assert welcome_ice(IceConfig(), _state(_actor(Role.STATION)), _actor(Role.STATION), NOW) is None
    # An explicit refresh is still answered, with no servers.
    assert (
        refresh_ice(IceConfig(), _state(_actor(Role.STATION)), _actor(Role.STATION), NOW).servers
        == []
    )


def test_the_secret_stays_out_of_repr() -> None:
    assert SECRET not in repr(FULL)


@pytest.mark.parametrize(
    "url",
    [
        "stun:stun.example.org",
        "stun:stun.example.org:3478",
        "stuns:stun.example.org:5349",
        "stun:192.0.2.7:3478",
        "stun:[2001:db8::7]:3478",
        "STUN:stun.example.org",
    ],
)
def test_good_stun_urls(url: str) -> None:
    check_ice_url("stun_urls", url, STUN_SCHEMES)


@pytest.mark.parametrize(
    "url",
    [
        "turn:turn.example.org",
        "turn:turn.example.org:3478?transport=udp",
        "turn:turn.example.org:3478?transport=tcp",
        "turns:turn.example.org:443?transport=tcp",
        "turn:[2001:db8::7]:3478",
    ],
)
def test_good_turn_urls(url: str) -> None:
    check_ice_url("turn_urls", url, TURN_SCHEMES)


@pytest.mark.parametrize(
    ("url", "schemes", "error"),
    [
        ("turn://turn.example.org:3478", TURN_SCHEMES, "must not have '//'"),
        ("stun:turn.example.org", TURN_SCHEMES, "must start with turn: or turns:"),
        ("turn:turn.example.org", STUN_SCHEMES, "must start with stun: or stuns:"),
        ("turn.example.org:3478", TURN_SCHEMES, "must start with turn:"),
        ("https://turn.example.org", TURN_SCHEMES, "must not have '//'"),
        ("turn:", TURN_SCHEMES, "is not a valid turn: URL"),
        ("turn:turn.example.org:3478?transport=sctp", TURN_SCHEMES, "is not a valid turn: URL"),
        ("turn:user@turn.example.org", TURN_SCHEMES, "is not a valid turn: URL"),
        ("turn:turn.example.org:99999", TURN_SCHEMES, "port outside 1-65535"),
        ("turn:turn.example.org:0", TURN_SCHEMES, "port outside 1-65535"),
        ("stun:stun.example.org?transport=udp", STUN_SCHEMES, "only TURN URLs"),
        ("turn:[2001:db8:::1]:3478", TURN_SCHEMES, "invalid IPv6"),
        ("turn:[::1", TURN_SCHEMES, "is not a valid turn: URL"),
    ],
)
def test_bad_urls_are_refused_with_the_reason(
    url: str, schemes: tuple[str, ...], error: str
) -> None:
    with pytest.raises(ValueError, match=error.replace("?", r"\?")) as caught:
        check_ice_url("some_urls", url, schemes)
    assert str(caught.value).startswith("some_urls: ")
