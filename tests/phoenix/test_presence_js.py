"""phoenix.js's ``Presence`` against two real uvicorn processes on one redis-server.

Clients on both processes; after joins, a metadata update, a leave and the SIGKILL of
one process, every client's ``onSync`` list is the same (the killed process's users gone
within the store's bound).  Server-side control across the processes: a disconnect by
identity and a removal from a topic, issued on one process, reach phoenix.js and an
envelope client on the other.
"""

from __future__ import annotations

import contextlib
import json
import signal
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.sync.client import connect as ws_connect

from tests.redis_server import RedisServer, require_redis_server
from tests.support import uvicorn_process

from .conftest import NodeClient

HEARTBEAT = 0.2
DEAD_AFTER = 1.0
TOPIC = "room:lobby"


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with RedisServer(require_redis_server()) as server:
        yield server


@contextlib.contextmanager
def two_processes(redis: RedisServer) -> Iterator[list[tuple[int, Any]]]:
    env = {
        "SOCKETHUB_REDIS": redis.url,
        "SOCKETHUB_PREFIX": f"pjs-{uuid.uuid4().hex[:8]}:",
        "PRESENCE_HEARTBEAT": str(HEARTBEAT),
        "PRESENCE_DEAD_AFTER": str(DEAD_AFTER),
    }
    app = "tests.presence.app:redis_app"
    with (
        uvicorn_process(app, env=env, args=["--factory"]) as one,
        uvicorn_process(app, env=env, args=["--factory"]) as two,
    ):
        yield [one, two]


def http(port: int, path: str, method: str = "GET") -> Any:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def summary(listing: list[dict[str, Any]]) -> dict[str, list[str]]:
    """``{key: sorted statuses}`` of one onSync list."""
    return {p["key"]: sorted(m["status"] for m in p["metas"]) for p in listing}


def synced(client: NodeClient, socks: list[str], expected: dict[str, list[str]]) -> None:
    """Wait until each socket's latest onSync list is ``expected``."""
    for sock in socks:
        client.wait(
            lambda e, s=sock: e.get("sock") == s and summary(e["list"]) == expected, ev="sync"
        )


def test_onsync_lists_agree_across_two_processes(
    phoenix_js: NodeClient, redis: RedisServer
) -> None:
    with two_processes(redis) as [(p1, _), (p2, proc2)]:
        assert http(p1, "/pid")["pid"] != http(p2, "/pid")["pid"]
        placement = {"a": (p1, "ada"), "b": (p2, "bob"), "c": (p2, "cid")}
        for sock, (port, user) in placement.items():
            phoenix_js.send(
                "socket", sock=sock, url=f"ws://127.0.0.1:{port}/socket", params={"user": user}
            )
            phoenix_js.wait(ev="open", sock=sock)
            phoenix_js.send("join", sock=sock, topic=TOPIC, presence=True)
            phoenix_js.wait(ev="join", sock=sock, status="ok")
        everyone = list(placement)
        synced(phoenix_js, everyone, {"ada": ["online"], "bob": ["online"], "cid": ["online"]})

        phoenix_js.send("push", sock="b", topic=TOPIC, event="status", payload="busy", tag="s")
        assert phoenix_js.wait(ev="reply", tag="s")["status"] == "ok"
        synced(phoenix_js, everyone, {"ada": ["online"], "bob": ["busy"], "cid": ["online"]})

        phoenix_js.send("leave", sock="c", topic=TOPIC, tag="l")
        phoenix_js.wait(ev="left", tag="l")
        synced(phoenix_js, ["a", "b"], {"ada": ["online"], "bob": ["busy"]})

        # A second tab of ada, on the process that will die: two metas for one key.
        phoenix_js.send(
            "socket", sock="a2", url=f"ws://127.0.0.1:{p2}/socket", params={"user": "ada"}
        )
        phoenix_js.send("join", sock="a2", topic=TOPIC, presence=True, params={"status": "tab"})
        phoenix_js.wait(ev="join", sock="a2", status="ok")
        synced(phoenix_js, ["a", "b", "a2"], {"ada": ["online", "tab"], "bob": ["busy"]})

        phoenix_js.mark_seen()  # a's first list was {"ada"} too
        proc2.send_signal(signal.SIGKILL)
        proc2.wait(10)
        killed = time.monotonic()
        synced(phoenix_js, ["a"], {"ada": ["online"]})
        took = time.monotonic() - killed
        assert summary(
            [{"key": k, "metas": v["metas"]} for k, v in http(p1, f"/presence/{TOPIC}").items()]
        ) == {"ada": ["online"]}
        print(
            f"\nthe killed process's users left within {took:.2f}s (bound {HEARTBEAT + DEAD_AFTER}s)"
        )
        assert took < HEARTBEAT + DEAD_AFTER + 10  # a deadlock guard, not a speed claim


def test_disconnect_and_remove_reach_the_other_process(
    phoenix_js: NodeClient, redis: RedisServer
) -> None:
    with two_processes(redis) as [(p1, _), (p2, _)]:
        for sock, user in (("b", "bob"), ("c", "cid")):
            phoenix_js.send(
                "socket",
                sock=sock,
                url=f"ws://127.0.0.1:{p2}/socket",
                params={"user": user},
                retryMs=60000,
            )
            phoenix_js.wait(ev="open", sock=sock)
            phoenix_js.send("join", sock=sock, topic=TOPIC, presence=True)
            phoenix_js.wait(ev="join", sock=sock, status="ok")
        with ws_connect(f"ws://127.0.0.1:{p2}/socket/websocket?user=eve") as eve:
            eve.send(json.dumps({"topic": TOPIC, "event": "join", "ref": "1"}))
            assert json.loads(eve.recv(10))["payload"]["status"] == "ok"
            assert json.loads(eve.recv(10))["event"] == "presence_state"
            synced(phoenix_js, ["b"], {"bob": ["online"], "cid": ["online"], "eve": ["online"]})

            http(p1, f"/remove/{TOPIC}/user:cid", "POST")  # issued on the other process
            phoenix_js.wait(ev="chan_close", sock="c", topic=TOPIC)
            synced(phoenix_js, ["b"], {"bob": ["online"], "eve": ["online"]})

            http(p1, "/disconnect/user:bob", "POST")
            closed = phoenix_js.wait(ev="close", sock="b")
            assert closed["code"] == 1000
            http(p1, "/disconnect/user:eve", "POST")
            with pytest.raises(Exception) as info:
                while True:
                    eve.recv(10)
            assert getattr(info.value, "rcvd", None) is not None
            assert (info.value.rcvd.code, info.value.rcvd.reason) == (1000, "Disconnected")  # type: ignore[attr-defined]
        deadline = time.monotonic() + 10
        while http(p1, f"/presence/{TOPIC}") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert http(p1, f"/presence/{TOPIC}") == {}
