"""The chat demo (examples/chat/app.py) over Starlette's TestClient.

Every test enters ``with TestClient(app)`` first so that all sockets share one event loop
(cross-socket delivery needs it).  "Nothing else arrived" is shown without timing: the
probe below sends a frame that the hub answers with an error, and frames to one socket
leave in the order they were produced, so the error must be the very next frame.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient, WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from examples.chat import app as chat

TOPIC_NOT_FOUND = {"code": 4404, "reason": "Topic not found"}


@pytest.fixture
def client() -> Iterator[TestClient]:
    chat.members.clear()
    with TestClient(chat.app) as client:
        yield client
    chat.members.clear()


def send(ws: WebSocketTestSession, room: str, event: str, payload: Any = None) -> None:
    ws.send_json({"topic": f"room:{room}", "event": event, "payload": payload or {}})


def expect(ws: WebSocketTestSession, room: str, event: str, payload: Any) -> None:
    assert ws.receive_json() == {"topic": f"room:{room}", "event": event, "payload": payload}


def assert_nothing_pending(ws: WebSocketTestSession) -> None:
    """The next frame is the answer to a probe, so nothing was queued before it."""
    send(ws, "never-joined", "say", {"text": "probe"})
    assert ws.receive_json() == TOPIC_NOT_FOUND


def join(ws: WebSocketTestSession, room: str, members: list[str]) -> None:
    send(ws, room, "join")
    expect(ws, room, "members", {"members": members})


def test_page_and_assets_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'data-testid="messages"' in page.text
    for asset in ("/static/chat.js", "/static/chat.css"):
        assert client.get(asset).status_code == 200


def test_join_replies_with_members_and_tells_the_others(client: TestClient) -> None:
    with (
        client.websocket_connect("/ws?user=alice") as alice,
        client.websocket_connect("/ws?user=bob") as bob,
    ):
        join(alice, "lobby", ["alice"])
        join(bob, "lobby", ["alice", "bob"])
        expect(alice, "lobby", "joined", {"user": "bob", "members": ["alice", "bob"]})
        assert_nothing_pending(bob)  # the joiner gets the member list, not its own "joined"
        assert {s.assigns["user"] for s in chat.members["lobby"]} == {"alice", "bob"}


def test_say_reaches_the_others_and_echoes_to_the_sender(client: TestClient) -> None:
    with (
        client.websocket_connect("/ws?user=alice") as alice,
        client.websocket_connect("/ws?user=bob") as bob,
    ):
        join(alice, "lobby", ["alice"])
        join(bob, "lobby", ["alice", "bob"])
        expect(alice, "lobby", "joined", {"user": "bob", "members": ["alice", "bob"]})

        send(bob, "lobby", "say", {"text": "hi, héllo ✓"})
        message = {"user": "bob", "text": "hi, héllo ✓"}
        expect(alice, "lobby", "message", message)
        expect(bob, "lobby", "sent", message)  # the sender's own copy, as its own event ...
        assert_nothing_pending(bob)  # ... and not the broadcast (exclude_self)
        assert_nothing_pending(alice)


def test_blank_or_malformed_say_is_ignored(client: TestClient) -> None:
    with (
        client.websocket_connect("/ws?user=alice") as alice,
        client.websocket_connect("/ws?user=bob") as bob,
    ):
        join(alice, "lobby", ["alice"])
        join(bob, "lobby", ["alice", "bob"])
        expect(alice, "lobby", "joined", {"user": "bob", "members": ["alice", "bob"]})
        for payload in ({"text": "   "}, {"text": 7}, {}, ["text"], "text"):
            bob.send_json({"topic": "room:lobby", "event": "say", "payload": payload})
        assert_nothing_pending(bob)
        assert_nothing_pending(alice)


def test_rooms_are_separate(client: TestClient) -> None:
    with (
        client.websocket_connect("/ws?user=alice") as alice,
        client.websocket_connect("/ws?user=carol") as carol,
    ):
        join(alice, "lobby", ["alice"])
        join(carol, "kitchen", ["carol"])
        send(alice, "lobby", "say", {"text": "lobby only"})
        expect(alice, "lobby", "sent", {"user": "alice", "text": "lobby only"})
        assert_nothing_pending(carol)


def test_announce_over_http_reaches_everyone_in_the_room(client: TestClient) -> None:
    with (
        client.websocket_connect("/ws?user=alice") as alice,
        client.websocket_connect("/ws?user=bob") as bob,
        client.websocket_connect("/ws?user=carol") as carol,
    ):
        join(alice, "lobby", ["alice"])
        join(bob, "lobby", ["alice", "bob"])
        expect(alice, "lobby", "joined", {"user": "bob", "members": ["alice", "bob"]})
        join(carol, "kitchen", ["carol"])

        response = client.post("/rooms/lobby/announce", json={"text": "pizza in 5"})
        assert response.status_code == 200
        assert response.json() == {"room": "lobby", "members": ["alice", "bob"]}
        expect(alice, "lobby", "announce", {"text": "pizza in 5"})
        expect(bob, "lobby", "announce", {"text": "pizza in 5"})
        assert_nothing_pending(carol)


def test_announce_to_an_empty_room_is_a_no_op(client: TestClient) -> None:
    response = client.post("/rooms/nobody-here/announce", json={"text": "hello?"})
    assert response.status_code == 200
    assert response.json() == {"room": "nobody-here", "members": []}


@pytest.mark.parametrize("body", [b"not json", b"[]", b"{}", b'{"text": ""}', b'{"text": 1}'])
def test_announce_rejects_a_bad_body(client: TestClient, body: bytes) -> None:
    response = client.post(
        "/rooms/lobby/announce", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {"error": 'expected {"text": "..."}'}


@pytest.mark.parametrize("query", ["", "?user=", "?user=%20%20", "?user=" + "x" * 33])
def test_a_user_name_is_required(client: TestClient, query: str) -> None:
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect(f"/ws{query}"):
            pass
    assert refused.value.code == 4403
    assert refused.value.reason == "user must be 1-32 characters"


def test_a_room_name_that_is_too_long_is_refused_and_the_socket_stays(
    client: TestClient,
) -> None:
    with client.websocket_connect("/ws?user=alice") as alice:
        send(alice, "r" * 33, "join")
        assert alice.receive_json() == {
            "code": 4403,
            "reason": "room names are at most 32 characters",
        }
        assert "r" * 33 not in chat.members
        join(alice, "lobby", ["alice"])


def test_leave_tells_the_others_and_stops_delivery(client: TestClient) -> None:
    with (
        client.websocket_connect("/ws?user=alice") as alice,
        client.websocket_connect("/ws?user=bob") as bob,
    ):
        join(alice, "lobby", ["alice"])
        join(bob, "lobby", ["alice", "bob"])
        expect(alice, "lobby", "joined", {"user": "bob", "members": ["alice", "bob"]})

        send(bob, "lobby", "leave")
        expect(alice, "lobby", "left", {"user": "bob", "members": ["alice"]})
        assert_nothing_pending(bob)  # the leaver is not told about itself

        send(alice, "lobby", "say", {"text": "still there?"})
        expect(alice, "lobby", "sent", {"user": "alice", "text": "still there?"})
        assert_nothing_pending(bob)  # no longer subscribed
        send(bob, "lobby", "say", {"text": "let me in"})
        assert bob.receive_json() == TOPIC_NOT_FOUND  # a left room cannot be talked to

        join(bob, "lobby", ["alice", "bob"])  # and it can be joined again
        expect(alice, "lobby", "joined", {"user": "bob", "members": ["alice", "bob"]})


def test_disconnecting_leaves_every_room(client: TestClient) -> None:
    with client.websocket_connect("/ws?user=alice") as alice:
        join(alice, "lobby", ["alice"])
        with client.websocket_connect("/ws?user=bob") as bob:
            join(bob, "lobby", ["alice", "bob"])
            join(bob, "kitchen", ["bob"])
            expect(alice, "lobby", "joined", {"user": "bob", "members": ["alice", "bob"]})
        expect(alice, "lobby", "left", {"user": "bob", "members": ["alice"]})
        assert {
            room: {s.assigns["user"] for s in socks} for room, socks in chat.members.items()
        } == {"lobby": {"alice"}}
