"""Control by connection id over TestClient, on both stores (the in-memory bus and a
real redis-server): the flow ``hub.presence.members(topic)`` then
``hub.remove(topic, connection_id=entry.owner)`` / ``hub.disconnect(connection_id=...)``;
ids no live connection has are no-ops; a command for another process goes to that
process's node topic only.  (Across two real processes and phoenix.js:
``tests/phoenix/test_remove_js.py``.)"""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.websockets import WebSocketDisconnect

from sockethub import SocketHub
from sockethub.bus import InMemorySocketBus
from sockethub.control import node_topic
from sockethub.ids import node_id, node_of
from sockethub.testing import HubClient, TestSocket
from tests.bus.support import Recorder, eventually
from tests.redis_server import RedisServer

from .hubs import Served, join, keys, next_diff, serve

T = "room:1"
PLAIN = "plain:1"


def owner(served: Served, status: str, topic: str = T) -> str:
    """The connection id of the member whose meta has ``status``, from the member list."""
    (found,) = [
        e.owner
        for e in served.call(served.hub.presence.members, topic)
        if e.meta.get("status") == status
    ]
    return str(found)


def join_phoenix(ws: TestSocket, ref: str, payload: Any) -> None:
    ws.send_text(json.dumps([ref, ref, T, "phx_join", payload]))
    assert ws.receive_json()[3] == "phx_reply"
    assert ws.receive_json()[3] == "presence_state"


def join_plain(ws: TestSocket) -> None:
    ws.send_text(json.dumps({"topic": PLAIN, "event": "join", "payload": None, "ref": "p"}))
    assert ws.receive_json()["payload"]["status"] == "ok"


def listen(served: Served, topic: str) -> Recorder:
    recorder = Recorder()
    served.call(served.hub.bus.subscribe, topic, recorder)
    return recorder


def wait_for(served: Served, predicate: Any) -> None:
    served.call(eventually, predicate, what="the command on the node topic")


@pytest.mark.parametrize("phoenix", [False, True], ids=["envelope", "phoenix"])
def test_disconnect_by_connection_id_closes_that_connection_only(
    served: Served, phoenix: bool
) -> None:
    with (
        served.connect("watcher") as watcher,
        served.connect("ada", phoenix=phoenix) as tab1,
        served.connect("ada") as tab2,
    ):
        join(watcher, payload={"watch": True})
        if phoenix:
            join_phoenix(tab1, "1", {"status": "one"})
        else:
            join(tab1, payload={"status": "one"})
        join(tab2, payload={"status": "two"})
        next_diff(watcher)
        next_diff(watcher)
        next_diff(tab1)
        served.call(served.hub.disconnect, connection_id=owner(served, "one"))
        with pytest.raises(WebSocketDisconnect) as info:
            while True:
                tab1.receive_json()
        assert (info.value.code, info.value.reason) == (1000, "Disconnected")
        for ws in (watcher, tab2):
            diff = next_diff(ws)
            assert diff["leaves"]["ada"]["metas"][0]["status"] == "one"
            assert diff["joins"] == {}
        served.settle(watcher, tab2)  # the same identity's other connection stays
        metas = served.call(served.hub.presence.list, T)["ada"]["metas"]
        assert [m["status"] for m in metas] == ["two"]


def test_ids_no_live_connection_has_are_no_ops(served: Served) -> None:
    redis = not isinstance(served.hub.bus, InMemorySocketBus)
    own = listen(served, node_topic(node_id()))
    with served.connect("ada") as ada, served.connect("bob") as bob:
        join(ada, payload={"status": "ada"})
        join_plain(ada)
        join(bob, payload={"status": "bob"})
        next_diff(ada)
        ada_id = owner(served, "ada")
        served.call(served.hub.remove, T, connection_id=ada_id)
        assert ada.receive_json() == {"topic": T, "event": "phx_close", "payload": {}}
        next_diff(bob)

        # Ada left T (applied here directly); the others name no connection at all.
        server_owner = served.hub.presence.server_owner
        unknown = [f"{node_id()}.999999", "ffffffffffff.1", "not-an-id", server_owner]
        for connection_id in (ada_id, *unknown):
            served.call(served.hub.remove, T, connection_id=connection_id)
        for connection_id in unknown:
            served.call(served.hub.disconnect, connection_id=connection_id)
        # A command after them, on the same connection: the next frame ada receives.
        served.call(served.hub.remove, PLAIN, connection_id=ada_id)
        assert ada.receive_json() == {"topic": PLAIN, "event": "phx_close", "payload": {}}
        # Only ids of this node were published to its node topic (the others name no
        # process, or one that is not this); none on the in-memory bus.
        mine = [f"{node_id()}.999999"] * 2  # remove, then disconnect
        if redis:
            wait_for(served, lambda: len(own.got) == 2)
        assert [p["connection_id"] for p in own.payloads] == mine * redis
        served.settle(bob)
        assert keys(served.call(served.hub.presence.list, T)) == ["bob"]

        # A connection that ended: its id is a no-op too.
        with served.connect("cid") as cid:
            join(cid, payload={"status": "cid"})
            next_diff(bob)
            cid_id = owner(served, "cid")
        assert keys(next_diff(bob)["leaves"]) == ["cid"]
        wait_for(served, lambda: cid_id not in served.hub.control.sessions)
        served.call(served.hub.remove, T, connection_id=cid_id)
        served.call(served.hub.disconnect, connection_id=cid_id)
        if redis:
            wait_for(served, lambda: len(own.got) == 4)
        served.settle(bob)
        join(ada, payload={"status": "ada"})  # still connected
        next_diff(bob)
        served.settle(ada, bob)


