"""ICE servers for a participant's peer connections, with short-lived TURN credentials. Sans-I/O.

TURN credentials follow the TURN REST scheme that coturn checks with ``use-auth-secret`` and
``static-auth-secret``: the username is ``<expiry>:<participant id>`` (expiry in Unix seconds)
and the credential is base64(HMAC-SHA1(shared secret, username)). The TURN server needs no call
to us: it recomputes the credential from the username and refuses it once the expiry has
passed. The participant id in the username lets the TURN server's logs say who relayed.

Only those who take part in video (hosts, teachers, stations, and students a teacher granted
video) get ICE servers. Other students and observers have no peer connections at all (relay.py
refuses their signals), so they get neither STUN nor TURN: a TURN credential handed to a
student's device would only be one more credential that could leak. The clock is read by the
caller; ``now`` comes in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from server.errors import Forbidden
from server.rooms.actor import Actor
from server.rooms.state import SessionState, takes_part_in_video

# An hour covers a lesson; clients refresh before the end (see REFRESH_BEFORE), so a longer
# lifetime would only keep a leaked credential usable for longer.
DEFAULT_TURN_TTL = 3600
MIN_TURN_TTL = 60  # below this, clients would spend their time refreshing
# Clients ask for fresh servers this long before expiry, or a fifth of the lifetime if that
# is shorter (docs/protocol.md, ice.refresh). Only the docs and tests use it: the rule is the
# client's to follow.
REFRESH_BEFORE = 600

STUN_SCHEMES = ("stun", "stuns")
TURN_SCHEMES = ("turn", "turns")
# RFC 7064 / RFC 7065: scheme:host[:port], and for TURN an optional ?transport=udp|tcp.
_ICE_URL = re.compile(
    r"(?P<scheme>[A-Za-z]+):(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
    r"(?::(?P<port>[0-9]{1,5}))?(?:\?transport=(?P<transport>udp|tcp))?"
)

IceServer = dict[str, Any]  # an RTCIceServer: {"urls": [...], "username"?: ..., "credential"?: ...}


@dataclass(frozen=True, slots=True)
class IceConfig:
    """The ICE part of the settings. ``turn_secret`` is shared with the TURN server only."""

    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str | None = field(default=None, repr=False)
    turn_ttl: int = DEFAULT_TURN_TTL

    @property
    def configured(self) -> bool:
        return bool(self.stun_urls or self.turn_urls)


class IceGrant(NamedTuple):
    servers: list[IceServer]
    expires_at: int  # milliseconds since the Unix epoch, the same instant as the TURN expiry


def turn_credential(secret: str, username: str) -> str:
    """What coturn expects as the password of ``username`` under ``use-auth-secret``."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def ice_servers(config: IceConfig, participant_id: str, now: float) -> IceGrant:
    """STUN servers as they are, TURN servers with a credential valid until now + TTL."""
    expiry = int(now) + config.turn_ttl
    servers: list[IceServer] = []
    if config.stun_urls:
        servers.append({"urls": list(config.stun_urls)})
    if config.turn_urls:
        # validate() refuses TURN URLs without a secret, so this holds after start-up.
        assert config.turn_secret is not None, "TURN URLs need a secret"
        username = f"{expiry}:{participant_id}"
        credential = turn_credential(config.turn_secret, username)
        servers.append(
            {"urls": list(config.turn_urls), "username": username, "credential": credential}
        )
    return IceGrant(servers, expiry * 1000)


def welcome_ice(
    config: IceConfig, state: SessionState, actor: Actor, now: float
) -> IceGrant | None:
    """What the welcome carries: nothing for those without video, or when none are configured."""
    if not takes_part_in_video(state, actor.participant_id) or not config.configured:
        return None
    return ice_servers(config, actor.participant_id, now)


def refresh_ice(config: IceConfig, state: SessionState, actor: Actor, now: float) -> IceGrant:
    """The answer to ``ice.refresh``: fresh servers (an empty list when none are configured).
    A student granted video after joining asks this way for the servers its welcome lacked."""
    if not takes_part_in_video(state, actor.participant_id):
        raise Forbidden("you do not take part in video")
    return ice_servers(config, actor.participant_id, now)


def check_ice_url(setting: str, url: str, schemes: tuple[str, ...]) -> None:
    """Refuse at start-up what a browser would refuse at the first call, saying why."""
    example = f"{schemes[0]}:{schemes[0]}.example.org:3478"
    if "://" in url:
        raise ValueError(f"{setting}: '{url}' must not have '//': write it as {example}")
    match = _ICE_URL.fullmatch(url)
    scheme = match["scheme"].lower() if match else url.partition(":")[0].lower()
    if scheme not in schemes:
        allowed = " or ".join(f"{s}:" for s in schemes)
        raise ValueError(f"{setting}: '{url}' must start with {allowed}")
    if match is None:
        raise ValueError(f"{setting}: '{url}' is not a valid {scheme}: URL (like {example})")
    if match["port"] is not None and not 1 <= int(match["port"]) <= 65535:
        raise ValueError(f"{setting}: '{url}' has a port outside 1-65535")
    if match["transport"] is not None and scheme not in TURN_SCHEMES:
        raise ValueError(f"{setting}: '{url}': only TURN URLs take ?transport=")
    host = match["host"]
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError(f"{setting}: '{url}' has an invalid IPv6 address") from None
