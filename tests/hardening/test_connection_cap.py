"""HubLimits.max_connections: the in-process bound uvicorn's --limit-concurrency is not."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient, WebSocketDenialResponse
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from sockethub import HubLimits, SocketHub
from tests.support import uvicorn_thread


def capped(n: int) -> tuple[Starlette, SocketHub]:
    hub = SocketHub("/ws", limits=HubLimits(max_connections=n))
    hub.channel("room")
    return Starlette(routes=[hub]), hub


def test_a_connection_beyond_the_cap_is_refused_and_a_freed_place_is_reused() -> None:
    app, hub = capped(2)
    with TestClient(app) as client:
        with client.websocket_connect("/ws"), client.websocket_connect("/ws") as b:
            with pytest.raises(WebSocketDenialResponse) as refused:
                with client.websocket_connect("/ws"):
                    pass
            assert refused.value.status_code == 503
            assert refused.value.text == "Too many connections"
            b.send_json({"topic": "room", "event": "join", "ref": "1"})
            assert b.receive_json()["payload"]["status"] == "ok"  # the held ones go on
        with client.websocket_connect("/ws"), client.websocket_connect("/ws"):
            pass  # both places were given back
    assert hub.stats.refused == 1
    assert hub.held == 0


async def test_over_real_uvicorn_the_refusal_is_http_503() -> None:
    app, hub = capped(1)
    with uvicorn_thread(app) as port:
        async with connect(f"ws://127.0.0.1:{port}/ws"):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(f"ws://127.0.0.1:{port}/ws"):
                    pass
            assert refused.value.response.status_code == 503
    assert hub.stats.refused == 1


def test_the_cap_is_validated() -> None:
    with pytest.raises(ValueError, match="max_connections"):
        HubLimits(max_connections=0)
