"""Join tokens: HS256 JWTs that carry who a participant is. Ids and roles come from here only."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jwt

from server.errors import TokenExpired, TokenInvalid
from server.ids import RELAY_ID
from server.rooms.actor import Actor
from server.rooms.roles import parse_role

ISSUER = "classbridge"
AUDIENCE = "classbridge.join"
ALGORITHM = "HS256"
# RFC 7518 (3.2) wants an HS256 key at least as long as the hash; pyjwt warns on every use of
# a shorter one, so refuse it once, at startup.
MIN_SECRET_BYTES = 32


@dataclass(frozen=True, slots=True)
class Grant:
    """What a verified token says: the session and the actor."""

    session_id: str
    actor: Actor
    expires_at: int


class TokenService:
    def __init__(self, secret: str) -> None:
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"the token secret must be at least {MIN_SECRET_BYTES} bytes long")
        self._secret = secret

    def mint(self, session_id: str, actor: Actor, ttl: int, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": issued,
            "exp": issued + ttl,
            "sid": session_id,
            "sub": actor.participant_id,
            "name": actor.name,
            "cls": actor.class_id,
            "role": actor.role.value,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> Grant:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sid", "sub", "role", "cls", "name"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise TokenExpired("the join token has expired") from error
        except jwt.PyJWTError as error:
            raise TokenInvalid("the join token is not valid") from error
        return _grant_from_claims(claims)


def _grant_from_claims(claims: dict[str, Any]) -> Grant:
    role = parse_role(str(claims["role"]))
    strings = all(isinstance(claims[k], str) for k in ("sid", "sub", "cls", "name"))
    if role is None or not strings or claims["sub"] == RELAY_ID:
        raise TokenInvalid("the join token is not valid")
    actor = Actor(
        participant_id=claims["sub"], name=claims["name"], role=role, class_id=claims["cls"]
    )
    return Grant(session_id=claims["sid"], actor=actor, expires_at=int(claims["exp"]))
