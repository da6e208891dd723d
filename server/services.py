"""What the app's routes share: settings, broker, hub, tokens and limiters of one worker."""

from __future__ import annotations

from dataclasses import dataclass, field

from server.auth import TokenService
from server.broker.base import Broker
from server.gateway import Gateway
from server.hub import SessionHub
from server.ratelimit import KeyedLimiter
from server.settings import Settings
from server.webhooks.sender import WebhookSender


@dataclass(slots=True)
class Services:
    settings: Settings
    broker: Broker
    hub: SessionHub
    tokens: TokenService
    self_joins: KeyedLimiter
    demo: dict[str, object] = field(default_factory=dict)
    # Set once SIGTERM starts the drain (server/drain.py): /readyz and new sessions answer 503.
    draining: bool = False
    gateway: Gateway | None = None  # its open connections are what a drain closes
    webhooks: WebhookSender | None = None  # None unless webhook_url is set (server/webhooks)
