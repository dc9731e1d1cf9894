"""End to end: two uvicorn processes share one redis-server; real websockets clients.

A client on process A publishes; clients on A and on B each receive it exactly once.
``exclude_self`` leaves out only the sender, whichever process the others are on.  Then
redis-server is killed and restarted on the same port while every client stays
connected: publishing fails meanwhile (the caller gets the error frame), and once both
processes report a healthy bus again, delivery resumes in both directions.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.redis_server import RedisServer
from tests.support import uvicorn_process

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

TOPIC = "room:42"


async def recv(ws: ClientConnection) -> dict[str, Any]:
    """The next frame as JSON; fails the test if none arrives within 10 s."""
    try:
        frame = await asyncio.wait_for(ws.recv(), 10)
    except TimeoutError:
        pytest.fail("no frame within 10 s")
    decoded: dict[str, Any] = json.loads(frame)
    return decoded


async def request(ws: ClientConnection, event: str, payload: Any, ref: str) -> dict[str, Any]:
    """Send a frame with a ``ref`` and return its reply (or error) frame.

    Broadcasts that arrive first are not expected here: callers use it before anything
    is published to the client, or read the broadcast themselves with :func:`recv`.
    """
    await ws.send(json.dumps({"topic": TOPIC, "event": event, "payload": payload, "ref": ref}))
    return await recv(ws)


async def healthy(client: httpx.AsyncClient, port: int) -> bool:
    try:
        response = await client.get(f"http://127.0.0.1:{port}/health")
    except httpx.HTTPError:
        return False
    return response.status_code == 200


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


async def test_two_processes_share_a_topic_and_survive_a_redis_restart(
    redis_server: RedisServer, http: httpx.AsyncClient
) -> None:
    env = {
        "SOCKETHUB_REDIS_URL": redis_server.url,
        "SOCKETHUB_REDIS_PREFIX": f"e2e-{uuid.uuid4().hex[:8]}:",
        "SOCKETHUB_REDIS_RECONNECT_MAX": "0.3",
    }
    with (
        uvicorn_process("tests.bus.redis_app:app", env=env) as (port_a, _),
        uvicorn_process("tests.bus.redis_app:app", env=env) as (port_b, _),
    ):
        pids = set()
        for port in (port_a, port_b):
            response = await http.get(f"http://127.0.0.1:{port}/health")
            assert response.status_code == 200, response.text
            pids.add(response.json()["pid"])
        assert len(pids) == 2  # really two processes

        async with AsyncExitStack() as stack:
            clients: dict[str, ClientConnection] = {}
            for name, port in [("a1", port_a), ("a2", port_a), ("b1", port_b), ("b2", port_b)]:
                ws = await stack.enter_async_context(connect(f"ws://127.0.0.1:{port}/ws"))
                reply = await request(ws, "join", None, f"join-{name}")
                assert reply["payload"]["status"] == "ok", reply
                clients[name] = ws

            async def everyone_receives(sender: str, payload: Any) -> None:
                """``sender`` says ``payload``; each client gets it once, nothing else."""
                ws = clients[sender]
                await ws.send(json.dumps({"topic": TOPIC, "event": "say", "payload": payload}))
                for name, client in clients.items():
                    frame = await recv(client)
                    assert frame == {"topic": TOPIC, "event": "broadcast", "payload": payload}, (
                        name,
                        frame,
                    )

            # A client on A publishes: A's and B's clients each receive it once.  The
            # next message proves there was no duplicate (order per topic is global).
            await everyone_receives("a1", {"n": 1, "text": "héllo from A"})
            await everyone_receives("a1", {"n": 2})
            await everyone_receives("b2", {"n": 3, "from": "B"})

            # exclude_self across processes: everyone but the sender, then a barrier
            # message shows the sender's next frame is not its own.
            await clients["b1"].send(
                json.dumps({"topic": TOPIC, "event": "say_to_others", "payload": "not b1"})
            )
            for name in ("a1", "a2", "b2"):
                frame = await recv(clients[name])
                assert frame["payload"] == "not b1", (name, frame)
            await everyone_receives("a1", {"n": "barrier"})

            # Redis goes away.  Clients stay connected; publishing fails to the caller.
            redis_server.kill()
            error = await request(clients["a2"], "say", {"n": "lost"}, "during-outage")
            assert error.get("code") == 4503, error  # the hub surfaced BusUnavailable
            assert error.get("ref") == "during-outage"
            health = await http.get(f"http://127.0.0.1:{port_a}/health")
            assert health.status_code == 503
            assert health.json()["healthy"] is False

            # Redis comes back on the same port; both processes reconnect and resubscribe.
            redis_server.start()
            deadline = asyncio.get_running_loop().time() + 15
            while not (await healthy(http, port_a) and await healthy(http, port_b)):
                if asyncio.get_running_loop().time() > deadline:
                    pytest.fail("the buses did not report healthy within 15 s of the restart")
                await asyncio.sleep(0.05)
            body = (await http.get(f"http://127.0.0.1:{port_b}/health")).json()
            assert body["reconnects"] >= 1
            assert body["topics"] == 1

            # Delivery resumes for the clients that stayed connected, both directions.
            await everyone_receives("a2", {"n": 4})
            await everyone_receives("b1", {"n": 5})
