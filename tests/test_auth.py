"""Join tokens: HS256 JWTs minted and verified by ``TokenService``."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from server.auth import ALGORITHM, AUDIENCE, ISSUER, TokenService
from server.errors import TokenExpired, TokenInvalid
from server.rooms.actor import Actor
from server.rooms.roles import Role

SECRET = "unit-test-secret-0123456789abcdef"
OTHER_SECRET = "another-secret-0123456789abcdefgh"
AMANI = Actor("p_amani", "Amani Wanjiku", Role.STUDENT, "c1")


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 600,
        "sid": "s_demo",
        "sub": "p_amani",
        "name": "Amani",
        "cls": "c1",
        "role": "student",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _forge(secret: str = SECRET, **changes: Any) -> str:
    return jwt.encode(_claims(**changes), secret, algorithm=ALGORITHM)


@pytest.fixture
def tokens() -> TokenService:
    return TokenService(SECRET)


@pytest.mark.parametrize("role", list(Role))
def test_mint_and_verify_round_trip(tokens: TokenService, role: Role) -> None:
    actor = Actor("p_1", "Ms Wanjiru 🌍", role, "c2")
    grant = tokens.verify(tokens.mint("s_demo", actor, ttl=3600))
    assert grant.session_id == "s_demo"
    assert grant.actor == actor


def test_expiry_is_issue_time_plus_ttl(tokens: TokenService) -> None:
    now = time.time()
    grant = tokens.verify(tokens.mint("s_demo", AMANI, ttl=600, now=now))
    assert grant.expires_at == int(now) + 600


def test_expired_token(tokens: TokenService) -> None:
    issued = time.time() - 7200
    token = tokens.mint("s_demo", AMANI, ttl=60, now=issued)
    with pytest.raises(TokenExpired) as caught:
        tokens.verify(token)
    assert (caught.value.code, caught.value.close_code) == ("token_expired", 4011)


def test_wrong_secret(tokens: TokenService) -> None:
    forged = TokenService(OTHER_SECRET).mint("s_demo", AMANI, ttl=600)
    with pytest.raises(TokenInvalid) as caught:
        tokens.verify(forged)
    assert (caught.value.code, caught.value.close_code) == ("token_invalid", 4010)


@pytest.mark.parametrize(
    "token",
    [
        _forge(aud="someone.else"),
        _forge(aud=None),
        _forge(iss="evil"),
        _forge(iss=None),
        _forge(role="teacherx"),
        _forge(role="HOST"),
        _forge(role=5),
        _forge(sub=12),
        _forge(sid=["s_demo"]),
        _forge(name=None),
        _forge(cls=None),
        _forge(sid=None),
        _forge(sub=None),
        _forge(role=None),
        _forge(exp=None),
        _forge(iat=None),
        _forge(exp="tomorrow"),
    ],
    ids=[
        "wrong-audience",
        "no-audience",
        "wrong-issuer",
        "no-issuer",
        "unknown-role",
        "role-case",
        "role-not-a-string",
        "sub-not-a-string",
        "sid-not-a-string",
        "missing-name",
        "missing-class",
        "missing-session",
        "missing-subject",
        "missing-role",
        "missing-expiry",
        "missing-issued-at",
        "expiry-not-a-number",
    ],
)
def test_invalid_claims(tokens: TokenService, token: str) -> None:
    with pytest.raises(TokenInvalid):
        tokens.verify(token)


def test_alg_none_is_refused(tokens: TokenService) -> None:
    unsigned = jwt.encode(_claims(), key="", algorithm="none")
    with pytest.raises(TokenInvalid):
        tokens.verify(unsigned)


def test_other_hmac_algorithm_is_refused(tokens: TokenService) -> None:
    token = jwt.encode(_claims(), SECRET + SECRET, algorithm="HS512")
    with pytest.raises(TokenInvalid):
        tokens.verify(token)


@pytest.mark.parametrize(
    "garbage", ["", "x", "a.b.c", "not a token at all", "e30.e30.", "🙂.🙂.🙂"]
)
def test_garbage_is_invalid(tokens: TokenService, garbage: str) -> None:
    with pytest.raises(TokenInvalid):
        tokens.verify(garbage)


def test_tampered_payload_is_invalid(tokens: TokenService) -> None:
    header, _, signature = tokens.mint("s_demo", AMANI, ttl=600).split(".")
    teacher = jwt.encode(_claims(role="teacher"), "x" * 32, algorithm=ALGORITHM).split(".")[1]
    with pytest.raises(TokenInvalid):
        tokens.verify(f"{header}.{teacher}.{signature}")


@pytest.mark.parametrize("secret", ["", "short", "x" * 15, "x" * 16, "x" * 31, "é" * 15])
def test_short_secrets_are_refused(secret: str) -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        TokenService(secret)


def test_secret_length_counts_bytes() -> None:
    TokenService("x" * 32)
    TokenService("é" * 16)  # 32 bytes in UTF-8
