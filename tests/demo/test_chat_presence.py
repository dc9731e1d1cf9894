"""The chat demo's presence joins (what the page sends: ``{"presence": true}``) over
Starlette's TestClient.  0.1-style joins (no payload flag) are ``test_chat.py``'s."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient, WebSocketTestSession

from examples.chat import app as chat

TOPIC_NOT_FOUND = {"code": 4404, "reason": "Topic not found"}


@pytest.fixture
def client() -> Iterator[TestClient]:
    chat.members.clear()
    with TestClient(chat.app) as client:
        yield client
        assert client.portal.call(chat.hub.presence.list, "room:lobby") == {}


def send(ws: WebSocketTestSession, room: str, event: str, payload: Any = None) -> None:
    ws.send_json({"topic": f"room:{room}", "event": event, "payload": payload or {}})


def join(ws: WebSocketTestSession, room: str, members: list[str]) -> None:
    """A presence join: the joiner gets the room's members, each with one ``phx_ref``."""
    send(ws, room, "join", {"presence": True})
    frame = ws.receive_json()
    assert (frame["topic"], frame["event"]) == (f"room:{room}", "presence_state")
    assert sorted(frame["payload"]) == members
    for user, presence in frame["payload"].items():
        assert [set(meta) for meta in presence["metas"]] == [{"phx_ref"}], user


def expect_presence(ws: WebSocketTestSession, room: str, change: str, user: str) -> None:
    """The next frame is a presence_diff in which ``user`` joined (``joins``) or left."""
    frame = ws.receive_json()
    assert (frame["topic"], frame["event"]) == (f"room:{room}", "presence_diff")
    other = "leaves" if change == "joins" else "joins"
    assert (list(frame["payload"][change]), frame["payload"][other]) == ([user], {})


def assert_nothing_pending(ws: WebSocketTestSession) -> None:
    send(ws, "never-joined", "say", {"text": "probe"})
    assert ws.receive_json() == TOPIC_NOT_FOUND


def present(client: TestClient, room: str) -> list[str]:
    return sorted(client.portal.call(chat.hub.presence.list, f"room:{room}"))


def test_a_presence_join_gets_the_state_and_the_others_a_diff(client: TestClient) -> None:
    with (
        client.websocket_connect("/ws?user=alice") as alice,
        client.websocket_connect("/ws?user=bob") as bob,
    ):
        join(alice, "lobby", ["alice"])
        join(bob, "lobby", ["alice", "bob"])
        expect_presence(alice, "lobby", "joins", "bob")
        assert_nothing_pending(bob)  # not its own join: its state holds it
        assert present(client, "lobby") == ["alice", "bob"]
        response = client.post("/rooms/lobby/announce", json={"text": "hi"})
        assert response.json() == {"room": "lobby", "members": ["alice", "bob"]}


def test_leaving_and_disconnecting_untrack(client: TestClient) -> None:
    with client.websocket_connect("/ws?user=alice") as alice:
        join(alice, "lobby", ["alice"])
        with client.websocket_connect("/ws?user=bob") as bob:
            join(bob, "lobby", ["alice", "bob"])
            expect_presence(alice, "lobby", "joins", "bob")
            send(bob, "lobby", "leave")
            expect_presence(alice, "lobby", "leaves", "bob")
            join(bob, "lobby", ["alice", "bob"])
            expect_presence(alice, "lobby", "joins", "bob")
        expect_presence(alice, "lobby", "leaves", "bob")
        assert present(client, "lobby") == ["alice"]
        send(alice, "lobby", "say", {"text": "alone"})
        assert alice.receive_json()["event"] == "sent"


def test_a_0_1_client_in_the_room_is_listed_and_keeps_its_events(client: TestClient) -> None:
    with (
        client.websocket_connect("/ws?user=old") as old,
        client.websocket_connect("/ws?user=new") as new,
    ):
        send(old, "lobby", "join")
        assert old.receive_json()["event"] == "members"
        join(new, "lobby", ["new"])
        diff = old.receive_json()  # a 0.1 page ignores the events it does not know
        assert diff["event"] == "presence_diff"
        response = client.post("/rooms/lobby/announce", json={"text": "hi"})
        assert response.json()["members"] == ["new", "old"]
