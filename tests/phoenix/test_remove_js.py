"""Removal and disconnect by connection id across two real uvicorn processes on one
redis-server, with phoenix.js and envelope clients.

The flow a server runs: list a topic's members (``hub.presence.members``), pick entries,
``hub.remove(topic, connection_id=entry.owner)`` / ``hub.disconnect(connection_id=...)``,
issued on one process for connections of the other.  The removed phoenix.js channel gets
``phx_close`` and its socket stays open; the envelope client gets the documented frame;
a sibling connection of the same identity, on the same process, and the other members
are undisturbed; an unknown id, and the id of a connection that already left the topic
or ended, change nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from tests.redis_server import RedisServer, require_redis_server

from .conftest import NodeClient
from .test_presence_js import TOPIC, http, synced, two_processes

PLAIN = "plain:e"
CLOSE = {"topic": TOPIC, "event": "phx_close", "payload": {}}


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with RedisServer(require_redis_server()) as server:
        yield server


def post(port: int, path: str) -> Any:
    return http(port, path, "POST")


def envelope(port: int, user: str) -> ClientConnection:
    return ws_connect(f"ws://127.0.0.1:{port}/socket/websocket?user={user}")


def env_join(ws: ClientConnection, topic: str, payload: Any = None) -> Any:
    """Join; return the presence state that follows the reply (None on ``PLAIN``)."""
    ws.send(json.dumps({"topic": topic, "event": "join", "payload": payload, "ref": "j"}))
    reply = until(ws, lambda f: f.get("event") == "reply")
    assert reply["payload"]["status"] == "ok", reply
    if topic == PLAIN:
        return None
    state = json.loads(ws.recv(10))
    assert state["event"] == "presence_state", state
    return state["payload"]


def until(ws: ClientConnection, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first frame ``wanted`` accepts, skipping presence diffs (and only them)."""
    while True:
        frame: dict[str, Any] = json.loads(ws.recv(10))
        if wanted(frame):
            return frame
        assert frame.get("event") == "presence_diff", frame


def owners(port: int, key: str) -> dict[str, str]:
    """``{status: owner connection id}`` of ``key``'s entries, as server code lists them."""
    return {
        e["meta"]["status"]: e["owner"] for e in http(port, f"/members/{TOPIC}") if e["key"] == key
    }


