"""The official phoenix.js client recovers through its own rejoin (``history_driver.mjs``).

Two uvicorn processes share a real redis-server.  phoenix.js joins on A with channel params
given as a function, which sends the last position seen (the ``ref`` of each publication)
at every rejoin.  The connection is cut while 500 messages are published (half by each
process); phoenix.js reconnects, to B, rejoins by itself, and receives exactly those 500, in
order, then live ones, nothing twice.  Then history is lost (Redis flushed) and the rejoin
after the next cut says so.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis

from tests.bus.conftest import redis_binary, redis_server
from tests.history.test_history_e2e import publish_on_both, two_apps, wait_healthy
from tests.redis_server import RedisServer
from tests.support import free_port

from .conftest import HERE, NodeClient

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

__all__ = ["redis_binary", "redis_server"]

TOPIC = "room:js"


@pytest.fixture
def history_js(node: str) -> Iterator[NodeClient]:
    client = NodeClient(node, HERE / "history_driver.mjs")
    try:
        yield client
    finally:
        client.close()


def messages(client: NodeClient, count: int) -> list[dict[str, Any]]:
    return [client.wait(ev="message") for _ in range(count)]


def test_phoenix_js_rejoin_recovers_what_it_missed(
    history_js: NodeClient, redis_server: RedisServer
) -> None:
    prefix = f"js-{uuid.uuid4().hex[:8]}:"
    with two_apps(redis_server, prefix) as (port_a, port_b), httpx.Client(timeout=30) as http:

        def post(port: int, name: str, count: int) -> None:
            response = http.post(
                f"http://127.0.0.1:{port}/publish",
                json={"topic": TOPIC, "from": name, "count": count},
            )
            assert response.status_code == 200, response.text

        async def both(count: int) -> None:
            async with httpx.AsyncClient(timeout=30) as client:
                await wait_healthy(client, port_a, port_b)
                if count:
                    await publish_on_both(client, port_a, port_b, TOPIC, count)

        asyncio.run(both(0))
        history_js.send(
            "start",
            url=f"ws://127.0.0.1:{port_a}/ws",
            port=port_a,
            topic=TOPIC,
            event="said",
        )
        first = history_js.wait(ev="join")
        assert first["status"] == "ok" and first["response"]["history"]["offset"] == 0
        epoch = first["response"]["history"]["epoch"]
        post(port_a, "before", 3)
        assert [m["ref"] for m in messages(history_js, 3)] == [f"{epoch}:{n}" for n in (1, 2, 3)]

        # The network goes away (nothing listens on the port phoenix.js now retries).
        dead = free_port()
        history_js.send("cut", port=dead)
        asyncio.run(both(500))
        history_js.send("target", port=port_b)  # the next retry lands on B
        rejoin = history_js.wait(ev="join")
        assert rejoin["status"] == "ok", rejoin
        assert rejoin["response"]["history"] == {
            "recovered": True,
            "was_recovering": True,
            "offset": 503,
            "epoch": epoch,
        }
        recovered = messages(history_js, 500)
        assert [m["ref"] for m in recovered] == [f"{epoch}:{n}" for n in range(4, 504)]
        senders = sorted((m["payload"]["from"], m["payload"]["i"]) for m in recovered)
        assert senders == sorted((f"{s}{k}", i) for s in "ab" for k in range(5) for i in range(50))
        post(port_a, "live", 2)
        live = messages(history_js, 2)
        assert [m["ref"] for m in live] == [f"{epoch}:504", f"{epoch}:505"]
        assert sum(e.get("ev") == "message" for e in history_js.events) == 505

        # History lost while away: the rejoin says recovery failed, with the new epoch.
        history_js.send("cut", port=dead)
        with redis.Redis.from_url(redis_server.url) as admin:
            admin.flushall()
        post(port_b, "after the flush", 1)
        history_js.send("target", port=port_a)
        failed = history_js.wait(ev="join")
        outcome = failed["response"]["history"]
        assert failed["params"]["since"] == {"epoch": epoch, "offset": 505}
        assert outcome["recovered"] is False and outcome["was_recovering"] is True
        assert outcome["epoch"] != epoch and outcome["offset"] == 1
