"""The TURN credentials a station's welcome carries work on a real coturn (Debian's
``turnserver``) set up as docs/operations.md says: ``use-auth-secret`` with the same
``static-auth-secret``. A TURN client (aioice) allocates a relay with them; a wrong secret or
an expired username is refused. Skipped without turnserver, failed in CI (.ci/run installs it).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aioice import stun
from aioice.stun import TransactionFailed
from aioice.turn import create_turn_endpoint

from server.signaling.ice import turn_credential
from tests.conftest import ServerFactory
from tests.helpers import open_classroom
from tests.tools import required_tool

TURN_SECRET = "coturn-test-static-auth-secret"
WAIT = 5.0


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Replies(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.got: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self.got.put_nowait(data)


async def _answers_stun(port: int) -> bool:
    """Whether the server answers a STUN binding request yet (it listens on UDP only)."""
    loop = asyncio.get_running_loop()
    transport, replies = await loop.create_datagram_endpoint(
        _Replies, remote_addr=("127.0.0.1", port)
    )
    try:
        request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
        transport.sendto(bytes(request))
        await asyncio.wait_for(replies.got.get(), 0.2)
        return True
    except TimeoutError:
        return False
    finally:
        transport.close()


@pytest.fixture
async def coturn(tmp_path: Path) -> AsyncIterator[int]:
    """A coturn on a free loopback port, configured for TURN REST credentials."""
    executable = required_tool("turnserver")
    port = _free_udp_port()
    log = (tmp_path / "turnserver.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        *(executable, "-n", "--no-cli", "--no-tls", "--no-dtls", "--simple-log"),
        *("--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1"),
        *("--listening-port", str(port), "--realm", "classbridge.test"),
        *("--use-auth-secret", "--static-auth-secret", TURN_SECRET),
        *("--userdb", str(tmp_path / "turndb"), "--pidfile", str(tmp_path / "turn.pid")),
        *("--log-file", "stdout"),
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(WAIT * 2):
            while not await _answers_stun(port):
                assert process.returncode is None, (tmp_path / "turnserver.log").read_text()
        yield port
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), WAIT)
        log.close()


async def _allocate(port: int, username: str, credential: str) -> tuple[str, int]:
    """Allocate a relay on the TURN server; its relayed address, or TransactionFailed."""
    transport, _ = await asyncio.wait_for(
        create_turn_endpoint(
            asyncio.DatagramProtocol, ("127.0.0.1", port), username, credential, lifetime=60
        ),
        WAIT,
    )
    try:
        relayed: tuple[str, int] = transport.get_extra_info("sockname")
        return relayed
    finally:
        transport.close()


async def test_coturn_accepts_the_welcome_credentials(
    coturn: int, server_factory: ServerFactory
) -> None:
    server = await server_factory(
        turn_urls=[f"turn:127.0.0.1:{coturn}?transport=udp"], turn_secret=TURN_SECRET
    )
    room = await open_classroom(server)
    station = await room.join(await room.token("station", 0, "Lisbon room"))
    assert station.welcome is not None
    assert station.welcome.ice_servers is not None
    [turn] = station.welcome.ice_servers
    host, _ = await _allocate(coturn, turn["username"], turn["credential"])
    assert host == "127.0.0.1"  # a relayed address: the allocation was made


async def test_coturn_refuses_a_wrong_secret_and_an_expired_username(coturn: int) -> None:
    username = f"{int(time.time()) + 600}:p_station"
    with pytest.raises(TransactionFailed, match="401"):
        await _allocate(coturn, username, turn_credential("not-the-shared-secret", username))
    expired = f"{int(time.time()) - 5}:p_station"
    with pytest.raises(TransactionFailed, match="401"):
        await _allocate(coturn, expired, turn_credential(TURN_SECRET, expired))
