"""The ways a hub connection can end, as a parametrisable list for test-kit tests.

Each ending takes the app's ``blocked`` event (set by an ``on_receive("block")`` callback
that then waits forever) and the test socket, joined to ``room:1`` on a channel with
``close`` (``sock.close(4000, "Bye")``), ``boom`` (raises; the hub runs with
``error_policy="close"``) and ``block`` events.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from starlette.websockets import WebSocketDisconnect

from sockethub.testing import TestSocket


def client_closes(blocked: threading.Event, ws: TestSocket) -> None:
    ws.close(1000)


def network_drops(blocked: threading.Event, ws: TestSocket) -> None:
    ws.close(1006)


def client_context_exits(blocked: threading.Event, ws: TestSocket) -> None:
    ws.abort(1000)  # a close, and the server task cancelled at once (as TestClient does)


def server_closes(blocked: threading.Event, ws: TestSocket) -> None:
    ws.send("room:1", "close")
    with pytest.raises(WebSocketDisconnect) as info:
        ws.receive_text()
    assert (info.value.code, info.value.reason) == (4000, "Bye")


def callback_fails_with_policy_close(blocked: threading.Event, ws: TestSocket) -> None:
    ws.send("room:1", "boom")
    with pytest.raises(WebSocketDisconnect) as info:
        ws.receive_text()
    assert info.value.code == 1011


def server_task_cancelled(blocked: threading.Event, ws: TestSocket) -> None:
    ws.send("room:1", "block")
    assert blocked.wait(10)
    # The close frame waits behind the blocked callback; the server task is cancelled
    # mid-callback.
    ws.abort(1000)


Ending = Callable[[threading.Event, TestSocket], None]

ENDINGS: list[Ending] = [
    client_closes,
    network_drops,
    client_context_exits,
    server_closes,
    callback_fails_with_policy_close,
    server_task_cancelled,
]
