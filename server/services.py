"""What the app's routes share: settings, broker, hub, tokens and limiters of one worker."""

from __future__ import annotations

from dataclasses import dataclass, field

from server.auth import TokenService
from server.broker.base import Broker
from server.hub import SessionHub
from server.ratelimit import KeyedLimiter
from server.settings import Settings


@dataclass(slots=True)
class Services:
    settings: Settings
    broker: Broker
    hub: SessionHub
    tokens: TokenService
    self_joins: KeyedLimiter
    demo: dict[str, object] = field(default_factory=dict)
