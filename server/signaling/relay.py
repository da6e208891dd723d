"""Who may send WebRTC signals to whom, and what a signal may hold. Sans-I/O.

A signal goes from one participant to another of the same session (the token fixes the
session, so cross-session signals cannot be addressed at all). Both must take part in video
(``takes_part_in_video``: hosts, teachers and stations, and students a teacher granted video):
other students' devices never get a peer connection offered to them, and never offer one. The
target must be connected now, because a signal is not stored.

The server's relay is addressed as ``relay`` (``RELAY_ID``) while the session's topology is
``relay``: the client offers on its ``pub`` connection and answers the relay's offers on
``sub-N`` connections (server/media/relay_session.py), so offers never collide.
"""

from __future__ import annotations

import re

from server.errors import Forbidden, InvalidMessage, LimitExceeded, NotFound, ParticipantAbsent
from server.ids import RELAY_ID
from server.protocol.peer import PeerSignal, Signal
from server.rooms.actor import Actor
from server.rooms.state import SessionState, takes_part_in_video

# A browser's offer for audio, video and a data channel is a few kilobytes; a simulcast offer
# with many codecs stays under 20 000 characters. The frame limit (64 KiB) is the outer bound.
MAX_SDP_CHARS = 32_000
MAX_CANDIDATE_CHARS = 1_024
MAX_MID_CHARS = 64
DESCRIPTION_TYPES = ("offer", "answer", "pranswer", "rollback")
# Peer connection ids are chosen by the clients ("cam-1", a UUID); a bounded, printable id.
PEER_CONNECTION_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def relay_signal(state: SessionState, sender: Actor, signal: Signal) -> tuple[str, PeerSignal]:
    """The recipient and what it gets, or the error the sender gets instead."""
    if not takes_part_in_video(state, sender.participant_id):
        raise Forbidden("you do not take part in video", detail="to")
    _check_contents(signal)
    if signal.to == RELAY_ID:
        _check_relay_signal(state, signal)
        return RELAY_ID, _relayed(sender, signal)
    target = state.participants.get(signal.to)
    if target is None:
        raise NotFound("no such participant in this session", detail="to")
    if signal.to == sender.participant_id:
        raise InvalidMessage("cannot send a signal to yourself", detail="to")
    if not takes_part_in_video(state, signal.to):
        raise Forbidden("that participant does not take part in video", detail="to")
    if not target.present:
        raise ParticipantAbsent("that participant is not connected", detail="to")
    return signal.to, _relayed(sender, signal)


def _relayed(sender: Actor, signal: Signal) -> PeerSignal:
    return PeerSignal(
        sender=sender.participant_id,
        pc=signal.pc,
        description=signal.description,
        candidate=signal.candidate,
    )


RELAY_PUBLISH_PC = "pub"
RELAY_SUBSCRIBE_PREFIX = "sub-"


def _check_relay_signal(state: SessionState, signal: Signal) -> None:
    """The client offers on ``pub`` and answers on the relay's ``sub-N``; nothing else."""
    if state.media.topology != "relay":
        raise Forbidden("the session's video does not go through the relay now", detail="to")
    kind = None if signal.description is None else signal.description["type"]
    if signal.pc == RELAY_PUBLISH_PC:
        if kind not in (None, "offer"):
            raise InvalidMessage("the relay takes only offers on 'pub'", detail="description.type")
    elif signal.pc.startswith(RELAY_SUBSCRIBE_PREFIX):
        if kind not in (None, "answer"):
            raise InvalidMessage(
                "the relay takes only answers on 'sub-' connections", detail="description.type"
            )
    else:
        raise InvalidMessage("signals to the relay use pc 'pub' or 'sub-N'", detail="pc")


def _check_contents(signal: Signal) -> None:
    if not PEER_CONNECTION_ID.fullmatch(signal.pc):
        raise InvalidMessage("field 'pc' must be 1-64 letters, digits or _.:-", detail="pc")
    if signal.description is not None:
        if signal.description["type"] not in DESCRIPTION_TYPES:
            raise InvalidMessage(
                f"description type must be one of {', '.join(DESCRIPTION_TYPES)}",
                detail="description.type",
            )
        if len(signal.description["sdp"]) > MAX_SDP_CHARS:
            raise LimitExceeded(
                f"description longer than {MAX_SDP_CHARS} characters", detail="description.sdp"
            )
    if signal.candidate is not None:
        if len(signal.candidate["candidate"]) > MAX_CANDIDATE_CHARS:
            raise LimitExceeded(
                f"candidate longer than {MAX_CANDIDATE_CHARS} characters",
                detail="candidate.candidate",
            )
        if len(signal.candidate.get("sdpMid", "")) > MAX_MID_CHARS:
            raise LimitExceeded(
                f"sdpMid longer than {MAX_MID_CHARS} characters", detail="candidate.sdpMid"
            )
        if len(signal.candidate.get("usernameFragment", "")) > MAX_CANDIDATE_CHARS:
            raise LimitExceeded("usernameFragment too long", detail="candidate.usernameFragment")
