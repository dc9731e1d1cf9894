"""End to end: two uvicorn processes share one real redis-server; real websockets clients.

A client sees a few publications, disconnects; 500 are published, half by each process;
it reconnects to the *other* process with the last position it saw and gets exactly those
500, in order, then live ones, nothing twice.  The same across a restart of both app
processes.  Recovery fails (and says so) when the history was trimmed, when Redis was
flushed, and when Redis restarted without persistence (epoch changes).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import ClientConnection, connect

from tests.redis_server import RedisServer
from tests.support import uvicorn_process

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

APP = "tests.history.history_app:app"


async def recv(ws: ClientConnection) -> dict[str, Any]:
    try:
        frame = await asyncio.wait_for(ws.recv(), 15)
    except TimeoutError:
        pytest.fail("no frame within 15 s")
    decoded: dict[str, Any] = json.loads(frame)
    return decoded


async def join(ws: ClientConnection, topic: str, since: Any = None) -> dict[str, Any]:
    payload = None if since is None else {"since": since}
    await ws.send(json.dumps({"topic": topic, "event": "join", "payload": payload, "ref": "j"}))
    reply = await recv(ws)
    assert reply["event"] == "reply" and reply["payload"]["status"] == "ok", reply
    outcome: dict[str, Any] = reply["payload"]["response"]["history"]
    return outcome


async def nothing_more(ws: ClientConnection) -> None:
    """The next frame answers a probe: nothing else was pending (frames leave in order)."""
    await ws.send(json.dumps({"topic": "nowhere", "event": "ping", "ref": "probe"}))
    frame = await recv(ws)
    assert frame.get("code") == 4404 and frame.get("ref") == "probe", frame


@contextmanager
def two_apps(redis: RedisServer, prefix: str) -> Iterator[tuple[int, int]]:
    env = {"SOCKETHUB_REDIS_URL": redis.url, "SOCKETHUB_REDIS_PREFIX": prefix}
    with (
        uvicorn_process(APP, env=env) as (port_a, _),
        uvicorn_process(APP, env=env) as (port_b, _),
    ):
        yield port_a, port_b


async def wait_healthy(http: httpx.AsyncClient, *ports: int) -> None:
    deadline = asyncio.get_running_loop().time() + 20
    for port in ports:
        while True:
            try:
                if (await http.get(f"http://127.0.0.1:{port}/health")).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                pytest.fail(f"the app on port {port} did not report a healthy bus")
            await asyncio.sleep(0.05)


async def publish(http: httpx.AsyncClient, port: int, topic: str, name: str, count: int) -> Any:
    response = await http.post(
        f"http://127.0.0.1:{port}/publish", json={"topic": topic, "from": name, "count": count}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def publish_on_both(
    http: httpx.AsyncClient, port_a: int, port_b: int, topic: str, count: int
) -> None:
    """``count`` publications, half from each process, the two processes at once."""
    await asyncio.gather(
        *(publish(http, port_a, topic, f"a{k}", count // 10) for k in range(5)),
        *(publish(http, port_b, topic, f"b{k}", count // 10) for k in range(5)),
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def test_a_client_recovers_500_missed_messages_from_the_other_process(
    redis_server: RedisServer, http: httpx.AsyncClient
) -> None:
    prefix = f"e2e-{uuid.uuid4().hex[:8]}:"
    topic = "room:500"
    with two_apps(redis_server, prefix) as (port_a, port_b):
        await wait_healthy(http, port_a, port_b)
        async with connect(f"ws://127.0.0.1:{port_b}/ws") as watcher:
            await join(watcher, topic)
            async with connect(f"ws://127.0.0.1:{port_a}/ws") as ws:
                start = await join(ws, topic)
                assert start["offset"] == 0 and not start["recovered"]
                await publish(http, port_b, topic, "before", 3)
                seen = [await recv(ws) for _ in range(3)]
            epoch = start["epoch"]
            assert [f["offset"] for f in seen] == [1, 2, 3]
            assert {f["epoch"] for f in seen} == {epoch}

            await publish_on_both(http, port_a, port_b, topic, 500)
            # What the watcher, connected all along, saw: the truth to recover.
            live = [await recv(watcher) for _ in range(503)][3:]
            assert [f["offset"] for f in live] == list(range(4, 504))
            assert {f["payload"]["from"][0] for f in live} == {"a", "b"}

            async with connect(f"ws://127.0.0.1:{port_b}/ws") as ws:  # the other process
                outcome = await join(ws, topic, {"offset": 3, "epoch": epoch})
                assert outcome == {
                    "recovered": True,
                    "was_recovering": True,
                    "offset": 503,
                    "epoch": epoch,
                }
                recovered = [await recv(ws) for _ in range(500)]
                assert recovered == live
                await publish(http, port_a, topic, "live", 1)
                frame = await recv(ws)
                assert frame["offset"] == 504 and frame["payload"] == {"from": "live", "i": 0}
                await nothing_more(ws)

    # Both app processes restart (new ones, same Redis): the client still recovers.
    with two_apps(redis_server, prefix) as (port_a, port_b):
        await wait_healthy(http, port_a, port_b)
        await publish_on_both(http, port_a, port_b, topic, 500)
        async with connect(f"ws://127.0.0.1:{port_a}/ws") as ws:
            outcome = await join(ws, topic, {"offset": 504, "epoch": epoch})
            assert outcome["recovered"] is True and outcome["offset"] == 1004
            recovered = [await recv(ws) for _ in range(500)]
            assert [f["offset"] for f in recovered] == list(range(505, 1005))
            assert sorted((f["payload"]["from"], f["payload"]["i"]) for f in recovered) == sorted(
                (f"{side}{k}", i) for side in "ab" for k in range(5) for i in range(50)
            )
            await publish(http, port_b, topic, "live", 1)
            assert (await recv(ws))["offset"] == 1005
            await nothing_more(ws)


async def test_recovery_fails_when_trimmed_flushed_or_redis_restarted_empty(
    redis_server: RedisServer, http: httpx.AsyncClient
) -> None:
    prefix = f"e2e-{uuid.uuid4().hex[:8]}:"
    with two_apps(redis_server, prefix) as (port_a, port_b):
        await wait_healthy(http, port_a, port_b)

        # Trimmed: "small:" keeps 10; 20 were published while away.
        async with connect(f"ws://127.0.0.1:{port_a}/ws") as ws:
            epoch = (await join(ws, "small:1"))["epoch"]
        await publish_on_both(http, port_a, port_b, "small:1", 20)
        async with connect(f"ws://127.0.0.1:{port_b}/ws") as ws:
            outcome = await join(ws, "small:1", {"offset": 0, "epoch": epoch})
            assert outcome == {
                "recovered": False,
                "was_recovering": True,
                "offset": 20,
                "epoch": epoch,
            }
            await nothing_more(ws)  # nothing recovered: the app reloads instead

        # Redis loses its data twice: FLUSHALL, then a restart without persistence.
        topic = "room:lost"
        top = await publish(http, port_a, topic, "x", 5)
        position = {"offset": top["offset"], "epoch": top["epoch"]}
        for lose in ("flushall", "restart"):
            if lose == "flushall":
                client = aioredis.from_url(redis_server.url)
                try:
                    await client.flushall()
                finally:
                    await client.aclose()
            else:
                redis_server.restart()
                await wait_healthy(http, port_a, port_b)
            await publish(http, port_b, topic, "after", 2)
            async with connect(f"ws://127.0.0.1:{port_b}/ws") as ws:
                outcome = await join(ws, topic, position)
                assert outcome["recovered"] is False, (lose, outcome)
                assert outcome["epoch"] != position["epoch"], lose
                assert outcome["offset"] == 2, lose
                await nothing_more(ws)
            position = {"offset": 2, "epoch": outcome["epoch"]}
