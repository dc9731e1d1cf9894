"""Fixtures for the presence suites: a started tracker on each store, with its bus.

``memory`` is the in-memory store on the in-memory bus; ``redis`` is the Redis store on
the Redis bus, on a real redis-server (one per session, tests isolated by prefix), with
short heartbeats so that the dead-process bound is about a second.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from sockethub.bus import InMemorySocketBus, PubSubMessage, SocketBus
from sockethub.presence import InMemoryPresence, PresenceStore, PresenceTracker
from tests.bus.conftest import prefix, redis_binary, redis_server, shared_redis
from tests.redis_server import RedisServer

from .hubs import DEAD_AFTER, HEARTBEAT, Served, serve

__all__ = ["DEAD_AFTER", "HEARTBEAT", "prefix", "redis_binary", "redis_server", "shared_redis"]

STORES = ["memory", "redis"]


class Diffs:
    """A bus subscriber of one topic that keeps the ``presence_diff`` payloads."""

    def __init__(self) -> None:
        self.got: list[Any] = []
        self.events: list[str] = []

    def __call__(self, message: PubSubMessage) -> None:
        self.events.append(message.event)
        if message.event == "presence_diff":
            self.got.append(message.payload)


class Backend:
    """Makes buses, stores and trackers of one kind; closes all of them at the end."""

    def __init__(self, kind: str, prefix: str, server: RedisServer | None) -> None:
        self.kind = kind
        self.prefix = prefix
        self.server = server
        self.opened: list[PresenceTracker] = []

    def bus(self) -> SocketBus:
        if self.kind == "memory":
            return InMemorySocketBus()
        from sockethub.bus.redis import RedisSocketBus

        assert self.server is not None
        return RedisSocketBus(self.server.url, prefix=self.prefix, reconnect_max=0.2)

    def store(self) -> PresenceStore:
        if self.kind == "memory":
            return InMemoryPresence()
        from sockethub.presence.redis import RedisPresence

        assert self.server is not None
        return RedisPresence(
            self.server.url,
            prefix=self.prefix,
            heartbeat_interval=HEARTBEAT,
            dead_after=DEAD_AFTER,
            command_timeout=1.0,
        )

    async def tracker(self, node: str = "node-a", bus: SocketBus | None = None) -> PresenceTracker:
        bus = bus if bus is not None else self.bus()
        await bus.start()
        tracker = PresenceTracker(self.store(), bus, node=node)
        await tracker.start()
        self.opened.append(tracker)
        return tracker

    async def close(self) -> None:
        for tracker in self.opened:
            await tracker.close()
            await tracker.bus.close()


@pytest.fixture(params=STORES)
async def backend(request: pytest.FixtureRequest, prefix: str) -> AsyncIterator[Backend]:
    server = request.getfixturevalue("shared_redis") if request.param == "redis" else None
    made = Backend(request.param, prefix, server)
    yield made
    await made.close()
    current = asyncio.current_task()
    assert [t for t in asyncio.all_tasks() if t is not current] == []


@pytest.fixture
async def tracker(backend: Backend) -> PresenceTracker:
    return await backend.tracker()


async def eventually(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> None:
    from tests.bus.support import eventually as poll

    await poll(predicate, timeout=timeout, what=what or "condition")


@pytest.fixture(params=STORES)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def served(kind: str, request: pytest.FixtureRequest, prefix: str) -> Iterator[Served]:
    """The presence app (``tests/presence/app.py``) over TestClient, on each store."""
    server = request.getfixturevalue("shared_redis") if kind == "redis" else None
    with serve(kind, prefix, server) as s:
        yield s
