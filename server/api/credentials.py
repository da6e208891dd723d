"""Who is calling the HTTP API: the operator (API key) or a participant (join token)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from starlette.requests import Request

from server.auth import Grant
from server.errors import Forbidden, Unauthorized, WrongSession
from server.services import Services


@dataclass(frozen=True, slots=True)
class Caller:
    operator: bool
    grant: Grant | None = None

    def require_session(self, session_id: str) -> None:
        """Operators reach every session; a token only its own."""
        if self.grant is not None and self.grant.session_id != session_id:
            raise WrongSession("the token is for another session")

    @property
    def is_teacher(self) -> bool:
        return self.operator or (self.grant is not None and self.grant.actor.role.is_teacher)


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("send 'Authorization: Bearer <API key or token>'")
    return value.strip()


def caller(request: Request, services: Services) -> Caller:
    credential = _bearer(request)
    api_key = services.settings.api_key
    if api_key is not None and hmac.compare_digest(credential.encode(), api_key.encode()):
        return Caller(operator=True)
    if credential.count(".") != 2:
        # Not shaped like a join token (a JWT): most likely a mistyped API key.
        raise Unauthorized("the API key or token is not valid")
    return Caller(operator=False, grant=services.tokens.verify(credential))


def operator(request: Request, services: Services) -> Caller:
    found = caller(request, services)
    if not found.operator:
        raise Forbidden("this needs the operator API key")
    return found
