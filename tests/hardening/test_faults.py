"""Faults: callbacks that raise, hang or are cancelled; clients that vanish; subscribers
that raise; server shutdown with sockets open.  Other connections go on; nothing leaks."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest
from starlette.applications import Starlette
from websockets.asyncio.client import connect

from sockethub import EncodeError, HubLimits, ISocket, SocketHub
from sockethub.testing import HubClient
from tests.hardening.app import build
from tests.rawws import RawClient
from tests.support import uvicorn_thread


def test_a_hanging_callback_times_out_and_the_connection_goes_on() -> None:
    app, _, limited, _ = build()
    with HubClient(app) as client, client.connect("/ws/limited") as ws:
        ws.join("room:1")
        ws.send_json({"topic": "room:1", "event": "hang", "ref": "h"})
        assert ws.receive_json() == {"code": 4500, "reason": "Internal error", "ref": "h"}
        ws.send_json({"topic": "room:1", "event": "echo", "payload": 2, "ref": "e"})
        assert ws.receive_json()["payload"]["response"] == 2
    assert limited.stats.callback_errors == 1


def test_a_cancelled_callback_is_a_callback_failure_not_a_dead_connection() -> None:
    hub = SocketHub("/ws")
    room = hub.channel("room")

    @room.on_receive("cancel")
    async def cancel(payload: Any, sock: ISocket) -> None:
        inner = asyncio.ensure_future(asyncio.sleep(3600))
        asyncio.get_running_loop().call_soon(inner.cancel)
        await inner

    @room.on_receive("echo")
    async def echo(payload: Any, sock: ISocket) -> Any:
        return payload

    with HubClient(Starlette(routes=[hub])) as client, client.connect("/ws") as ws:
        ws.join("room")
        ws.send_json({"topic": "room", "event": "cancel"})
        assert ws.receive_json() == {"code": 4500, "reason": "Internal error"}
        ws.send_json({"topic": "room", "event": "echo", "payload": "still", "ref": "1"})
        assert ws.receive_json()["payload"]["response"] == "still"


def test_a_raising_bus_subscriber_is_dropped_and_sockets_still_receive() -> None:
    app, hub, _, _ = build()

    async def broken(message: Any) -> None:
        raise OSError("subscriber down")

    with HubClient(app) as client, client.connect("/ws") as ws:
        ws.join("room:1")
        client.call(hub.bus.subscribe, "room:1", broken)  # type: ignore[union-attr]
        for i in range(3):
            ws.send_json({"topic": "room:1", "event": "say", "payload": i})
            assert ws.receive_json() == {"topic": "room:1", "event": "said", "payload": i}
        assert hub.bus.subscriber_count("room:1") == 1  # type: ignore[attr-defined]


def test_an_unencodable_payload_fails_the_publisher_not_the_subscribers() -> None:
    hub = SocketHub("/ws")
    room = hub.channel("room")

    @room.on_receive("bad")
    async def bad(payload: Any, sock: ISocket) -> None:
        await sock.publish({"not json": {1, 2}})

    with HubClient(Starlette(routes=[hub])) as client:
        with client.connect("/ws") as a, client.connect("/ws") as b:
            a.join("room")
            b.join("room")
            a.send_json({"topic": "room", "event": "bad", "ref": "x"})
            assert a.receive_json() == {"code": 4500, "reason": "Internal error", "ref": "x"}
            assert hub.bus.subscriber_count("room") == 2  # type: ignore[attr-defined]


async def test_clients_vanishing_mid_fanout_disturb_nobody() -> None:
    app, hub, _, events = build()
    with uvicorn_thread(app) as port:
        async with connect(f"ws://127.0.0.1:{port}/ws") as good:
            await good.send(json.dumps({"topic": "room:x", "event": "join", "ref": "j"}))
            await good.recv()
            raws = []
            for _ in range(20):
                raw = await asyncio.to_thread(RawClient, port, "/ws")
                await asyncio.to_thread(raw.send_text, '{"topic":"room:x","event":"join"}')
                raws.append(raw)
            while hub.bus.subscriber_count("room:x") < 21:  # type: ignore[attr-defined]
                await asyncio.sleep(0.01)
            for i in range(200):
                await good.send(json.dumps({"topic": "room:x", "event": "say", "payload": i}))
                if i == 50:
                    for raw in raws:
                        raw.abort()
            got = [
                json.loads(await asyncio.wait_for(good.recv(), 10))["payload"] for _ in range(200)
            ]
            assert got == list(range(200))
            for _ in range(200):
                if hub.bus.subscriber_count("room:x") == 1:  # type: ignore[attr-defined]
                    break
                await asyncio.sleep(0.02)
            assert hub.bus.subscriber_count("room:x") == 1  # type: ignore[attr-defined]
    assert events.count(("disconnect", None)) == 21


def test_server_shutdown_with_open_sockets_runs_every_hook_and_empties_the_bus() -> None:
    app, hub, _, events = build()
    opened = threading.Event()
    done = threading.Event()

    async def clients(port: int) -> list[int | None]:
        conns = [await connect(f"ws://127.0.0.1:{port}/ws") for _ in range(10)]
        for i, ws in enumerate(conns):
            await ws.send(json.dumps({"topic": f"room:{i % 3}", "event": "join", "ref": "j"}))
            await ws.recv()
        opened.set()
        codes = []
        for ws in conns:
            await ws.wait_closed()
            codes.append(ws.close_code)
        return codes

    result: list[Any] = []
    with uvicorn_thread(app) as port:
        t = threading.Thread(target=lambda: result.append(asyncio.run(clients(port))))
        t.start()
        assert opened.wait(20)
    # leaving the context stopped uvicorn and joined its thread (bounded: no hang)
    t.join(20)
    done.set()
    assert result and set(result[0]) == {1012}
    assert events.count(("disconnect", None)) == 10
    assert sum(1 for e in events if e[0] == "exit") == 10
    assert hub.bus.topics() == {}  # type: ignore[attr-defined]
    assert hub.stats.connections == 0


def test_hub_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="max_topics"):
        HubLimits(max_topics=0)
    with pytest.raises(ValueError, match="overflow"):
        HubLimits(overflow="explode")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "payload", [float("nan"), float("-inf"), "\ud800", {"\udfff": 1}], ids=repr
)
def test_server_side_publishes_that_are_not_strict_json_raise_and_reach_nobody(
    payload: Any,
) -> None:
    app, hub, _, _ = build()
    with HubClient(app) as client, client.connect("/ws") as ws:
        ws.join("room:1")
        with pytest.raises(EncodeError):
            client.call(hub.publish, "room:1", "said", payload)
        client.call(hub.publish, "room:1", "said", "next")
        assert ws.receive_json() == {"topic": "room:1", "event": "said", "payload": "next"}
        assert hub.bus.subscriber_count("room:1") == 1  # type: ignore[attr-defined]
