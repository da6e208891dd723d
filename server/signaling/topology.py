"""How the classes' video flows, decided by the server and announced in the log.

- 2 publishers (hosts, teachers, stations present): peer-to-peer, one connection;
- 3 or 4: a mesh, every publisher connected to every other (a browser encodes its camera once
  per peer, so 4 is where a classroom laptop's upload and CPU give out);
- 5 or more, or when a teacher asks for it: the server's relay (server/media), each publisher
  sends once and the server forwards;
- while a recording is asked for or runs (server/rooms/recording.py): the relay from one
  publisher on, since the recorder runs there and only media the server receives can be
  written. Asked for already at the request, so the switch is done when the consents are in.

Moving up (more publishers) switches at once: staying would overload the stations. Moving
down from the relay waits until the count has stayed low for a while (``settled``): a
station whose Wi-Fi flaps would otherwise make every station renegotiate twice a minute.

Sans-I/O: ``topology_change`` reads the state, the hub appends what it returns and runs the
timer for ``settled``.
"""

from __future__ import annotations

from enum import StrEnum

from server.rooms.events import Event, EventKind
from server.rooms.state import SessionState, present_publishers

MESH_MOST = 4


class Topology(StrEnum):
    NONE = "none"  # fewer than two publishers: nobody to connect to
    P2P = "p2p"
    MESH = "mesh"
    RELAY = "relay"


def wanted_topology(publishers: int, relay_requested: bool, recording: bool = False) -> Topology:
    if recording and publishers >= 1:
        return Topology.RELAY
    if publishers < 2:
        return Topology.NONE
    if relay_requested or publishers > MESH_MOST:
        return Topology.RELAY
    return Topology.P2P if publishers == 2 else Topology.MESH


def topology_change(state: SessionState, now: int, *, settled: bool) -> Event | None:
    """The ``media.topology`` event to append now, or None (no change, or a fall back from
    the relay that must wait until the count has ``settled``)."""
    publishers = present_publishers(state)
    wanted = _wanted(state, len(publishers))
    current = state.media.topology
    if wanted == current:
        return None
    if current == Topology.RELAY and not settled:
        return None
    data = {"topology": wanted.value, "publishers": publishers}
    return Event(kind=EventKind.MEDIA_TOPOLOGY, ts=now, data=data)


def waits_to_settle(state: SessionState) -> bool:
    """Whether a fall back from the relay is due once the count stays as it is."""
    wanted = _wanted(state, len(present_publishers(state)))
    return state.media.topology == Topology.RELAY and wanted != Topology.RELAY


def _wanted(state: SessionState, publishers: int) -> Topology:
    return wanted_topology(publishers, state.media.relay_requested, state.recording.on)
