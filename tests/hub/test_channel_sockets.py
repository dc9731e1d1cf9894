"""Per-join sockets (ChannelSocket) and the join reply, over the 0.1 envelope.

Each join's callbacks get their own view of the connection, bound to the joined topic for
as long as the join lives; the view stops sending after the leave.  ``on_join``'s return
value is the join reply.  With ``per_join_sockets=False`` (what the 0.1 facade uses) every
callback gets the connection's one socket, as 0.1 did.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sockethub import ChannelSocket, ISocket, SocketHub
from sockethub.testing import HubClient
from tests.hub.helpers import app_for


def make_hub(**kwargs: Any) -> tuple[SocketHub, dict[str, Any]]:
    hub = SocketHub("/ws", **kwargs)
    room = hub.channel("room:{id}")
    seen: dict[str, Any] = {"socks": {}, "errors": []}

    @hub.on_connect
    async def connect(sock: ISocket) -> None:
        seen["connection"] = sock

    @room.on_join
    async def join(params: dict[str, str], sock: ISocket) -> Any:
        seen["socks"][params["id"]] = sock
        return {"hello": params["id"]} if params["id"] == "greet" else None

    @room.on_receive("later")
    async def later(payload: Any, sock: ISocket) -> None:
        # publish through the socket another join's on_join got
        await seen["socks"][payload].publish("from a stored socket", event="late")

    @room.on_receive("stale")
    async def stale(payload: Any, sock: ISocket) -> None:
        try:
            await seen["socks"][payload].reply("should not go")
        except RuntimeError as exc:
            seen["errors"].append(str(exc))
        await sock.reply("checked")

    return hub, seen


def test_a_stored_join_socket_still_publishes_on_its_own_topic() -> None:
    hub, seen = make_hub()
    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.send("room:1", "join")
        ws.send("room:2", "join")
        ws.send("room:2", "later", "1")
        assert ws.receive_json() == {
            "topic": "room:1",
            "event": "late",
            "payload": "from a stored socket",
        }
    one, two = seen["socks"]["1"], seen["socks"]["2"]
    assert isinstance(one, ChannelSocket) and isinstance(two, ChannelSocket)
    assert (one.topic, two.topic) == ("room:1", "room:2")
    # views of one connection are that connection, for sets and comparisons
    assert one == two == seen["connection"]
    assert len({one, two, seen["connection"]}) == 1
    assert one.assigns is seen["connection"].assigns


def test_a_join_socket_stops_sending_after_its_leave() -> None:
    hub, seen = make_hub()
    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.send("room:1", "join")
        ws.send("room:2", "join")
        ws.send("room:1", "leave")
        ws.send("room:2", "stale", "1")
        assert ws.receive_json()["payload"] == "checked"
    assert len(seen["errors"]) == 1
    assert "join of topic 'room:1' has ended" in seen["errors"][0]
    assert seen["socks"]["2"].left  # the connection ended: every join ended with it


def test_on_joins_return_value_is_the_join_reply() -> None:
    hub, _ = make_hub()
    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.send("room:greet", "join", ref="j1")
        assert ws.receive_json() == {
            "topic": "room:greet",
            "event": "reply",
            "payload": {"status": "ok", "response": {"hello": "greet"}},
            "ref": "j1",
        }
        ws.send("room:greet2", "join")  # no ref: no reply, as in 0.1
        ws.send("room:x", "join", ref="j2")
        assert ws.receive_json()["payload"] == {"status": "ok", "response": None}


def test_shared_mode_gives_every_callback_the_connection_socket() -> None:
    hub, seen = make_hub(per_join_sockets=False, ordering="connection")
    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.send("room:1", "join")
        ws.send("room:2", "join")
        ws.send("room:2", "later", "1")
        # 0.1: the one socket was retargeted at room:2 by the last message
        assert ws.receive_json()["topic"] == "room:2"
    assert seen["socks"]["1"] is seen["socks"]["2"] is seen["connection"]


def test_a_task_started_in_on_join_keeps_its_topic() -> None:
    hub = SocketHub("/ws")
    room = hub.channel("room:{id}")
    go = asyncio.Event()
    tasks: set[asyncio.Task[None]] = set()

    @room.on_join
    async def join(params: dict[str, str], sock: ISocket) -> None:
        async def later() -> None:
            await go.wait()
            await sock.publish(sock.topic, event="late")

        if params["id"] == "task":
            tasks.add(asyncio.get_running_loop().create_task(later()))

    @room.on_receive("go")
    async def start(payload: Any, sock: ISocket) -> None:
        go.set()

    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.send("room:task", "join")
        ws.send("room:other", "join")
        ws.send("room:other", "go")
        assert ws.receive_json() == {"topic": "room:task", "event": "late", "payload": "room:task"}


@pytest.mark.parametrize("per_join", [True, False])
def test_the_disconnect_hook_gets_the_connection_socket(per_join: bool) -> None:
    hub, seen = make_hub(per_join_sockets=per_join, ordering="topic" if per_join else "connection")
    gone: list[ISocket] = []

    @hub.on_disconnect
    async def disconnect(sock: ISocket) -> None:
        gone.append(sock)

    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.send("room:1", "join", ref="j")
        ws.receive_json()
    assert gone == [seen["connection"]]
    assert gone[0] is seen["connection"]
    assert seen["socks"]["1"] in {gone[0]}  # a set of connections finds the view's
