"""The server's media relay on one worker: a ``SessionRelay`` for each session this worker was
elected to relay (``Broker.claim_relay``), started by the first signal addressed to it.

Routing: the worker that takes a client's ``signal`` to ``relay`` claims (or refreshes) the
session's relay for whoever holds it and publishes the signal as a volatile envelope naming
that worker; every worker hosting the session receives it, and only the named one hands it
to its relay here. The relay's own signals go back as ordinary envelopes to the participant.

A running relay pins the session's replica (it reads who is present and the topology from it,
and receives signals through its subscription), and unpins it when it stops: when the
topology leaves ``relay``, nobody has used it for a while, or another worker holds the claim.

aiortc is imported only when a relay starts, so a worker that never relays never loads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.hub.volatile import VolatileEnvelope

if TYPE_CHECKING:
    from server.hub.hub import SessionHub
    from server.hub.replica import SessionReplica
    from server.media.relay_session import SessionRelay


class RelayService:
    def __init__(self, hub: SessionHub) -> None:
        self.hub = hub
        self.sessions: dict[str, SessionRelay] = {}
        self._closing = False

    def receive(self, replica: SessionReplica, envelope: VolatileEnvelope) -> None:
        """The replica's listener for signals to the relay (never blocks)."""
        if envelope.worker != self.hub.worker_id or self._closing:
            return  # another worker relays this session
        relay = self.sessions.get(replica.session_id)
        if relay is None:
            relay = self._start(replica)
        relay.receive(envelope.sender, envelope.message)

    def _start(self, replica: SessionReplica) -> SessionRelay:
        from server.media.relay_session import SessionRelay

        replica.pins += 1
        folder = self.hub.recordings_dir
        recordings = None if folder is None else (folder, self.hub.now_ms)
        relay = SessionRelay(replica, self.hub.broker, self.hub.worker_id, self._ended, recordings)
        if relay.recorder is not None:
            relay.recorder.on_finished = self.hub.notices.recording_ready
        self.sessions[replica.session_id] = relay
        relay.start()
        return relay

    def _ended(self, relay: SessionRelay) -> None:
        """Called once by each relay when it has stopped and closed its connections."""
        if self.sessions.get(relay.session_id) is relay:
            del self.sessions[relay.session_id]
        relay.replica.pins -= 1
        if not self._closing:
            self.hub._maybe_unload(relay.replica)

    async def close(self) -> None:
        self._closing = True
        for relay in list(self.sessions.values()):
            await relay.close()
