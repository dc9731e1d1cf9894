"""The chat demo (examples/chat/app.py) over the test kit (on Starlette's TestClient).

Every socket of a test comes from one ``HubClient``, so all share one event loop
(cross-socket delivery needs it).  "Nothing else arrived" is the kit's round trip.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from examples.chat import app as chat
from sockethub.testing import ConnectRefused, HubClient
from tests.demo.support import alice_then_bob, join

TOPIC_NOT_FOUND = {"code": 4404, "reason": "Topic not found"}


@pytest.fixture
def client() -> Iterator[HubClient]:
    chat.members.clear()
    with HubClient(chat.app) as client:
        yield client
    chat.members.clear()


def test_page_and_assets_are_served(client: HubClient) -> None:
    page = client.http.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'data-testid="messages"' in page.text
    for asset in ("/static/chat.js", "/static/chat.css"):
        assert client.http.get(asset).status_code == 200


def test_join_replies_with_members_and_tells_the_others(client: HubClient) -> None:
    with (
        client.connect("/ws?user=alice") as alice,
        client.connect("/ws?user=bob") as bob,
    ):
        alice_then_bob(alice, bob)
        bob.assert_nothing_pending()  # the joiner gets the member list, not its own "joined"
        assert {s.assigns["user"] for s in chat.members["lobby"]} == {"alice", "bob"}


def test_say_reaches_the_others_and_echoes_to_the_sender(client: HubClient) -> None:
    with (
        client.connect("/ws?user=alice") as alice,
        client.connect("/ws?user=bob") as bob,
    ):
        alice_then_bob(alice, bob)

        bob.send("room:lobby", "say", {"text": "hi, héllo ✓"})
        message = {"user": "bob", "text": "hi, héllo ✓"}
        alice.expect("room:lobby", "message", message)
        bob.expect("room:lobby", "sent", message)  # the sender's own copy, as its own event ...
        bob.assert_nothing_pending()  # ... and not the broadcast (exclude_self)
        alice.assert_nothing_pending()


def test_blank_or_malformed_say_is_ignored(client: HubClient) -> None:
    with (
        client.connect("/ws?user=alice") as alice,
        client.connect("/ws?user=bob") as bob,
    ):
        alice_then_bob(alice, bob)
        for payload in ({"text": "   "}, {"text": 7}, {}, ["text"], "text"):
            bob.send_json({"topic": "room:lobby", "event": "say", "payload": payload})
        bob.assert_nothing_pending()
        alice.assert_nothing_pending()


def test_rooms_are_separate(client: HubClient) -> None:
    with (
        client.connect("/ws?user=alice") as alice,
        client.connect("/ws?user=carol") as carol,
    ):
        join(alice, "lobby", ["alice"])
        join(carol, "kitchen", ["carol"])
        alice.send("room:lobby", "say", {"text": "lobby only"})
        alice.expect("room:lobby", "sent", {"user": "alice", "text": "lobby only"})
        carol.assert_nothing_pending()


def test_announce_over_http_reaches_everyone_in_the_room(client: HubClient) -> None:
    with (
        client.connect("/ws?user=alice") as alice,
        client.connect("/ws?user=bob") as bob,
        client.connect("/ws?user=carol") as carol,
    ):
        alice_then_bob(alice, bob)
        join(carol, "kitchen", ["carol"])

        response = client.http.post("/rooms/lobby/announce", json={"text": "pizza in 5"})
        assert response.status_code == 200
        assert response.json() == {"room": "lobby", "members": ["alice", "bob"]}
        alice.expect("room:lobby", "announce", {"text": "pizza in 5"})
        bob.expect("room:lobby", "announce", {"text": "pizza in 5"})
        carol.assert_nothing_pending()


def test_announce_to_an_empty_room_is_a_no_op(client: HubClient) -> None:
    response = client.http.post("/rooms/nobody-here/announce", json={"text": "hello?"})
    assert response.status_code == 200
    assert response.json() == {"room": "nobody-here", "members": []}


@pytest.mark.parametrize("body", [b"not json", b"[]", b"{}", b'{"text": ""}', b'{"text": 1}'])
def test_announce_rejects_a_bad_body(client: HubClient, body: bytes) -> None:
    response = client.http.post(
        "/rooms/lobby/announce", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {"error": 'expected {"text": "..."}'}


@pytest.mark.parametrize("query", ["", "?user=", "?user=%20%20", "?user=" + "x" * 33])
def test_a_user_name_is_required(client: HubClient, query: str) -> None:
    with pytest.raises(ConnectRefused) as refused:
        client.connect(f"/ws{query}")
    assert refused.value.code == 4403
    assert refused.value.reason == "user must be 1-32 characters"


def test_a_room_name_that_is_too_long_is_refused_and_the_socket_stays(
    client: HubClient,
) -> None:
    with client.connect("/ws?user=alice") as alice:
        alice.send("room:" + "r" * 33, "join", {})
        assert alice.receive_json() == {
            "code": 4403,
            "reason": "room names are at most 32 characters",
        }
        assert "r" * 33 not in chat.members
        join(alice, "lobby", ["alice"])


def test_leave_tells_the_others_and_stops_delivery(client: HubClient) -> None:
    with (
        client.connect("/ws?user=alice") as alice,
        client.connect("/ws?user=bob") as bob,
    ):
        alice_then_bob(alice, bob)

        bob.send("room:lobby", "leave", {})
        alice.expect("room:lobby", "left", {"user": "bob", "members": ["alice"]})
        bob.assert_nothing_pending()  # the leaver is not told about itself

        alice.send("room:lobby", "say", {"text": "still there?"})
        alice.expect("room:lobby", "sent", {"user": "alice", "text": "still there?"})
        bob.assert_nothing_pending()  # no longer subscribed
        bob.send("room:lobby", "say", {"text": "let me in"})
        assert bob.receive_json() == TOPIC_NOT_FOUND  # a left room cannot be talked to

        join(bob, "lobby", ["alice", "bob"])  # and it can be joined again
        alice.expect("room:lobby", "joined", {"user": "bob", "members": ["alice", "bob"]})


def test_disconnecting_leaves_every_room(client: HubClient) -> None:
    with client.connect("/ws?user=alice") as alice:
        join(alice, "lobby", ["alice"])
        with client.connect("/ws?user=bob") as bob:
            join(bob, "lobby", ["alice", "bob"])
            join(bob, "kitchen", ["bob"])
            alice.expect("room:lobby", "joined", {"user": "bob", "members": ["alice", "bob"]})
        alice.expect("room:lobby", "left", {"user": "bob", "members": ["alice"]})
        assert {
            room: {s.assigns["user"] for s in socks} for room, socks in chat.members.items()
        } == {"lobby": {"alice"}}