def test_a_member_found_in_the_list_is_removed_wherever_it_is(
    phoenix_js: NodeClient, redis: RedisServer
) -> None:
    with two_processes(redis) as [(p1, _), (p2, _)]:
        node2 = http(p2, "/pid")["node"].rsplit("-", 1)[0]
        # On p2: bob on phoenix.js (no quick reconnect, so a close would show), bob's
        # second tab on the envelope, eve on the envelope.  On p1: ada (phoenix.js), zed.
        phoenix_js.send(
            "socket",
            sock="b",
            url=f"ws://127.0.0.1:{p2}/socket",
            params={"user": "bob"},
            retryMs=60000,
        )
        phoenix_js.send(
            "socket", sock="a", url=f"ws://127.0.0.1:{p1}/socket", params={"user": "ada"}
        )
        for sock in ("a", "b"):
            phoenix_js.wait(ev="open", sock=sock)
            phoenix_js.send("join", sock=sock, topic=TOPIC, presence=True)
            phoenix_js.wait(ev="join", sock=sock, status="ok")
        with (
            envelope(p2, "bob") as tab,
            envelope(p2, "eve") as eve,
            envelope(p1, "zed") as zed,
        ):
            env_join(tab, TOPIC, {"status": "tab"})
            env_join(eve, TOPIC)
            env_join(eve, PLAIN)
            env_join(zed, TOPIC)
            everyone = {"ada": ["online"], "bob": ["online", "tab"], "eve": ["online"]}
            everyone["zed"] = ["online"]
            synced(phoenix_js, ["a", "b"], everyone)

            bob = owners(p1, "bob")
            assert set(bob) == {"online", "tab"}
            assert {o.split(".")[0] for o in bob.values()} == {node2}  # ids name p2

            # Issued on p1, for the phoenix.js connection of bob on p2 only.
            assert post(p1, f"/kick/{TOPIC}/bob?status=online") == {"removed": [bob["online"]]}
            phoenix_js.wait(ev="chan_close", sock="b", topic=TOPIC)
            rest = {"ada": ["online"], "bob": ["tab"], "eve": ["online"], "zed": ["online"]}
            synced(phoenix_js, ["a"], rest)
            for ws in (tab, zed):  # a leave of bob's first tab, nothing else
                diff = until(ws, lambda f: f["event"] == "presence_diff" and f["payload"]["leaves"])
                assert list(diff["payload"]["leaves"]) == ["bob"]

            # The envelope client gets the documented frame, and nothing for a second
            # removal (it left), an unknown id on p2, an unknown node, a non-id, or a
            # disconnect of an unknown id: the next frame on eve's connection is the
            # close of the topic removed after them (commands to one process keep their
            # order).
            (eve_id,) = owners(p1, "eve").values()
            assert post(p1, f"/kick/{TOPIC}/eve") == {"removed": [eve_id]}
            assert until(eve, lambda f: f["event"] == "phx_close") == CLOSE
            for unknown in (eve_id, f"{node2}.999999", "ffffffffffff.1", "no-such-id"):
                assert post(p1, f"/remove-connection/{TOPIC}/{unknown}") == {"ok": True}
            assert post(p1, f"/disconnect-connection/{node2}.999999") == {"ok": True}
            assert post(p1, f"/remove-connection/{PLAIN}/{eve_id}") == {"ok": True}
            assert json.loads(eve.recv(10)) == {**CLOSE, "topic": PLAIN}
            synced(phoenix_js, ["a"], {k: v for k, v in rest.items() if k != "eve"})

            # Both stayed connected: eve and bob's phoenix.js socket join again.
            phoenix_js.mark_seen()  # the lists to come were seen before
            assert sorted(env_join(eve, TOPIC)) == ["ada", "bob", "eve", "zed"]
            phoenix_js.send("join", sock="b", topic=TOPIC, presence=True)
            phoenix_js.wait(ev="join", sock="b", status="ok")
            synced(phoenix_js, ["a", "b"], {**rest, "bob": ["online", "tab"]})

            # Disconnect by connection id: bob's envelope tab only, not his other socket.
            tab_id = owners(p1, "bob")["tab"]
            phoenix_js.mark_seen()
            assert post(p1, f"/disconnect-connection/{tab_id}") == {"ok": True}
            with pytest.raises(Exception) as info:
                while True:
                    tab.recv(10)
            assert (info.value.rcvd.code, info.value.rcvd.reason) == (1000, "Disconnected")  # type: ignore[attr-defined]
            synced(phoenix_js, ["a", "b"], {**rest, "bob": ["online"]})
            # The ended connection's id: no-ops; then a command after them still lands.
            assert post(p1, f"/disconnect-connection/{tab_id}") == {"ok": True}
            assert post(p1, f"/remove-connection/{TOPIC}/{tab_id}") == {"ok": True}
            b_id = owners(p1, "bob")["online"]
            assert b_id == bob["online"]  # the same connection, joined again
            assert post(p1, f"/kick/{TOPIC}/bob") == {"removed": [b_id]}
            phoenix_js.wait(ev="chan_close", sock="b", topic=TOPIC)
            synced(phoenix_js, ["a"], {k: v for k, v in rest.items() if k != "bob"})

            # The others were never disturbed: zed (p1) and eve (p2) still push.
            for ws in (zed, eve):
                ws.send(json.dumps({"topic": TOPIC, "event": "status", "payload": "away"}))
            synced(phoenix_js, ["a"], {"ada": ["online"], "eve": ["away"], "zed": ["away"]})
            assert not [
                e
                for e in phoenix_js.events
                if e.get("ev") in ("close", "error", "chan_error")
                or (e.get("ev") == "chan_close" and e.get("sock") == "a")
            ]
        deadline = time.monotonic() + 10
        while sorted(http(p1, f"/presence/{TOPIC}")) != ["ada"]:
            assert time.monotonic() < deadline, http(p1, f"/presence/{TOPIC}")
            time.sleep(0.05)
