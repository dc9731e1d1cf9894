"""One client stops reading; the others of its topic must not notice (issue 4).

Real uvicorn (in a thread) and real clients: three ``websockets`` clients that read, and
one raw client (``tests/rawws.py``) with a 4 KiB receive buffer that completes the
handshake, joins, and then reads nothing, so the server's TCP send buffer for it fills
and uvicorn's ``send`` starts to wait.  The server publishes in rounds; after each round
every reading client must have every message, in order, within a generous deadline (a
bound that fails a hang, not a speed assertion).  The stalled connection's outbox is
bounded (``HubLimits(outbox_bytes=64 KiB)``): with the ``"close"`` policy it is closed
with 1013 once the bound is passed; with ``"drop_oldest"`` it keeps the newest frames.
The server checks the queued bytes of every outbox after every publish.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sockethub import HubLimits, ISocket, SocketHub
from sockethub.outbox import Outbox, OverflowPolicy
from sockethub.testing.served import ServedTestSocket, connect_served

from .rawws import RawClient
from .support import uvicorn_thread

pytestmark = pytest.mark.e2e

LIMIT = 64 * 1024
PAD = 16 * 1024  # bytes of padding per message
ROUND = 4  # messages per round: one round fits in a reading client's buffers
MAX_ROUNDS = 600  # ~38 MiB for the stalled client: far more than its buffers hold
DEADLINE = 20.0  # seconds a reading client may take for one round (a hang guard)
JOIN = json.dumps({"topic": "room:1", "event": "join", "payload": None, "ref": "j"})


class Server:
    """A hub with a tiny outbox bound, and an endpoint that publishes and checks bounds."""

    def __init__(self, policy: OverflowPolicy) -> None:
        hub = self.hub = SocketHub(
            "/ws", limits=HubLimits(outbox_bytes=LIMIT, overflow=policy, close_timeout=30)
        )
        room = hub.channel("room:{id}")
        self.outboxes: dict[str, Outbox] = {}
        self.peak = 0

        @room.on_join
        async def on_join(params: dict[str, str], sock: ISocket) -> None:
            # Test-only peek at the connection's outbox (no public hook exposes it).
            session: Any = sock._session
            self.outboxes[sock.query_params["name"]] = session.outbox

        async def blast(request: Request) -> Response:
            start = int(request.query_params["start"])
            pad = "x" * PAD
            for i in range(start, start + ROUND):
                await hub.publish("room:1", "msg", {"i": i, "pad": pad})
                # Right after a publish is when a queue is longest.
                self.peak = max(self.peak, *(o.queued_bytes for o in self.outboxes.values()))
                await asyncio.sleep(0)
            return Response(status_code=204)

        async def stats(request: Request) -> Response:
            slow = self.outboxes.get("slow")
            return JSONResponse(
                {
                    "slow_closes": hub.stats.slow_closes,
                    "connections": hub.stats.connections,
                    "dropped_frames": hub.stats.dropped_frames,
                    "slow_dropped": slow.dropped if slow else 0,
                    "slow_queued": slow.queued_bytes if slow else 0,
                    "subscribers": hub.bus.topics(),  # type: ignore[attr-defined]
                    "peak": self.peak,
                }
            )

        self.app = Starlette(
            routes=[
                hub,
                Route("/blast", blast, methods=["POST"]),
                Route("/stats", stats),
            ],
            lifespan=hub.lifespan,
        )


@contextlib.asynccontextmanager
async def readers(port: int, n: int) -> AsyncIterator[list[ServedTestSocket]]:
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for k in range(n):
            ws = await connect_served(
                f"ws://127.0.0.1:{port}/ws?name=fast{k}",
                compression=None,
                max_size=None,
                proxy=None,
            )
            clients.append(await stack.enter_async_context(ws))
            await ws.join("room:1")
        yield clients


def stalled_client(port: int) -> RawClient:
    raw = RawClient(port, "/ws?name=slow", rcvbuf=4096)
    assert raw.status == 101
    raw.send_text(JOIN)
    _, data = raw.recv_frame()
    assert json.loads(data)["payload"]["status"] == "ok"
    return raw  # from here on, nobody reads it


async def receive_round(ws: ServedTestSocket, start: int) -> None:
    async with asyncio.timeout(DEADLINE):
        for i in range(start, start + ROUND):
            message = await ws.receive_json()
            assert (message["event"], message["payload"]["i"]) == ("msg", i)


async def publish_rounds(http: httpx.AsyncClient, fast: list[ServedTestSocket], until: str) -> int:
    """Publish rounds until ``/stats`` shows ``until`` non-zero; every reading client gets
    every round.  Return the number of messages published."""
    for r in range(MAX_ROUNDS):
        assert (await http.post("/blast", params={"start": r * ROUND})).status_code == 204
        await asyncio.gather(*(receive_round(ws, r * ROUND) for ws in fast))
        if (await http.get("/stats")).json()[until]:
            return (r + 1) * ROUND
    raise AssertionError(f"{until} still 0 after {MAX_ROUNDS} rounds")


async def wait_for(http: httpx.AsyncClient, key: str, value: Any) -> dict[str, Any]:
    async with asyncio.timeout(DEADLINE):
        while True:
            stats: dict[str, Any] = (await http.get("/stats")).json()
            if stats[key] == value:
                return stats
            await asyncio.sleep(0.02)


async def test_a_stalled_client_is_closed_with_1013_and_the_others_get_everything() -> None:
    server = Server("close")
    with uvicorn_thread(server.app) as port:
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
            readers(port, 3) as fast,
        ):
            slow = await asyncio.to_thread(stalled_client, port)
            try:
                published = await publish_rounds(http, fast, until="slow_closes")
                stats = (await http.get("/stats")).json()
                assert stats["slow_closes"] == 1
                assert stats["peak"] <= LIMIT  # no outbox ever held more than the bound
                assert stats["slow_queued"] == 0  # the overflow freed the queue

                # The stalled client now reads: a gap-free prefix of the messages, in
                # order, then the 1013 close (the queue was dropped, not sent).
                seen: list[int] = []

                def read_to_close() -> int:
                    while True:
                        opcode, data = slow.recv_frame()
                        if opcode == 8:
                            return int.from_bytes(data[:2], "big")
                        seen.append(json.loads(data)["payload"]["i"])

                assert await asyncio.to_thread(read_to_close) == 1013
                assert seen == list(range(len(seen)))
                assert 0 < len(seen) < published

                # Its clean-up ran; the readers are still subscribed and still served.
                stats = await wait_for(http, "connections", 3)
                assert stats["subscribers"] == {"room:1": 3}
                await http.post("/blast", params={"start": published})
                await asyncio.gather(*(receive_round(ws, published) for ws in fast))
            finally:
                slow.close()


async def test_drop_oldest_keeps_the_stalled_client_with_the_newest_frames() -> None:
    server = Server("drop_oldest")
    with uvicorn_thread(server.app) as port:
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
            readers(port, 3) as fast,
        ):
            slow = await asyncio.to_thread(stalled_client, port)
            try:
                published = await publish_rounds(http, fast, until="slow_dropped")
                # A few more rounds: dropping goes on, the bound holds.
                for r in range(3):
                    start = published + r * ROUND
                    await http.post("/blast", params={"start": start})
                    await asyncio.gather(*(receive_round(ws, start) for ws in fast))
                published += 3 * ROUND
                stats = (await http.get("/stats")).json()
                assert stats["slow_closes"] == 0
                assert stats["peak"] <= LIMIT
                assert 0 < stats["slow_queued"] <= LIMIT
                dropped = stats["slow_dropped"]
                assert dropped > 0

                # Reading at last, it gets increasing messages up to the very last one.
                def read_to_last() -> list[int]:
                    seen: list[int] = []
                    while not seen or seen[-1] != published - 1:
                        opcode, data = slow.recv_frame()
                        assert opcode == 1
                        seen.append(json.loads(data)["payload"]["i"])
                    return seen

                seen = await asyncio.to_thread(read_to_last)
                assert seen == sorted(set(seen))
                assert len(seen) + dropped == published
            finally:
                slow.close()
            stats = await wait_for(http, "connections", 3)
            assert stats["dropped_frames"] == dropped
            assert stats["subscribers"] == {"room:1": 3}
