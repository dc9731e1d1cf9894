"""Fixtures for the history suites: each store on its bus, started and closed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest

from sockethub.bus import InMemorySocketBus, SocketBus
from sockethub.history import HistoryStore, InMemoryHistory
from tests.bus.conftest import redis_binary, redis_server, shared_redis
from tests.redis_server import RedisServer

__all__ = ["Backend", "redis_binary", "redis_server", "shared_redis"]


@dataclass
class Backend:
    """A started bus, its history store, and how this backend loses its data."""

    name: str
    bus: SocketBus
    store: HistoryStore
    lose_everything: Callable[[], Awaitable[None]]


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    """Each store on its own bus; closed (and checked for leftover tasks) after."""
    if request.param == "memory":
        bus = InMemorySocketBus()
        store: HistoryStore = InMemoryHistory(bus)

        async def lose() -> None:
            store.clear()  # type: ignore[attr-defined]  # what a restart does

    else:
        from sockethub.bus.redis import RedisSocketBus
        from sockethub.history.redis import RedisHistory

        server: RedisServer = request.getfixturevalue("shared_redis")
        bus = RedisSocketBus(server.url, prefix=f"test-{uuid.uuid4().hex[:10]}:")
        store = RedisHistory(bus)

        async def lose() -> None:
            client = bus.client
            assert client is not None
            await client.flushall()  # what a restart without persistence does

    await bus.start()
    yield Backend(request.param, bus, store, lose)
    await bus.close()
    current = asyncio.current_task()
    assert [t for t in asyncio.all_tasks() if t is not current] == []
