"""The 0.1-style chat (examples/legacy_chat) runs on the deprecated facade, unchanged.

It must speak the same wire protocol as the hub version (examples/chat), so the same page
works against both; these tests replay tests/demo/test_chat.py's sessions against it.
Building the app warns (DeprecationWarning); that is asserted once, then ignored.  They
live here, with the facade, because running the 0.1 example needs it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from starlette.testclient import TestClient, WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TOPIC_NOT_FOUND = {"code": 4404, "reason": "Topic not found"}


def load_legacy_app() -> ModuleType:
    sys.modules.pop("examples.legacy_chat.app", None)
    return importlib.import_module("examples.legacy_chat.app")


@pytest.fixture
def legacy() -> ModuleType:
    return load_legacy_app()


@pytest.fixture
def client(legacy: ModuleType) -> Iterator[TestClient]:
    with TestClient(legacy.app) as client:
        yield client


def send(ws: WebSocketTestSession, room: str, event: str, payload: Any = None) -> None:
    ws.send_json({"topic": f"room:{room}", "event": event, "payload": payload or {}})


def expect(ws: WebSocketTestSession, room: str, event: str, payload: Any) -> None:
    assert ws.receive_json() == {"topic": f"room:{room}", "event": event, "payload": payload}


def assert_nothing_pending(ws: WebSocketTestSession) -> None:
    send(ws, "never-joined", "say", {"text": "probe"})
    assert ws.receive_json() == TOPIC_NOT_FOUND


def join(ws: WebSocketTestSession, room: str, members: list[str]) -> None:
    send(ws, room, "join")
    expect(ws, room, "members", {"members": members})


def test_building_the_legacy_app_warns() -> None:
    with pytest.warns(DeprecationWarning, match="SocketHub"):
        load_legacy_app()


def test_the_same_page_is_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert 'data-testid="messages"' in page.text
    assert client.get("/static/chat.js").status_code == 200


def test_a_chat_session_matches_the_hub_version(client: TestClient, legacy: ModuleType) -> None:
    with (
        client.websocket_connect("/ws?user=alice") as alice,
        client.websocket_connect("/ws?user=bob") as bob,
    ):
        join(alice, "lobby", ["alice"])
        join(bob, "lobby", ["alice", "bob"])
        expect(alice, "lobby", "joined", {"user": "bob", "members": ["alice", "bob"]})
        assert_nothing_pending(bob)

        send(bob, "lobby", "say", {"text": "hi"})
        expect(alice, "lobby", "message", {"user": "bob", "text": "hi"})
        expect(bob, "lobby", "sent", {"user": "bob", "text": "hi"})
        assert_nothing_pending(bob)

        response = client.post("/rooms/lobby/announce", json={"text": "pizza"})
        assert response.json() == {"room": "lobby", "members": ["alice", "bob"]}
        expect(alice, "lobby", "announce", {"text": "pizza"})
        expect(bob, "lobby", "announce", {"text": "pizza"})

        send(bob, "lobby", "leave")
        expect(alice, "lobby", "left", {"user": "bob", "members": ["alice"]})
        assert_nothing_pending(bob)
        send(bob, "lobby", "say", {"text": "let me in"})
        assert bob.receive_json() == TOPIC_NOT_FOUND

        join(bob, "lobby", ["alice", "bob"])
        expect(alice, "lobby", "joined", {"user": "bob", "members": ["alice", "bob"]})
    assert legacy.rooms == {}


def test_disconnecting_leaves_the_room(client: TestClient, legacy: ModuleType) -> None:
    with client.websocket_connect("/ws?user=alice") as alice:
        join(alice, "lobby", ["alice"])
        with client.websocket_connect("/ws?user=bob") as bob:
            join(bob, "lobby", ["alice", "bob"])
            expect(alice, "lobby", "joined", {"user": "bob", "members": ["alice", "bob"]})
        expect(alice, "lobby", "left", {"user": "bob", "members": ["alice"]})
        assert {
            room: {s.assigns["user"] for s in socks} for room, socks in legacy.rooms.items()
        } == {"lobby": {"alice"}}


@pytest.mark.parametrize("query", ["?user=", "?user=%20", "?user=" + "x" * 33])
def test_a_user_name_is_required(client: TestClient, query: str) -> None:
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect(f"/ws{query}"):
            pass
    assert refused.value.code == 4403
    assert refused.value.reason == "user must be 1-32 characters"


def test_a_missing_user_parameter_is_refused_by_the_handler_signature(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("/ws"):
            pass
