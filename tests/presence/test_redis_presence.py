"""RedisPresence across processes: one state, dead processes reaped, Redis restarts.

Two trackers with their own bus, store and node id stand for two processes on one
redis-server.  A process "dies" here by losing its tasks and connections without any
clean-up (what SIGKILL leaves behind in Redis); the real SIGKILL of a real process is in
``tests/phoenix/test_presence_js.py``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from sockethub.presence import PresenceTracker
from sockethub.presence.redis import RedisPresence
from tests.redis_server import RedisServer

from .conftest import DEAD_AFTER, HEARTBEAT, Backend, Diffs, eventually

T = "room:1"


@pytest.fixture
async def redis_backend(prefix: str, shared_redis: RedisServer) -> AsyncIterator[Backend]:
    made = Backend("redis", prefix, shared_redis)
    yield made
    await made.close()


async def die(tracker: PresenceTracker, backend: Backend) -> None:
    """End ``tracker``'s process abruptly: no untrack, no deregistration."""
    backend.opened.remove(tracker)
    store = tracker.store
    assert isinstance(store, RedisPresence)
    task, store._task = store._task, None
    assert task is not None
    task.cancel()
    await asyncio.wait({task})
    client, store._client = store._client, None
    assert client is not None
    await client.aclose()
    await tracker.bus.close()


async def test_every_process_sees_one_state(redis_backend: Backend) -> None:
    a = await redis_backend.tracker("node-a")
    b = await redis_backend.tracker("node-b")
    seen_on_b = Diffs()
    await b.bus.subscribe(T, seen_on_b)
    ref_a = await a.track(T, "ada", {"on": "a"}, owner="a.1")
    ref_b = await b.track(T, "bob", {"on": "b"}, owner="b.1")
    expected = {
        "ada": {"metas": [{"on": "a", "phx_ref": ref_a}]},
        "bob": {"metas": [{"on": "b", "phx_ref": ref_b}]},
    }
    assert await a.list(T) == expected
    assert await b.list(T) == expected
    await eventually(lambda: len(seen_on_b.got) == 2, what="a's and b's joins on b")
    await a.untrack(T, "ada", owner="a.1")
    assert await b.list(T) == {"bob": expected["bob"]}


async def test_a_dead_process_is_reaped_within_the_bound(redis_backend: Backend) -> None:
    a = await redis_backend.tracker("node-a")
    b = await redis_backend.tracker("node-b")
    diffs = Diffs()
    await a.bus.subscribe(T, diffs)
    await b.track(T, "bob", owner="b.1")
    await b.track(T, "bot")
    await b.track("room:2", "bob", owner="b.1")
    await a.track(T, "ada", owner="a.1")
    await eventually(lambda: len(diffs.got) == 3, what="three joins")
    await die(b, redis_backend)
    died = time.monotonic()
    store = a.store
    assert isinstance(store, RedisPresence)
    assert store.bound == pytest.approx(DEAD_AFTER + HEARTBEAT)
    await eventually(lambda: len(diffs.got) == 4, what="the leaves of the dead process")
    took = time.monotonic() - died
    assert sorted(diffs.got[3]["leaves"]) == ["bob", "bot"]  # one diff for the topic
    assert list(await a.list(T)) == ["ada"]
    assert await a.list("room:2") == {}
    assert store.reaped == 3
    # Not a speed assertion: the bound plus generous slack for a loaded machine.
    assert took < store.bound + 5


async def test_a_redis_restart_leaves_no_ghost_and_loses_no_live_presence(
    prefix: str, redis_server: RedisServer
) -> None:
    backend = Backend("redis", prefix, redis_server)
    try:
        a = await backend.tracker("node-a")
        b = await backend.tracker("node-b")
        c = await backend.tracker("node-c")
        await a.track(T, "ada", owner="a.1")
        await b.track(T, "bob", owner="b.1")
        await c.track(T, "cid", owner="c.1")
        resent: list[dict[str, object]] = []
        a.listen(T, resent.append)
        redis_server.kill()  # c dies while Redis is away: nobody will reap it
        await die(c, backend)
        redis_server.start()  # empty: persistence is off
        await eventually(lambda: resent, timeout=20, what="a whole-state resend on a")
        assert sorted(resent[-1]) == ["ada", "bob"]
        assert sorted(await b.list(T)) == ["ada", "bob"]
    finally:
        await backend.close()


async def test_a_process_declared_dead_while_alive_comes_back(redis_backend: Backend) -> None:
    a = await redis_backend.tracker("node-a")
    b = await redis_backend.tracker("node-b")
    diffs = Diffs()
    await a.bus.subscribe(T, diffs)
    await b.track(T, "bob", owner="b.1")
    store = b.store
    assert isinstance(store, RedisPresence)
    paused = store._task
    assert paused is not None
    paused.cancel()  # b's event loop "stalls" for longer than dead_after
    await asyncio.wait({paused})
    await eventually(lambda: len(diffs.got) == 2, what="b reaped")
    store._task = asyncio.get_running_loop().create_task(store._heartbeats())
    await eventually(lambda: len(diffs.got) == 3, what="b re-asserted")
    # Whichever arrives first, a client applying both holds bob under his new ref.
    joins = [d for d in diffs.got[1:] if d["joins"]]
    assert len(joins) == 1
    new_ref = joins[0]["joins"]["bob"]["metas"][0]["phx_ref"]
    assert joins[0]["joins"]["bob"]["metas"][0]["phx_ref_prev"] == "node-b.1"
    assert await a.list(T) == {"bob": {"metas": [{"phx_ref": new_ref, "phx_ref_prev": "node-b.1"}]}}
