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

import pytest

from sockethub.testing import ConnectRefused, HubClient
from tests.demo.support import alice_then_bob, join

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TOPIC_NOT_FOUND = {"code": 4404, "reason": "Topic not found"}


def load_legacy_app() -> ModuleType:
    sys.modules.pop("examples.legacy_chat.app", None)
    return importlib.import_module("examples.legacy_chat.app")


@pytest.fixture
def legacy() -> ModuleType:
    return load_legacy_app()


@pytest.fixture
def client(legacy: ModuleType) -> Iterator[HubClient]:
    with HubClient(legacy.app) as client:
        yield client


def test_building_the_legacy_app_warns() -> None:
    with pytest.warns(DeprecationWarning, match="SocketHub"):
        load_legacy_app()


def test_the_same_page_is_served(client: HubClient) -> None:
    page = client.http.get("/")
    assert page.status_code == 200
    assert 'data-testid="messages"' in page.text
    assert client.http.get("/static/chat.js").status_code == 200


def test_a_chat_session_matches_the_hub_version(client: HubClient, legacy: ModuleType) -> None:
    with (
        client.connect("/ws?user=alice") as alice,
        client.connect("/ws?user=bob") as bob,
    ):
        alice_then_bob(alice, bob)
        bob.assert_nothing_pending()

        bob.send("room:lobby", "say", {"text": "hi"})
        alice.expect("room:lobby", "message", {"user": "bob", "text": "hi"})
        bob.expect("room:lobby", "sent", {"user": "bob", "text": "hi"})
        bob.assert_nothing_pending()

        response = client.http.post("/rooms/lobby/announce", json={"text": "pizza"})
        assert response.json() == {"room": "lobby", "members": ["alice", "bob"]}
        alice.expect("room:lobby", "announce", {"text": "pizza"})
        bob.expect("room:lobby", "announce", {"text": "pizza"})

        bob.send("room:lobby", "leave", {})
        alice.expect("room:lobby", "left", {"user": "bob", "members": ["alice"]})
        bob.assert_nothing_pending()
        bob.send("room:lobby", "say", {"text": "let me in"})
        assert bob.receive_json() == TOPIC_NOT_FOUND

        join(bob, "lobby", ["alice", "bob"])
        alice.expect("room:lobby", "joined", {"user": "bob", "members": ["alice", "bob"]})
    assert legacy.rooms == {}


def test_disconnecting_leaves_the_room(client: HubClient, legacy: ModuleType) -> None:
    with client.connect("/ws?user=alice") as alice:
        join(alice, "lobby", ["alice"])
        with client.connect("/ws?user=bob") as bob:
            join(bob, "lobby", ["alice", "bob"])
            alice.expect("room:lobby", "joined", {"user": "bob", "members": ["alice", "bob"]})
        alice.expect("room:lobby", "left", {"user": "bob", "members": ["alice"]})
        assert {
            room: {s.assigns["user"] for s in socks} for room, socks in legacy.rooms.items()
        } == {"lobby": {"alice"}}


@pytest.mark.parametrize("query", ["?user=", "?user=%20", "?user=" + "x" * 33])
def test_a_user_name_is_required(client: HubClient, query: str) -> None:
    with pytest.raises(ConnectRefused) as refused:
        client.connect(f"/ws{query}")
    assert refused.value.code == 4403
    assert refused.value.reason == "user must be 1-32 characters"


def test_a_missing_user_parameter_is_refused_by_the_handler_signature(client: HubClient) -> None:
    with pytest.raises(ConnectRefused):
        client.connect("/ws")
