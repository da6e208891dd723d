"""The webhook signature (server/webhooks/signing.py) as a receiver checks it."""

from __future__ import annotations

from server.webhooks.signing import sign, verify

SECRET = "whsec-0123456789abcdef"
BODY = b'{"id":"s1:4","type":"participant.joined"}'


def test_a_signature_verifies_with_the_same_secret_body_and_a_recent_time() -> None:
    header = sign(SECRET, BODY, 1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert verify(SECRET, BODY, header, now=1_700_000_030)


def test_a_changed_body_another_secret_or_an_old_timestamp_fail() -> None:
    header = sign(SECRET, BODY, 1_700_000_000)
    assert not verify(SECRET, BODY.replace(b"joined", b"left"), header, now=1_700_000_000)
    assert not verify("another-secret-0123456789", BODY, header, now=1_700_000_000)
    assert not verify(SECRET, BODY, header, now=1_700_000_000 + 301)  # a replay, later
    # The timestamp is signed: moving it forward to pass the age check breaks the signature.
    forged = header.replace("t=1700000000", "t=1700000301")
    assert not verify(SECRET, BODY, forged, now=1_700_000_301)
    assert not verify(SECRET, BODY, "v1=abc", now=1_700_000_000)
