"""RedisHistory's own promises, on a real redis-server: the keys it keeps and how they
are trimmed and expire, what survives a process's bus going away, and what a hub does
when Redis is unreachable."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest
from starlette.testclient import TestClient

from sockethub import BusUnavailable, History, SocketHub
from sockethub.bus.redis import RedisSocketBus
from sockethub.history import StreamPosition
from sockethub.history.redis import RedisHistory
from tests.bus.support import eventually
from tests.hub.helpers import app_for
from tests.redis_server import RedisServer

pytestmark = pytest.mark.redis


@pytest.fixture
async def redis_bus(shared_redis: RedisServer) -> AsyncIterator[RedisSocketBus]:
    bus = RedisSocketBus(shared_redis.url, prefix=f"rh-{uuid.uuid4().hex[:8]}:")
    await bus.start()
    yield bus
    await bus.close()


async def test_a_topic_is_one_stream_and_one_hash_with_expiries(redis_bus: RedisSocketBus) -> None:
    store = RedisHistory(redis_bus)
    history = History(size=3, ttl=30, position_ttl=3600)
    for i in range(5):
        top = await store.publish("room:1", "said", {"i": i}, history)
    client = redis_bus.client
    assert client is not None
    stream, meta = store.keys("room:1")
    assert (stream, meta) == (redis_bus.prefix + "hs:room:1", redis_bus.prefix + "hm:room:1")
    entries = await client.xrange(stream)
    assert [entry_id for entry_id, _ in entries] == [b"3-0", b"4-0", b"5-0"]  # MAXLEN 3
    assert json.loads(entries[-1][1][b"d"]) == {"e": "said", "p": {"i": 4}}
    assert await client.hgetall(meta) == {b"e": top.epoch.encode(), b"o": b"5"}
    assert 0 < await client.pttl(stream) <= 30_000
    assert 30_000 < await client.pttl(meta) <= 3_600_000


async def test_history_outlives_the_bus_that_wrote_it(
    redis_bus: RedisSocketBus, shared_redis: RedisServer
) -> None:
    history = History(size=10, ttl=60)
    top = await RedisHistory(redis_bus).publish("t", "e", "kept", history)
    await redis_bus.close()
    again = RedisSocketBus(shared_redis.url, prefix=redis_bus.prefix)  # a restarted process
    await again.start()
    try:
        page = await RedisHistory(again).read("t", history, since=StreamPosition(0, top.epoch))
        assert page.complete and [p.payload for p in page.publications] == ["kept"]
    finally:
        await again.close()


async def test_a_stream_left_without_its_hash_is_dropped_with_a_new_epoch(
    redis_bus: RedisSocketBus,
) -> None:
    store = RedisHistory(redis_bus)
    history = History(size=10, ttl=60)
    old = await store.publish("t", "e", 1, history)
    await store.publish("t", "e", 2, history)
    client = redis_bus.client
    assert client is not None
    await client.delete(store.keys("t")[1])  # the hash alone expired or was evicted
    new = await store.publish("t", "e", 3, history)
    assert new.offset == 1 and new.epoch != old.epoch
    page = await store.read("t", history)
    assert [p.payload for p in page.publications] == [3]


async def test_reads_and_publishes_fail_cleanly_while_redis_is_down(
    redis_server: RedisServer,
) -> None:
    bus = RedisSocketBus(redis_server.url, prefix="down:", reconnect_max=0.2)
    await bus.start()
    try:
        store = RedisHistory(bus)
        history = History(size=10, ttl=60)
        await store.publish("t", "e", 1, history)
        redis_server.kill()
        with pytest.raises(BusUnavailable):
            await store.publish("t", "e", 2, history)
        with pytest.raises(BusUnavailable):
            await store.read("t", history)
    finally:
        await bus.close()


def test_a_hub_answers_4503_to_joins_and_publishes_while_redis_is_down(
    redis_server: RedisServer,
) -> None:
    bus = RedisSocketBus(redis_server.url, prefix="hubdown:", reconnect_max=0.2)
    hub = SocketHub("/ws", bus=bus)
    room = hub.channel("room:{id}", history=History(size=10, ttl=60))

    @room.on_receive("say")
    async def say(payload: object, sock: object) -> None:
        await sock.publish(payload)  # type: ignore[attr-defined]

    with TestClient(app_for(hub)) as client, client.websocket_connect("/ws") as ws:
        ws.send_text(json.dumps({"topic": "room:1", "event": "join", "ref": "1"}))
        assert json.loads(ws.receive_text())["payload"]["status"] == "ok"
        redis_server.kill()
        ws.send_text(json.dumps({"topic": "room:1", "event": "say", "payload": 1, "ref": "2"}))
        assert json.loads(ws.receive_text()) == {
            "code": 4503,
            "reason": "Service unavailable",
            "ref": "2",
        }
        ws.send_text(json.dumps({"topic": "room:2", "event": "join", "ref": "3"}))
        assert json.loads(ws.receive_text()) == {
            "code": 4503,
            "reason": "Service unavailable",
            "ref": "3",
        }
        ws.send_text(json.dumps({"topic": "room:2", "event": "say", "payload": 1, "ref": "4"}))
        assert json.loads(ws.receive_text())["code"] == 4404  # the failed join left nothing


async def test_a_message_with_a_malformed_position_is_dropped_and_logged(
    redis_bus: RedisSocketBus, caplog: pytest.LogCaptureFixture
) -> None:
    got: list[object] = []
    await redis_bus.subscribe("t", lambda message: got.append(message.payload))
    client = redis_bus.client
    assert client is not None
    channel = redis_bus.prefix + "t"
    for bad in ('"h":"x"', '"h":[1]', '"h":[true,"e"]', '"h":[1,2]'):
        await client.publish(channel, '{"e":"e","p":"bad",' + bad + "}")
    await client.publish(channel, '{"e":"e","p":"good","h":[1,"e"]}')
    await eventually(lambda: got == ["good"], what="the one well-formed message")
    assert sum("malformed message" in r.getMessage() for r in caplog.records) == 4


async def test_scripts_are_loaded_again_after_redis_forgot_them(redis_bus: RedisSocketBus) -> None:
    store = RedisHistory(redis_bus)
    history = History(size=10, ttl=60)
    first = await store.publish("t", "e", 1, history)
    client = redis_bus.client
    assert client is not None
    await client.script_flush()
    assert await store.publish("t", "e", 2, history) == StreamPosition(2, first.epoch)
    await client.script_flush()
    page = await store.read("t", history, since=first)
    assert [p.payload for p in page.publications] == [2]
