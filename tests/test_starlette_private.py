"""The one private Starlette API sockethub uses, pinned: an upgrade that changes it fails
here first.  And the public state sockethub keeps truthful around its own sends."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect, WebSocketState

from sockethub import ISocket, SocketHub
from tests.hub.helpers import app_for


def test_get_route_path_is_the_path_below_the_mounts_root_path() -> None:
    from starlette._utils import get_route_path

    assert get_route_path({"path": "/api/ws", "root_path": "/api"}) == "/ws"
    assert get_route_path({"path": "/ws", "root_path": ""}) == "/ws"
    assert get_route_path({"path": "/ws"}) == "/ws"
    assert get_route_path({"path": "/apix/ws", "root_path": "/api"}) == "/apix/ws"


def test_sock_close_in_a_hub_leaves_application_state_truthful() -> None:
    hub = SocketHub("/ws")
    room = hub.channel("room")
    states: list[Any] = []

    @room.on_receive("bye")
    async def bye(payload: Any, sock: ISocket) -> None:
        states.append(sock.application_state)
        await sock.close(4000, "bye")
        states.append(sock.application_state)
        await asyncio.sleep(0)

    @hub.on_disconnect
    async def gone(sock: ISocket) -> None:
        states.append(sock.application_state)

    with TestClient(app_for(hub)) as client, client.websocket_connect("/ws") as ws:
        ws.send_json({"topic": "room", "event": "join"})
        ws.send_json({"topic": "room", "event": "bye"})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4000
    assert states == [
        WebSocketState.CONNECTED,
        WebSocketState.DISCONNECTED,
        WebSocketState.DISCONNECTED,
    ]
