"""The official phoenix.js client (npm ``phoenix``, pinned) against a SocketHub on uvicorn.

Each test drives ``driver.mjs`` through :class:`~tests.phoenix.conftest.NodeClient` and
asserts on what the client observed, plus what the server callbacks saw.  The hub picks the
Phoenix protocol by itself, from the ``vsn=2.0.0`` phoenix.js puts in the URL.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from tests.phoenix.app import PhoenixApp, build
from tests.phoenix.conftest import NodeClient
from tests.support import free_port, uvicorn_thread

pytestmark = [pytest.mark.e2e, pytest.mark.node]

TOKEN = "s3cret-token"  # btoa() of it has no "/", which a subprotocol may not contain


@pytest.fixture
def server() -> Iterator[tuple[str, PhoenixApp]]:
    papp = build(idle_timeout=0.5)
    with uvicorn_thread(papp.app) as port:
        yield f"ws://127.0.0.1:{port}", papp


def reply(js: NodeClient, tag: str) -> dict[str, Any]:
    return js.wait(ev="reply", tag=tag)


def test_connect_params_and_auth_token_reach_on_connect(
    phoenix_js: NodeClient, server: tuple[str, PhoenixApp]
) -> None:
    url, papp = server
    phoenix_js.send(
        "socket", sock="a", url=f"{url}/socket", params={"user": "ann"}, authToken=TOKEN
    )
    phoenix_js.wait(ev="open", sock="a")
    phoenix_js.send("join", sock="a", topic="room:lobby")
    assert phoenix_js.wait(ev="join", sock="a")["status"] == "ok"
    phoenix_js.send("push", sock="a", topic="room:lobby", event="whoami", payload={}, tag="w")
    answer = reply(phoenix_js, "w")
    assert answer["status"] == "ok"
    assert answer["response"]["data"] == {"user": "ann", "topic": "room:lobby"}
    assert papp.seen.connects == [{"params": {"user": "ann", "vsn": "2.0.0"}, "token": TOKEN}]


def test_connect_refused_by_on_connect(
    phoenix_js: NodeClient, server: tuple[str, PhoenixApp]
) -> None:
    url, papp = server
    phoenix_js.send("socket", sock="m", url=f"{url}/socket", params={"user": "mallory"})
    phoenix_js.wait(ev="error", sock="m")
    assert not [e for e in phoenix_js.events if e["ev"] == "open"]
    assert papp.seen.connects == []


def test_join_refused_and_join_accepted_with_join_params(
    phoenix_js: NodeClient, server: tuple[str, PhoenixApp]
) -> None:
    url, papp = server
    # A refused join is retried by phoenix.js after rejoinAfterMs: make that long here.
    phoenix_js.send("socket", sock="a", url=f"{url}/socket", retryMs=60_000)
    phoenix_js.send("socket", sock="b", url=f"{url}/socket")
    phoenix_js.send("join", sock="a", topic="room:secret", params={"password": "guess"})
    refused = phoenix_js.wait(ev="join", sock="a")
    assert refused["status"] == "error"
    assert refused["response"] == {"reason": "Wrong password"}
    phoenix_js.send("join", sock="b", topic="room:secret", params={"password": "sesame"})
    accepted = phoenix_js.wait(ev="join", sock="b")
    assert accepted["status"] == "ok"
    assert accepted["response"] == {}
    assert [j["payload"] for j in papp.seen.joins] == [
        {"password": "guess"},
        {"password": "sesame"},
    ]


def test_push_receive_ok_with_the_returned_value_and_error_with_reply_error(
    phoenix_js: NodeClient, server: tuple[str, PhoenixApp]
) -> None:
    url, _ = server
    phoenix_js.send("socket", sock="a", url=f"{url}/socket")
    phoenix_js.send("join", sock="a", topic="room:a")
    assert phoenix_js.wait(ev="join")["status"] == "ok"
    phoenix_js.send(
        "push", sock="a", topic="room:a", event="echo", payload={"n": [1, "é"]}, tag="1"
    )
    phoenix_js.send("push", sock="a", topic="room:a", event="fail", payload="x", tag="2")
    phoenix_js.send("push", sock="a", topic="room:a", event="nope", payload=None, tag="3")
    ok = reply(phoenix_js, "1")
    assert (ok["status"], ok["response"]["data"]) == ("ok", {"n": [1, "é"]})
    error = reply(phoenix_js, "2")
    assert (error["status"], error["response"]["data"]) == (
        "error",
        {"reason": "Not allowed", "asked": "x"},
    )
    unknown = reply(phoenix_js, "3")
    assert (unknown["status"], unknown["response"]["data"]) == (
        "error",
        {"reason": "Event not found", "code": 4404},
    )


def test_binary_push_and_reply(phoenix_js: NodeClient, server: tuple[str, PhoenixApp]) -> None:
    url, _ = server
    data = base64.b64encode(bytes(range(256))).decode()
    phoenix_js.send("socket", sock="a", url=f"{url}/socket")
    phoenix_js.send("join", sock="a", topic="room:bin")
    assert phoenix_js.wait(ev="join")["status"] == "ok"
    phoenix_js.send(
        "push", sock="a", topic="room:bin", event="echo", payload=data, binary=True, tag="b"
    )
    answer = reply(phoenix_js, "b")
    assert answer["status"] == "ok"
    assert answer["response"] == {"binary": True, "data": data}


def test_broadcast_from_another_client_and_exclude_self(
    phoenix_js: NodeClient, server: tuple[str, PhoenixApp]
) -> None:
    url, _ = server
    for name in ("a", "b"):
        phoenix_js.send("socket", sock=name, url=f"{url}/socket")
        phoenix_js.send("join", sock=name, topic="room:r", events=["shouted"])
        assert phoenix_js.wait(ev="join", sock=name)["status"] == "ok"
    phoenix_js.send("push", sock="a", topic="room:r", event="shout", payload="to-all", tag="1")
    for name in ("b", "a"):  # exclude_self=False: the sender gets it too
        got = phoenix_js.wait(ev="message", sock=name)
        assert (got["event"], got["payload"]["data"]) == ("shouted", "to-all")
    reply(phoenix_js, "1")

    phoenix_js.send(
        "push", sock="a", topic="room:r", event="shout_others", payload="not-a", tag="2"
    )
    got = phoenix_js.wait(ev="message", sock="b")
    assert got["payload"]["data"] == "not-a"
    done = reply(phoenix_js, "2")
    # Had the hub sent it to "a", it would have been queued before the reply to "a".
    before = phoenix_js.events[: next(i for i, e in enumerate(phoenix_js.events) if e is done)]
    assert [e for e in before if e.get("sock") == "a" and e["ev"] == "message"] == [
        {
            "ev": "message",
            "sock": "a",
            "topic": "room:r",
            "event": "shouted",
            "payload": {"binary": False, "data": "to-all"},
        }
    ]


def test_leave(phoenix_js: NodeClient, server: tuple[str, PhoenixApp]) -> None:
    url, papp = server
    phoenix_js.send("socket", sock="a", url=f"{url}/socket")
    phoenix_js.send("join", sock="a", topic="room:bye")
    assert phoenix_js.wait(ev="join")["status"] == "ok"
    phoenix_js.send("leave", sock="a", topic="room:bye", tag="l")
    assert phoenix_js.wait(ev="left", tag="l")["status"] == "ok"
    phoenix_js.wait(ev="chan_close", topic="room:bye")
    phoenix_js.send("disconnect", sock="a")
    phoenix_js.wait(ev="disconnected", sock="a")
    assert papp.seen.exits == ["room:bye"]


def test_crashing_callback_makes_the_client_rejoin(
    phoenix_js: NodeClient, server: tuple[str, PhoenixApp]
) -> None:
    url, papp = server
    phoenix_js.send("socket", sock="a", url=f"{url}/socket")
    phoenix_js.send("join", sock="a", topic="room:c")
    assert phoenix_js.wait(ev="join")["status"] == "ok"
    phoenix_js.send("push", sock="a", topic="room:c", event="crash", payload=None, tag="x")
    phoenix_js.wait(ev="chan_error", topic="room:c")
    assert phoenix_js.wait(ev="join")["status"] == "ok"  # rejoined by phoenix.js itself
    phoenix_js.send("push", sock="a", topic="room:c", event="echo", payload=2, tag="e")
    assert reply(phoenix_js, "e")["response"]["data"] == 2
    assert papp.seen.exits == ["room:c"]  # the rejoin replaced the first join


def test_heartbeats_keep_the_connection_and_silence_closes_it(
    phoenix_js: NodeClient, server: tuple[str, PhoenixApp]
) -> None:
    url, papp = server  # /idle closes connections silent for 0.5 s
    phoenix_js.send("socket", sock="hb", url=f"{url}/idle", heartbeatIntervalMs=100)
    phoenix_js.send("join", sock="hb", topic="room:hb")
    for _ in range(12):  # > 2 idle timeouts
        assert phoenix_js.wait(ev="heartbeat", sock="hb")["status"] == "ok"
    assert [e for e in phoenix_js.events if e["ev"] == "close" and e.get("sock") == "hb"] == []
    assert papp.idle_hub.stats.total_connections == 1

    phoenix_js.send("socket", sock="quiet", url=f"{url}/idle", heartbeatIntervalMs=600_000)
    closed = phoenix_js.wait(ev="close", sock="quiet")
    assert (closed["code"], closed["reason"]) == (1000, "Idle timeout")
    assert [e for e in phoenix_js.events if e["ev"] == "close" and e.get("sock") == "hb"] == []


def test_server_restart_client_rejoins_by_itself(phoenix_js: NodeClient) -> None:
    port = free_port()
    url = f"ws://127.0.0.1:{port}/socket"
    first = build()
    with uvicorn_thread(first.app, port=port):
        phoenix_js.send("socket", sock="a", url=url, params={"user": "ann"})
        phoenix_js.send("join", sock="a", topic="room:r", params={"k": 1}, events=["shouted"])
        assert phoenix_js.wait(ev="join", sock="a")["status"] == "ok"
    phoenix_js.wait(ev="close", sock="a")  # uvicorn closed it on shutdown

    second = build()
    with uvicorn_thread(second.app, port=port):
        phoenix_js.wait(ev="open", sock="a")
        assert phoenix_js.wait(ev="join", sock="a")["status"] == "ok"
        assert second.seen.joins == [{"topic": "room:r", "payload": {"k": 1}}]
        assert second.seen.connects[0]["params"]["user"] == "ann"

        phoenix_js.send("socket", sock="b", url=url)
        phoenix_js.send("join", sock="b", topic="room:r")
        assert phoenix_js.wait(ev="join", sock="b")["status"] == "ok"
        phoenix_js.send("push", sock="b", topic="room:r", event="shout", payload="back", tag="s")
        got = phoenix_js.wait(ev="message", sock="a")
        assert (got["event"], got["payload"]["data"]) == ("shouted", "back")


def test_the_crashed_channel_is_gone_before_the_rejoin(
    phoenix_js: NodeClient, server: tuple[str, PhoenixApp]
) -> None:
    url, papp = server
    phoenix_js.send("socket", sock="a", url=f"{url}/socket", retryMs=300)
    phoenix_js.send("socket", sock="b", url=f"{url}/socket")
    phoenix_js.send("join", sock="a", topic="room:k", events=["shouted"])
    phoenix_js.send("join", sock="b", topic="room:k")
    assert phoenix_js.wait(ev="join", sock="a")["status"] == "ok"
    assert phoenix_js.wait(ev="join", sock="b")["status"] == "ok"
    phoenix_js.send("push", sock="a", topic="room:k", event="crash", payload=None, tag="x")
    phoenix_js.wait(ev="chan_error", sock="a", topic="room:k")
    # Between the crash and the rejoin (300 ms later) the crashed channel is unsubscribed.
    assert papp.hub.bus.subscriber_count("room:k") == 1  # type: ignore[attr-defined]
    phoenix_js.send("push", sock="b", topic="room:k", event="shout", payload=1, tag="s")
    assert phoenix_js.wait(ev="join", sock="a")["status"] == "ok"  # the rejoin: fresh
    phoenix_js.send("push", sock="b", topic="room:k", event="shout", payload=2, tag="t")
    got = phoenix_js.wait(ev="message", sock="a", topic="room:k")
    assert got["payload"]["data"] == 2  # 1 was shouted while the channel was gone
    assert papp.seen.order.count("exit:room:k") == 1
    assert papp.seen.order.index("exit:room:k") < len(papp.seen.order) - 1
    assert papp.seen.order[-1] == "join:room:k"  # on_exit ran before the rejoin


def test_heartbeats_are_answered_while_a_callback_runs(
    phoenix_js: NodeClient, server: tuple[str, PhoenixApp]
) -> None:
    url, papp = server
    phoenix_js.send("socket", sock="hb", url=f"{url}/socket", heartbeatIntervalMs=300)
    phoenix_js.send("join", sock="hb", topic="room:slow")
    assert phoenix_js.wait(ev="join", sock="hb")["status"] == "ok"
    phoenix_js.send("push", sock="hb", topic="room:slow", event="slow", payload=2, tag="s")
    assert reply(phoenix_js, "s")["response"]["data"] == "done"
    during = [e for e in phoenix_js.events if e["ev"] == "heartbeat"]
    assert len(during) >= 4  # 2 s of 300 ms heartbeats, every one answered "ok"
    assert {e["status"] for e in during} == {"ok"}
    bad = {"close", "error", "chan_error"}
    assert [e for e in phoenix_js.events if e["ev"] in bad] == []
    assert papp.hub.stats.total_connections == 1  # never reconnected


def test_the_join_reply_is_on_joins_return_value(
    phoenix_js: NodeClient, server: tuple[str, PhoenixApp]
) -> None:
    url, _ = server
    phoenix_js.send("socket", sock="a", url=f"{url}/socket")
    phoenix_js.send("join", sock="a", topic="room:greet")
    joined = phoenix_js.wait(ev="join", sock="a")
    assert (joined["status"], joined["response"]) == ("ok", {"welcome": "room:greet"})
    phoenix_js.send("join", sock="a", topic="room:plain")
    assert phoenix_js.wait(ev="join", sock="a", topic="room:plain")["response"] == {}


def test_a_task_of_a_join_publishes_on_its_own_topic_after_other_joins(
    phoenix_js: NodeClient, server: tuple[str, PhoenixApp]
) -> None:
    url, _ = server
    phoenix_js.send("socket", sock="a", url=f"{url}/socket")
    phoenix_js.send("join", sock="a", topic="room:task1", events=["late"])
    assert phoenix_js.wait(ev="join", sock="a", topic="room:task1")["status"] == "ok"
    phoenix_js.send("join", sock="a", topic="room:other", events=["late"])
    assert phoenix_js.wait(ev="join", sock="a", topic="room:other")["status"] == "ok"
    phoenix_js.send("push", sock="a", topic="room:other", event="go", payload=None, tag="g")
    late = phoenix_js.wait(ev="message", event="late")
    assert (late["topic"], late["payload"]["data"]) == ("room:task1", {"from": "room:task1"})


def test_a_slow_callback_on_one_channel_does_not_delay_another(
    phoenix_js: NodeClient, server: tuple[str, PhoenixApp]
) -> None:
    url, _ = server
    phoenix_js.send("socket", sock="a", url=f"{url}/socket")
    for topic in ("room:A", "room:B"):
        phoenix_js.send("join", sock="a", topic=topic)
        assert phoenix_js.wait(ev="join", sock="a", topic=topic)["status"] == "ok"
    phoenix_js.send("push", sock="a", topic="room:A", event="slow", payload=1.5, tag="A")
    phoenix_js.send("push", sock="a", topic="room:B", event="echo", payload="b", tag="B")
    assert reply(phoenix_js, "A")["response"]["data"] == "done"
    order = [e["tag"] for e in phoenix_js.events if e["ev"] == "reply"]
    assert order == ["B", "A"]  # B's reply did not wait for A's 1.5 s callback
