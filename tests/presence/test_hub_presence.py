"""Presence through a hub, over Starlette's TestClient, on every store (both protocols).

What a client sees: the join reply, then ``presence_state`` (the whole state, one
frame), then one ``presence_diff`` per change; the presences of a connection go away
when it leaves, crashes (Phoenix's model) or ends, however it ends.  On Redis, frames
arrive asynchronously: "nothing else came" is shown with a marker published after the
change (one topic's messages arrive in one order).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.endings import ENDINGS, Ending

from .hubs import Served, join, keys, next_diff, serve

T = "room:1"


def test_joiner_gets_the_state_in_one_frame_and_the_others_one_diff(served: Served) -> None:
    with served.connect("ada") as ada:
        state = join(ada)
        assert keys(state) == ["ada"]
        assert state["ada"]["metas"][0]["status"] == "online"
        with served.connect("bob") as bob:
            state = join(bob, payload={"status": "away"})
            assert keys(state) == ["ada", "bob"]
            diff = next_diff(ada)
            assert diff["leaves"] == {}
            assert keys(diff["joins"]) == ["bob"]
            assert diff["joins"]["bob"]["metas"][0]["status"] == "away"
            assert diff["joins"]["bob"] == state["bob"]  # same meta, same phx_ref
            # One diff to ada, nothing else (no whole state); to bob nothing after his
            # state, not even the diff of his own join: his state holds it.
            served.settle(ada, bob)


def test_phoenix_frames_are_phoenix_presence_frames(served: Served) -> None:
    with served.connect("ada", phoenix=True) as ada:
        ada.send_text(json.dumps(["1", "1", T, "phx_join", {}]))
        assert ada.receive_json()[3:] == ["phx_reply", {"status": "ok", "response": {}}]
        join_ref, ref, topic, event, state = ada.receive_json()
        assert (join_ref, ref, topic, event) == ("1", None, T, "presence_state")
        ref_ada = state["ada"]["metas"][0]["phx_ref"]
        assert state == {"ada": {"metas": [{"status": "online", "phx_ref": ref_ada}]}}
        with served.connect("bob", phoenix=True) as bob:
            bob.send_text(json.dumps(["7", "7", T, "phx_join", {}]))
            assert bob.receive_json()[3] == "phx_reply"
            assert bob.receive_json()[:4] == ["7", None, T, "presence_state"]
            frame = ada.receive_json()
            assert frame[:4] == [None, None, T, "presence_diff"]
            assert set(frame[4]) == {"joins", "leaves"}
            bob.send_text(json.dumps(["7", "8", T, "status", "busy"]))
            new_ref = None
            for _ in range(2):  # bob's reply and his own diff, in either order on Redis
                got = bob.receive_json()
                if got[3] == "phx_reply":
                    new_ref = got[4]["response"]
            diff = ada.receive_json()[4]
            old_ref = diff["leaves"]["bob"]["metas"][0]["phx_ref"]
            assert diff["joins"]["bob"]["metas"] == [
                {"status": "busy", "phx_ref": new_ref, "phx_ref_prev": old_ref}
            ]
        diff = next_diff(ada)
        assert keys(diff["leaves"]) == ["bob"]
        assert diff["leaves"]["bob"]["metas"][0]["phx_ref"] == new_ref


def test_a_leave_untracks_and_the_leaver_gets_nothing_more(served: Served) -> None:
    with served.connect("ada") as ada, served.connect("bob") as bob:
        join(ada)
        join(bob)
        next_diff(ada)
        bob.send_text(json.dumps({"topic": T, "event": "leave", "ref": "l"}))
        assert bob.receive_json()["event"] == "reply"
        diff = next_diff(ada)
        assert (keys(diff["joins"]), keys(diff["leaves"])) == ([], ["bob"])
        assert keys(served.call(served.hub.presence.list, T)) == ["ada"]
        served.settle(ada)
        bob.send_text(json.dumps({"topic": "plain:1", "event": "join", "ref": "p"}))
        assert bob.receive_json()["event"] == "reply"  # and no diff came before it


def test_two_tabs_are_two_metas_of_one_key(served: Served) -> None:
    with served.connect("watcher") as watcher:
        join(watcher, payload={"watch": True})
        with served.connect("ada") as tab1:
            join(tab1)
            next_diff(watcher)
            with served.connect("ada") as tab2:
                state = join(tab2)
                assert len(state["ada"]["metas"]) == 2
                next_diff(watcher)
            diff = next_diff(watcher)
            assert len(diff["leaves"]["ada"]["metas"]) == 1
            assert len(served.call(served.hub.presence.list, T)["ada"]["metas"]) == 1


def test_a_refused_join_leaves_no_presence(served: Served) -> None:
    with served.connect("watcher") as watcher, served.connect("ada") as ada:
        join(watcher, payload={"watch": True})
        reply = join(ada, payload={"refuse": True})
        assert reply["payload"]["status"] == "error"
        assert keys(next_diff(watcher)["joins"]) == ["ada"]
        assert keys(next_diff(watcher)["leaves"]) == ["ada"]
        assert served.call(served.hub.presence.list, T) == {}


def test_a_crashed_phoenix_channel_untracks(served: Served) -> None:
    with served.connect("watcher") as watcher, served.connect("ada", phoenix=True) as ada:
        join(watcher, payload={"watch": True})
        ada.send_text(json.dumps(["1", "1", T, "phx_join", {}]))
        ada.receive_json()
        ada.receive_json()
        next_diff(watcher)
        ada.send_text(json.dumps(["1", "2", T, "boom", {}]))
        assert ada.receive_json()[3] == "phx_error"
        assert keys(next_diff(watcher)["leaves"]) == ["ada"]
        assert served.call(served.hub.presence.list, T) == {}


def test_server_code_tracks_and_lists(served: Served) -> None:
    with served.connect("ada") as ada:
        join(ada)
        ref = served.call(served.hub.presence.track, T, "bot", {"kind": "bot"})
        assert next_diff(ada)["joins"] == {"bot": {"metas": [{"kind": "bot", "phx_ref": ref}]}}
        members = served.call(served.hub.presence.members, T)
        owners = {m.key: (m.owner, m.identity) for m in members}
        assert owners["bot"] == (served.hub.presence.server_owner, None)
        assert owners["ada"][1] == "user:ada"
        served.call(served.hub.presence.untrack, T, "bot")
        assert keys(next_diff(ada)["leaves"]) == ["bot"]


def test_a_channel_without_presence_sends_no_presence_frame(served: Served) -> None:
    with served.connect("ada") as ada:
        ada.send_text(json.dumps({"topic": "plain:1", "event": "join", "ref": "p"}))
        assert ada.receive_json()["event"] == "reply"
        served.settle(ada, topic="plain:1")


@pytest.mark.parametrize("ending", ENDINGS, ids=lambda f: f.__name__)
def test_presences_go_however_the_connection_ends(
    ending: Ending, kind: str, prefix: str, request: pytest.FixtureRequest
) -> None:
    server = request.getfixturevalue("shared_redis") if kind == "redis" else None
    with serve(kind, prefix, server, error_policy="close") as served:
        with served.connect("watcher") as watcher:
            join(watcher, payload={"watch": True})
            with served.connect("ada") as ada:
                ada.send_text(json.dumps({"topic": T, "event": "join"}))
                ada.send_text(json.dumps({"topic": "room:2", "event": "join"}))
                for topic in (T, "room:2"):  # no ref: no reply, the state only
                    assert ada.receive_json()["event"] == "presence_state"
                assert keys(next_diff(watcher)["joins"]) == ["ada"]
                ending(served.blocked, ada)
            assert keys(next_diff(watcher)["leaves"]) == ["ada"]
            assert served.call(served.hub.presence.list, T) == {}
            assert served.call(served.hub.presence.list, "room:2") == {}
            assert served.hub.presence.local_entries() == []


def test_a_change_during_the_state_read_comes_after_the_state() -> None:
    """The joiner subscribes before its state is read, so a change made meanwhile is not
    lost; it is held until the state is sent, so a client that replaces its list on
    presence_state does not lose it either."""
    from starlette.testclient import TestClient

    from sockethub.presence import InMemoryPresence, PresenceEntry

    from .app import PATH, build

    class ChangingWhileRead(InMemoryPresence):
        """A real store; its first read of the topic races with a track by server code."""

        hub: Any = None
        raced = False

        async def entries(self, topic: str) -> list[PresenceEntry]:
            found = await super().entries(topic)
            if not self.raced:
                self.raced = True
                await self.hub.presence.track(topic, "late")
            return found

    store = ChangingWhileRead()
    hub, app = build(presence=store)
    store.hub = hub
    with TestClient(app) as client, client.websocket_connect(f"{PATH}?user=ada") as ada:
        ada.send_text(json.dumps({"topic": T, "event": "join", "ref": "j"}))
        assert ada.receive_json()["event"] == "reply"
        state = ada.receive_json()
        assert (state["event"], keys(state["payload"])) == ("presence_state", ["ada"])
        assert keys(next_diff(ada)["joins"]) == ["late"]


def test_a_track_made_in_on_exit_goes_with_the_connection() -> None:
    from starlette.testclient import TestClient

    from sockethub import ISocket, SocketHub
    from tests.hub.helpers import app_for

    hub = SocketHub("/ws")
    room = hub.channel("room:{id}", presence=True)

    @room.on_exit
    async def exit_tracks(sock: ISocket) -> None:
        await sock.track("ghost-candidate", {})

    with TestClient(app_for(hub)) as client:
        with client.websocket_connect("/ws") as ws:
            ws.send_text(json.dumps({"topic": T, "event": "join"}))
            assert ws.receive_json()["event"] == "presence_state"
        assert client.portal.call(hub.presence.list, T) == {}
        assert hub.presence.local_entries() == []