def test_exactly_one_of_identity_or_connection_id(served: Served) -> None:
    for call in (served.hub.remove, served.hub.disconnect):
        args = (T,) if call == served.hub.remove else ()
        with pytest.raises(TypeError, match="exactly one of identity= or connection_id="):
            served.call(call, *args)
        with pytest.raises(TypeError, match="exactly one"):
            served.call(call, *args, identity="user:ada", connection_id="x.1")
        for bad in ("", 42):
            with pytest.raises(TypeError, match="connection_id must be a non-empty str"):
                served.call(call, *args, connection_id=bad)


@pytest.mark.parametrize("kind", ["redis"])
def test_a_command_for_another_process_goes_to_its_node_topic_only(served: Served) -> None:
    other = listen(served, node_topic("ffffffffffff"))
    own = listen(served, node_topic(node_id()))
    with served.connect("ada") as one, served.connect("bob") as two, served.connect() as three:
        for ws in (one, two, three):
            join(ws, payload={"watch": True})
        # One subscription of the node topic for the hub (plus the recorder), whatever
        # the number of connections.
        assert served.hub.bus.topics()[node_topic(node_id())] == 2
        served.call(served.hub.remove, T, connection_id="ffffffffffff.7")
        wait_for(served, lambda: other.got)
        assert other.payloads == [{"op": "remove", "topic": T, "connection_id": "ffffffffffff.7"}]
        served.call(served.hub.disconnect, connection_id=f"{node_id()}.999999")
        wait_for(served, lambda: own.got)
        assert own.payloads == [{"op": "disconnect", "connection_id": f"{node_id()}.999999"}]
        assert len(other.got) == 1
        served.settle(one, two, three)


@pytest.mark.parametrize("kind", ["memory"])
def test_the_in_memory_bus_has_no_node_topic(served: Served) -> None:
    with served.connect("ada") as ada:
        join(ada)
        assert served.hub.bus.topics() == {T: 1, "\x00identity:user:ada": 1}


def test_two_hubs_of_one_process_on_one_redis_reach_each_other(
    shared_redis: RedisServer, prefix: str
) -> None:
    """What two processes do, in one: the command goes through Redis to this process's
    own node topic, where the other hub has the connection."""
    with serve("redis", prefix, shared_redis) as a, serve("redis", prefix, shared_redis) as b:
        with a.connect("ada") as ada, b.connect("bob") as bob:
            join(ada, payload={"status": "ada"})
            join(bob, payload={"status": "bob"})
            next_diff(ada)
            ada_id = owner(b, "ada")  # listed on b, tracked on a
            assert node_of(ada_id) == node_id()
            b.call(b.hub.remove, T, connection_id=ada_id)
            assert ada.receive_json() == {"topic": T, "event": "phx_close", "payload": {}}
            assert keys(next_diff(bob)["leaves"]) == ["ada"]
            a.settle(bob)


def test_two_hubs_on_one_in_memory_bus_reach_each_other() -> None:
    bus = InMemorySocketBus()
    hubs = [SocketHub(path, bus=bus) for path in ("/a", "/b")]
    alone = SocketHub("/c")  # its own bus: not reached from the others
    for hub in (*hubs, alone):
        hub.channel("room:{id}")
    with HubClient(Starlette(routes=[*hubs, alone])) as client:
        with client.connect("/a") as on_a, client.connect("/c") as on_c:
            for ws in (on_a, on_c):
                ws.send_text(json.dumps({"topic": T, "event": "join", "ref": "j"}))
                assert ws.receive_json()["payload"]["status"] == "ok"
            a_id, c_id = (next(iter(h.control.sessions)) for h in (hubs[0], alone))
            client.call(hubs[1].remove, T, connection_id=c_id)
            client.call(hubs[1].remove, T, connection_id=a_id)
            assert on_a.receive_json() == {"topic": T, "event": "phx_close", "payload": {}}
            client.call(alone.publish, T, "still", None)
            assert on_c.receive_json() == {"topic": T, "event": "still", "payload": None}
