"""The ways a hub connection can end, as a parametrisable list for TestClient tests.

Each ending takes the app's ``blocked`` event (set by an ``on_receive("block")`` callback
that then waits forever) and the test socket, joined to ``room:1`` on a channel with
``close`` (``sock.close(4000, "Bye")``), ``boom`` (raises; the hub runs with
``error_policy="close"``) and ``block`` events.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import pytest
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect


def _send(ws: WebSocketTestSession, event: str) -> None:
    ws.send_text(json.dumps({"topic": "room:1", "event": event}))


def client_closes(blocked: threading.Event, ws: WebSocketTestSession) -> None:
    ws.close(1000)


def network_drops(blocked: threading.Event, ws: WebSocketTestSession) -> None:
    ws.close(1006)


def client_context_exits(blocked: threading.Event, ws: WebSocketTestSession) -> None:
    pass  # TestClient sends a close and cancels the server task


def server_closes(blocked: threading.Event, ws: WebSocketTestSession) -> None:
    _send(ws, "close")
    with pytest.raises(WebSocketDisconnect) as info:
        ws.receive_text()
    assert (info.value.code, info.value.reason) == (4000, "Bye")


def callback_fails_with_policy_close(blocked: threading.Event, ws: WebSocketTestSession) -> None:
    _send(ws, "boom")
    with pytest.raises(WebSocketDisconnect) as info:
        ws.receive_text()
    assert info.value.code == 1011


def server_task_cancelled(blocked: threading.Event, ws: WebSocketTestSession) -> None:
    _send(ws, "block")
    assert blocked.wait(10)
    # Leaving the context now: the close frame waits behind the blocked callback, and
    # TestClient cancels the server task mid-callback.


Ending = Callable[[threading.Event, WebSocketTestSession], None]

ENDINGS: list[Ending] = [
    client_closes,
    network_drops,
    client_context_exits,
    server_closes,
    callback_fails_with_policy_close,
    server_task_cancelled,
]
