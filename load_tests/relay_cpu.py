"""CPU of the server's media relay per forwarded stream (docs/architecture.md, "Media").

Starts ``classbridge serve`` (memory://) as its own process, asks for the relay, and runs
synthetic stations in this process: one publisher and N watchers (receive-only ``pub``), for
each video format and N. After the media settles it samples the server's CPU from /proc over
a window and prints the share of one core, so the relay's cost (decode once, re-encode once
per subscriber) is the server's figure minus its idle figure.

    .venv/bin/python -m load_tests.relay_cpu [--window 10] [--subscribers 1 2 4]
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys

import httpx

from load_tests.help_format import DefaultsShownParser
from load_tests.procstat import sample_process
from server.media.station import SyntheticStation
from server.media.video import VideoFormat

SECRET = "relay-cpu-secret-0123456789abcdef0123"
API_KEY = "relay-cpu-api-key-0123456789"
FORMATS = (VideoFormat(320, 240, 15), VideoFormat(640, 480, 30))
SETTLE = 4.0  # seconds after every watcher decodes frames, before sampling
CLASSES = [
    {"name": "A", "country": "FR", "timezone": "Europe/Paris", "language": "fr"},
    {"name": "B", "country": "KE", "timezone": "Africa/Nairobi", "language": "en"},
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def cpu_share(pid: int, window: float) -> float:
    before = sample_process(pid)
    await asyncio.sleep(window)
    after = sample_process(pid)
    if before is None or after is None:
        raise RuntimeError(f"cannot read /proc/{pid}")
    return (after.cpu_seconds - before.cpu_seconds) / window


async def wait_for_frames(publisher: str, watchers: list[SyntheticStation]) -> None:
    """Poll (aiortc's tasks signal nothing) until every watcher decodes the publisher."""

    def flowing(station: SyntheticStation) -> bool:
        received = station.received().get(publisher)
        return received is not None and len(received.recent_counters) > 10

    async with asyncio.timeout(60):
        while not all(flowing(s) for s in watchers):  # noqa: ASYNC110
            await asyncio.sleep(0.1)


async def one_run(
    http: httpx.AsyncClient, ws_url: str, pid: int, video: VideoFormat, watchers: int, window: float
) -> float:
    auth = {"authorization": f"Bearer {API_KEY}"}
    created = (
        await http.post("/api/sessions", json={"title": "CPU", "classes": CLASSES}, headers=auth)
    ).json()
    session, classes = created["session_id"], [c["id"] for c in created["classes"]]

    async def token(role: str, index: int) -> str:
        body = {"role": role, "class_id": classes[index % 2], "name": f"{role} {index}"}
        reply = await http.post(f"/api/sessions/{session}/tokens", json=body, headers=auth)
        return str(reply.json()["token"])

    from server.client import ClassbridgeClient
    from server.protocol.codec import WireFormat

    teacher = ClassbridgeClient(ws_url, await token("teacher", 0), WireFormat.MSGPACK)
    await teacher.connect()
    await teacher.command({"type": "media.relay", "on": True})
    stations = [SyntheticStation(ws_url, await token("station", 0), video=video)]
    for index in range(watchers):
        stations.append(
            SyntheticStation(ws_url, await token("station", index + 1), video=video, publish=False)
        )
    publisher = stations[0]
    try:
        for station in stations:
            await station.start()
        await wait_for_frames(publisher.participant_id, stations[1:])
        await asyncio.sleep(SETTLE)
        return await cpu_share(pid, window)
    finally:
        for station in stations:
            await station.close()
        await teacher.close()
        await asyncio.sleep(1.0)  # the relay notices the leaves and closes its side


async def measure(window: float, counts: list[int]) -> None:
    port = free_port()
    env = {**os.environ, "CLASSBRIDGE_SECRET": SECRET, "CLASSBRIDGE_API_KEY": API_KEY}
    command = [
        sys.executable,
        "-m",
        "server",
        "serve",
        "--port",
        str(port),
        "--no-demo",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, env=env)  # noqa: ASYNC220 (once, before measuring)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(100):
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            idle = await cpu_share(server.pid, window)
            print(f"server idle: {idle:.1%} of a core", flush=True)
            for video in FORMATS:
                for count in counts:
                    share = await one_run(
                        http, f"ws://127.0.0.1:{port}/ws", server.pid, video, count, window
                    )
                    label = f"{video.width}x{video.height}@{video.fps}"
                    print(
                        f"{label} 1 publisher, {count} subscriber(s): server {share:.1%} of a core"
                        f" ({(share - idle) / count:.1%} per forwarded stream)",
                        flush=True,
                    )
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = DefaultsShownParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--subscribers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    asyncio.run(measure(args.window, args.subscribers))


if __name__ == "__main__":
    main()
