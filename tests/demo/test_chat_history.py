"""The chat demo's rooms with history (``chat:<name>``, what the page joins) over
Starlette's TestClient: positions on every message, recovery on rejoin, the sender's own
message seen once, and the bridge to 0.1 clients on ``room:<name>``, whose frames stay
exactly 0.1's (no position)."""

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
    with TestClient(chat.app) as client:  # one history store per process: every test
        yield client  # uses rooms of its own, so their streams never mix
    chat.members.clear()


def send(
    ws: WebSocketTestSession, topic: str, event: str, payload: Any, ref: str | None = None
) -> None:
    frame: dict[str, Any] = {"topic": topic, "event": event, "payload": payload}
    if ref is not None:
        frame["ref"] = ref
    ws.send_json(frame)


def join(
    ws: WebSocketTestSession, room: str, since: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Join ``chat:<room>`` as the page does; return the reply's ``history`` (the
    presence_state that follows it is checked and dropped)."""
    payload: dict[str, Any] = {"presence": True}
    if since is not None:
        payload["since"] = since
    send(ws, f"chat:{room}", "join", payload, ref="j")
    reply = ws.receive_json()
    assert (reply["event"], reply["ref"], reply["payload"]["status"]) == ("reply", "j", "ok")
    state = ws.receive_json()
    assert state["event"] == "presence_state"
    history: dict[str, Any] = reply["payload"]["response"]["history"]
    return history


def assert_nothing_pending(ws: WebSocketTestSession) -> None:
    send(ws, "room:never-joined", "say", {"text": "probe"})
    assert ws.receive_json() == TOPIC_NOT_FOUND


def next_event(ws: WebSocketTestSession, event: str) -> dict[str, Any]:
    """The next frame that is not a presence_diff; it must be ``event``."""
    while True:
        frame: dict[str, Any] = ws.receive_json()
        if frame["event"] != "presence_diff":
            assert frame["event"] == event, frame
            return frame


def test_messages_carry_positions_and_the_sender_gets_its_own_once(client: TestClient) -> None:
    with (
        client.websocket_connect("/ws?user=alice") as alice,
        client.websocket_connect("/ws?user=bob") as bob,
    ):
        fresh = join(alice, "h1")
        assert (fresh["recovered"], fresh["was_recovering"], fresh["offset"]) == (False, False, 0)
        join(bob, "h1")
        send(alice, "chat:h1", "say", {"text": "hi", "id": "a-1"})
        mine = next_event(alice, "message")
        theirs = next_event(bob, "message")
        assert (
            mine
            == theirs
            == {
                "topic": "chat:h1",
                "event": "message",
                "payload": {"user": "alice", "text": "hi", "id": "a-1"},
                "offset": 1,
                "epoch": fresh["epoch"],
            }
        )
        assert_nothing_pending(alice)  # no "sent" besides: the publication is its copy
        # An id that is not a short string is dropped, the message is not.
        send(bob, "chat:h1", "say", {"text": "yo", "id": "x" * 65})
        assert next_event(alice, "message")["payload"] == {"user": "bob", "text": "yo"}


def test_a_rejoin_from_the_last_position_recovers_exactly_what_was_missed(
    client: TestClient,
) -> None:
    with (
        client.websocket_connect("/ws?user=alice") as alice,
        client.websocket_connect("/ws?user=bob") as bob,
    ):
        join(alice, "h2")
        join(bob, "h2")
        send(alice, "chat:h2", "say", {"text": "mine", "id": "a-1"})
        seen = next_event(alice, "message")  # the page records this position
        next_event(bob, "message")
        send(alice, "chat:h2", "leave", {})
        for n in range(3):
            send(bob, "chat:h2", "say", {"text": f"missed {n}"})
            next_event(bob, "message")
        assert client.post("/rooms/h2/announce", json={"text": "news"}).status_code == 200
        next_event(bob, "announce")

        history = join(alice, "h2", since={"offset": seen["offset"], "epoch": seen["epoch"]})
        assert history == {
            "recovered": True,
            "was_recovering": True,
            "offset": seen["offset"] + 4,
            "epoch": seen["epoch"],
        }
        got = [alice.receive_json() for _ in range(4)]
        assert [(f["event"], f["payload"].get("text"), f["offset"]) for f in got] == [
            ("message", "missed 0", 2),
            ("message", "missed 1", 3),
            ("message", "missed 2", 4),
            ("announce", "news", 5),
        ]
        assert_nothing_pending(alice)  # its own "mine" is not sent again
        send(bob, "chat:h2", "say", {"text": "live"})
        assert next_event(alice, "message")["offset"] == 6


def test_a_position_from_another_epoch_is_reported_as_not_recovered(client: TestClient) -> None:
    with client.websocket_connect("/ws?user=alice") as alice:
        history = join(alice, "h3", since={"offset": 7, "epoch": "000000000000"})
        assert (history["recovered"], history["was_recovering"]) == (False, True)
        assert_nothing_pending(alice)


def test_pages_and_0_1_clients_of_one_room_hear_each_other(client: TestClient) -> None:
    with (
        client.websocket_connect("/ws?user=old") as old,
        client.websocket_connect("/ws?user=new") as new,
    ):
        send(old, "room:h4", "join", {})
        assert old.receive_json() == {
            "topic": "room:h4",
            "event": "members",
            "payload": {"members": ["old"]},
        }
        join(new, "h4")
        send(new, "chat:h4", "say", {"text": "from the page", "id": "n-1"})
        assert old.receive_json() == {  # 0.1's frame, exactly: no id, no position
            "topic": "room:h4",
            "event": "message",
            "payload": {"user": "new", "text": "from the page"},
        }
        assert next_event(new, "message")["payload"]["id"] == "n-1"
        send(old, "room:h4", "say", {"text": "from 0.1"})
        assert old.receive_json()["event"] == "sent"
        heard = next_event(new, "message")
        assert (heard["payload"], heard["offset"]) == ({"user": "old", "text": "from 0.1"}, 2)
        response = client.post("/rooms/h4/announce", json={"text": "both"})
        assert response.json() == {"room": "h4", "members": ["new", "old"]}
        assert old.receive_json() == {
            "topic": "room:h4",
            "event": "announce",
            "payload": {"text": "both"},
        }
        assert next_event(new, "announce")["offset"] == 3
        assert_nothing_pending(old)


def test_a_too_long_room_name_is_refused_in_the_join_reply(client: TestClient) -> None:
    with client.websocket_connect("/ws?user=alice") as alice:
        send(alice, "chat:" + "r" * 33, "join", {"presence": True}, ref="j")
        reply = alice.receive_json()
        assert reply["payload"] == {
            "status": "error",
            "response": {"reason": "room names are at most 32 characters"},
        }
        assert client.portal.call(chat.hub.presence.list, "chat:" + "r" * 33) == {}
