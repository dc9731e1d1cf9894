"""End to end: two uvicorn processes share one redis-server; real websockets clients.

A client on process A publishes; clients on A and on B each receive it exactly once.
``exclude_self`` leaves out only the sender, whichever process the others are on.  Then
redis-server is killed and restarted on the same port while every client stays
connected: publishing fails meanwhile (the caller gets the error frame), and once both
processes report a healthy bus again, delivery resumes in both directions.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest

from sockethub.testing.served import ServedTestSocket, connect_served
from tests.redis_server import RedisServer
from tests.support import uvicorn_process

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

TOPIC = "room:42"


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
            clients: dict[str, ServedTestSocket] = {}
            for name, port in [("a1", port_a), ("a2", port_a), ("b1", port_b), ("b2", port_b)]:
                ws = await connect_served(f"ws://127.0.0.1:{port}/ws")
                clients[name] = await stack.enter_async_context(ws)
                await ws.join(TOPIC)

            async def everyone_receives(sender: str, payload: Any) -> None:
                """``sender`` says ``payload``; each client gets it once, nothing else."""
                ws = clients[sender]
                await ws.send(TOPIC, "say", payload)
                for client in clients.values():
                    await client.expect(TOPIC, "broadcast", payload)

            # A client on A publishes: A's and B's clients each receive it once.  The
            # next message proves there was no duplicate (order per topic is global).
            await everyone_receives("a1", {"n": 1, "text": "héllo from A"})
            await everyone_receives("a1", {"n": 2})
            await everyone_receives("b2", {"n": 3, "from": "B"})

            # exclude_self across processes: everyone but the sender, then a barrier
            # message shows the sender's next frame is not its own.
            await clients["b1"].send(TOPIC, "say_to_others", "not b1")
            for name in ("a1", "a2", "b2"):
                await clients[name].expect(TOPIC, "broadcast", "not b1")
            await everyone_receives("a1", {"n": "barrier"})

            # Redis goes away.  Clients stay connected; publishing fails to the caller.
            redis_server.kill()
            error = await clients["a2"].request(TOPIC, "say", {"n": "lost"})
            # the hub surfaced BusUnavailable, as an error frame carrying the ref
            assert (error.status, error.response["code"]) == ("error", 4503), error
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
            assert body["topics"] == 2  # TOPIC, and the node topic of commands by connection id

            # Delivery resumes for the clients that stayed connected, both directions.
            await everyone_receives("a2", {"n": 4})
            await everyone_receives("b1", {"n": 5})
