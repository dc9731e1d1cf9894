"""Server-side control over TestClient, on both buses and both protocols: every
connection of an identity disconnected, a connection removed from a topic.  (Across two
real processes: ``tests/phoenix/test_presence_js.py``.)"""

from __future__ import annotations

import json

import pytest
from starlette.websockets import WebSocketDisconnect

from .hubs import Served, join, keys, next_diff

T = "room:1"


def test_every_connection_has_an_id_and_identity(served: Served) -> None:
    with served.connect("ada") as one, served.connect("ada") as two, served.connect() as anon:
        for ws in (one, two, anon):
            join(ws, payload={"watch": True})
        sessions = list(served.hub.control.sessions.values())
        ids = {s.sock.connection_id for s in sessions}
        assert len(ids) == 3
        assert sorted(str(s.sock.identity) for s in sessions) == ["None", "user:ada", "user:ada"]


@pytest.mark.parametrize("phoenix", [False, True], ids=["envelope", "phoenix"])
def test_disconnect_closes_every_connection_of_the_identity(served: Served, phoenix: bool) -> None:
    with served.connect("watcher") as watcher:
        join(watcher, payload={"watch": True})
        with (
            served.connect("ada", phoenix=phoenix) as tab1,
            served.connect("ada", phoenix=phoenix) as tab2,
            served.connect("bob") as bob,
        ):
            for ws in (tab1, tab2):
                if phoenix:
                    ws.send_text(json.dumps(["1", "1", T, "phx_join", {}]))
                    ws.receive_json()
                    ws.receive_json()
                else:
                    join(ws)
            join(bob)
            for _ in range(3):
                next_diff(watcher)
            served.call(served.hub.disconnect, "user:ada")
            for ws in (tab1, tab2):
                with pytest.raises(WebSocketDisconnect) as info:
                    while True:
                        ws.receive_json()  # a diff may come first
                assert (info.value.code, info.value.reason) == (1000, "Disconnected")
            for ws in (watcher, bob):
                gone = [next_diff(ws), next_diff(ws)]
                assert [keys(d["leaves"]) for d in gone] == [["ada"], ["ada"]]
            assert keys(served.call(served.hub.presence.list, T)) == ["bob"]
            served.settle(bob, watcher)  # bob untouched, still joined and reached


@pytest.mark.parametrize("phoenix", [False, True], ids=["envelope", "phoenix"])
def test_remove_makes_a_connection_leave_a_topic_and_stay_connected(
    served: Served, phoenix: bool
) -> None:
    with served.connect("watcher") as watcher, served.connect("ada", phoenix=phoenix) as ada:
        join(watcher, payload={"watch": True})
        if phoenix:
            ada.send_text(json.dumps(["3", "3", T, "phx_join", {}]))
            ada.receive_json()
            ada.receive_json()
        else:
            join(ada)
        next_diff(watcher)
        served.call(served.hub.remove, T, identity="user:ada")
        frame = ada.receive_json()
        if phoenix:
            assert frame == ["3", "3", T, "phx_close", {}]  # as Phoenix for a channel stop
        else:
            assert frame == {"topic": T, "event": "phx_close", "payload": {}}
        assert keys(next_diff(watcher)["leaves"]) == ["ada"]
        assert served.call(served.hub.presence.list, T) == {}
        # Still connected, no longer joined: a push to the topic is refused.
        if phoenix:
            ada.send_text(json.dumps(["3", "4", T, "status", "x"]))
            assert ada.receive_json()[4]["response"]["code"] == 4404
        else:
            ada.send_text(json.dumps({"topic": T, "event": "status", "payload": "x"}))
            assert ada.receive_json() == {"code": 4404, "reason": "Topic not found"}


def test_remove_by_connection_id_reaches_that_connection_only(served: Served) -> None:
    with served.connect("ada") as first:
        join(first)
        target = next(iter(served.hub.control.sessions.values())).sock.connection_id
        with served.connect("ada") as second:
            join(second)
            next_diff(first)
            served.call(served.hub.remove, T, connection_id=target)
            assert first.receive_json() == {"topic": T, "event": "phx_close", "payload": {}}
            assert len(next_diff(second)["leaves"]["ada"]["metas"]) == 1
            served.settle(second)
            assert len(served.call(served.hub.presence.list, T)["ada"]["metas"]) == 1
    with pytest.raises(TypeError):
        served.call(served.hub.remove, T)
