"""HubLimits.max_connections: the in-process bound uvicorn's --limit-concurrency is not."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette

from sockethub import HubLimits, SocketHub
from sockethub.testing import ConnectRefused, HubClient
from sockethub.testing.served import connect_served
from tests.support import uvicorn_thread


def capped(n: int) -> tuple[Starlette, SocketHub]:
    hub = SocketHub("/ws", limits=HubLimits(max_connections=n))
    hub.channel("room")
    return Starlette(routes=[hub]), hub


def test_a_connection_beyond_the_cap_is_refused_and_a_freed_place_is_reused() -> None:
    app, hub = capped(2)
    with HubClient(app) as client:
        with client.connect("/ws"), client.connect("/ws") as b:
            with pytest.raises(ConnectRefused) as refused:
                client.connect("/ws")
            assert refused.value.status == 503
            assert refused.value.reason == "Too many connections"
            b.join("room")  # the held ones go on
        with client.connect("/ws"), client.connect("/ws"):
            pass  # both places were given back
    assert hub.stats.refused == 1
    assert hub.held == 0


async def test_over_real_uvicorn_the_refusal_is_http_503() -> None:
    app, hub = capped(1)
    with uvicorn_thread(app) as port:
        async with await connect_served(f"ws://127.0.0.1:{port}/ws"):
            with pytest.raises(ConnectRefused) as refused:
                await connect_served(f"ws://127.0.0.1:{port}/ws")
            assert refused.value.status == 503
    assert hub.stats.refused == 1


def test_the_cap_is_validated() -> None:
    with pytest.raises(ValueError, match="max_connections"):
        HubLimits(max_connections=0)
