"""Who may send WebRTC signals to whom, and what a signal may hold. Sans-I/O.

A signal goes from one participant to another of the same session (the token fixes the
session, so cross-session signals cannot be addressed at all). Both must take part in video
(``Role.may_use_media``): students' devices never get a peer connection offered to them, and
never offer one. The target must be connected now, because a signal is not stored.
"""

from __future__ import annotations

import re

from server.errors import Forbidden, InvalidMessage, LimitExceeded, NotFound, ParticipantAbsent
from server.protocol.peer import PeerSignal, Signal
from server.rooms.actor import Actor
from server.rooms.roles import Role
from server.rooms.state import SessionState

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
    if not sender.role.may_use_media:
        raise Forbidden("your role does not take part in video", detail="to")
    _check_contents(signal)
    target = state.participants.get(signal.to)
    if target is None:
        raise NotFound("no such participant in this session", detail="to")
    if signal.to == sender.participant_id:
        raise InvalidMessage("cannot send a signal to yourself", detail="to")
    if not Role(target.role).may_use_media:
        raise Forbidden("that participant does not take part in video", detail="to")
    if not target.present:
        raise ParticipantAbsent("that participant is not connected", detail="to")
    relayed = PeerSignal(
        sender=sender.participant_id,
        pc=signal.pc,
        description=signal.description,
        candidate=signal.candidate,
    )
    return signal.to, relayed


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
