"""ordering="topic": topics of one connection do not wait for each other; each keeps its
order.  ordering="connection" (the facade's) handles one message at a time, as 0.1 did."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sockethub import HubLimits, ISocket, SocketHub
from sockethub.testing import HubClient
from tests.hub.helpers import app_for


def make_hub(**kwargs: Any) -> tuple[SocketHub, list[str]]:
    hub = SocketHub("/ws", **kwargs)
    room = hub.channel("room:{id}")
    log: list[str] = []

    @room.on_receive("slow")
    async def slow(payload: Any, sock: ISocket) -> Any:
        await asyncio.sleep(payload)
        return f"slow {sock.topic}"

    @room.on_receive("echo")
    async def echo(payload: Any, sock: ISocket) -> Any:
        return payload

    @room.on_receive("hang")
    async def hang(payload: Any, sock: ISocket) -> None:
        await asyncio.sleep(3600)

    @room.on_exit
    async def exit_(sock: ISocket) -> None:
        log.append(f"exit {sock.topic}")

    @hub.on_disconnect
    async def gone(sock: ISocket) -> None:
        log.append("disconnect")

    return hub, log


def replies(ws: Any, n: int) -> list[tuple[str, Any]]:
    got = []
    for _ in range(n):
        frame = ws.receive_json()
        got.append((frame["ref"], frame["payload"]["response"]))
    return got


def test_a_slow_callback_does_not_hold_up_other_topics() -> None:
    hub, _ = make_hub()
    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        for topic in ("room:a", "room:b", "room:c"):
            ws.join(topic)
        ws.send("room:a", "slow", 1.0, ref="a1")
        ws.send("room:a", "echo", "after a1", ref="a2")  # same topic: waits for a1
        ws.send("room:b", "slow", 0.3, ref="b1")
        ws.send("room:b", "echo", "after b1", ref="b2")
        ws.send("room:c", "echo", "c", ref="c1")
        got = replies(ws, 5)
    assert got[0] == ("c1", "c")  # not delayed by a or b
    assert got.index(("b1", "slow room:b")) < got.index(("a1", "slow room:a"))
    for first, second in (("a1", "a2"), ("b1", "b2")):  # each topic in order
        refs = [ref for ref, _ in got]
        assert refs.index(first) < refs.index(second)


def test_connection_ordering_handles_one_message_at_a_time() -> None:
    hub, _ = make_hub(ordering="connection")
    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        for topic in ("room:a", "room:c"):
            ws.join(topic)
        ws.send("room:a", "slow", 0.3, ref="a1")
        ws.send("room:c", "echo", "c", ref="c1")
        assert [ref for ref, _ in replies(ws, 2)] == ["a1", "c1"]


def test_a_join_and_a_leave_of_another_topic_are_not_held_up() -> None:
    hub, log = make_hub()
    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.join("room:a")
        ws.send("room:a", "slow", 0.5, ref="a1")
        ws.send_json({"topic": "room:b", "event": "join", "ref": "jb"})
        ws.send_json({"topic": "room:b", "event": "leave", "ref": "lb"})
        first, second, third = (ws.receive_json() for _ in range(3))
    assert (first["ref"], second["ref"], third["ref"]) == ("jb", "lb", "a1")
    assert log[0] == "exit room:b"


def test_callbacks_still_running_in_other_topics_are_cancelled_when_the_client_leaves() -> None:
    hub, log = make_hub(limits=HubLimits(cancel_grace=0.2))
    with HubClient(app_for(hub)) as client:
        with client.connect("/ws") as ws:
            for topic in ("room:a", "room:b"):
                ws.join(topic)
            ws.send("room:a", "slow", 0.2, ref="a1")
            ws.send("room:b", "hang", None, ref="b1")  # started while a1 runs: a worker's
            assert ws.receive_json()["ref"] == "a1"
        # leaving the context: the hanging worker is cancelled after the grace, then the
        # exits and the disconnect hook run
    assert sorted(log[:2]) == ["exit room:a", "exit room:b"]
    assert log[2] == "disconnect"
    assert hub.stats.abandoned_callbacks == 1
    assert hub.stats.connections == 0


def test_ordering_is_validated() -> None:
    with pytest.raises(ValueError, match="ordering must be"):
        SocketHub("/ws", ordering="none")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs per_join_sockets=True"):
        SocketHub("/ws", per_join_sockets=False)
