"""HubLimits over TestClient: frame size, rate, idle timeout (re-armed by traffic)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from sockethub import HubLimits, ISocket, SocketHub
from sockethub.testing import HubClient
from tests.hub.helpers import app_for


def hub_with(**limits: Any) -> SocketHub:
    hub = SocketHub("/ws", limits=HubLimits(**limits))
    room = hub.channel("room")

    @room.on_receive("echo")
    async def echo(payload: Any, sock: ISocket) -> Any:
        return payload

    return hub


def echo(ws: Any, payload: Any) -> Any:
    ws.send_json({"topic": "room", "event": "echo", "payload": payload, "ref": "e"})
    return ws.receive_json()["payload"]["response"]


def test_a_frame_over_max_frame_bytes_closes_with_1009_counting_utf8_bytes() -> None:
    hub = hub_with(max_frame_bytes=1000)
    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.send_json({"topic": "room", "event": "join"})
        assert echo(ws, "é" * 400) == "é" * 400  # 800 bytes
        # 524 characters, 1,004 bytes of UTF-8
        ws.send_text('{"topic":"room","event":"echo","payload":"' + "é" * 480 + '"}')
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1009


def test_more_than_the_rate_closes_with_1008() -> None:
    hub = hub_with(rate=1, burst=5)
    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.send_json({"topic": "room", "event": "join"})
        for _ in range(10):
            ws.send_json({"topic": "room", "event": "echo", "payload": 0})
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                ws.receive_json()
    assert (closed.value.code, closed.value.reason) == (1008, "Rate limit exceeded")


def test_traffic_re_arms_the_idle_timeout_and_silence_closes() -> None:
    hub = hub_with(idle_timeout=0.3)
    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.send_json({"topic": "room", "event": "join"})
        for n in range(6):  # 6 x 0.1 s: twice the timeout, never idle for 0.3 s
            time.sleep(0.1)
            assert echo(ws, n) == n
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()  # silence: closed after 0.3 s
    assert (closed.value.code, closed.value.reason) == (1000, "Idle timeout")
