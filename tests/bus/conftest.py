"""Fixtures for the bus suites: each backend, started and closed, and real redis-servers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from sockethub.bus import InMemorySocketBus, SocketBus
from tests.redis_server import RedisServer, require_redis_server

BACKENDS = ["memory", "redis"]


@pytest.fixture(scope="session")
def redis_binary() -> str:
    return require_redis_server()


@pytest.fixture(scope="session")
def shared_redis(redis_binary: str) -> Iterator[RedisServer]:
    """One redis-server for the whole session; tests isolate themselves by prefix."""
    server = RedisServer(redis_binary)
    server.start()
    yield server
    server.close()


@pytest.fixture
def redis_server(redis_binary: str) -> Iterator[RedisServer]:
    """A redis-server of this test's own, free to be killed and restarted."""
    server = RedisServer(redis_binary)
    server.start()
    yield server
    server.close()


@pytest.fixture
def prefix() -> str:
    return f"test-{uuid.uuid4().hex[:10]}:"


@pytest.fixture(params=BACKENDS)
async def bus(request: pytest.FixtureRequest, prefix: str) -> AsyncIterator[SocketBus]:
    """A started bus of each backend; closed (and checked for leftover tasks) after."""
    if request.param == "memory":
        backend: SocketBus = InMemorySocketBus()
    else:
        from sockethub.bus.redis import RedisSocketBus

        server: RedisServer = request.getfixturevalue("shared_redis")
        backend = RedisSocketBus(server.url, prefix=prefix)
    await backend.start()
    yield backend
    await backend.close()
    current = asyncio.current_task()
    assert [t for t in asyncio.all_tasks() if t is not current] == []
