"""5,000 connect/join/publish/leave/disconnect cycles leave nothing behind.

The hub is driven through its real ASGI interface (inside a Starlette app) by an
in-process server loop, which is what uvicorn does minus the sockets; that keeps 5,000
cycles to a few seconds.
"""

from __future__ import annotations

import asyncio
import gc
import json
import tracemalloc
from typing import Any

from starlette.applications import Starlette

from sockethub import ISocket, SocketHub


def make_app() -> tuple[Starlette, SocketHub]:
    hub = SocketHub("/ws/{user}")
    room = hub.channel("room:{id}")

    @hub.on_connect
    async def connect(sock: ISocket) -> None:
        sock.assigns["user"] = sock.path_params["user"]

    @room.on_join
    async def join(params: dict[str, str], sock: ISocket) -> None:
        await sock.publish({"joined": sock.assigns["user"]}, event="presence", exclude_self=True)

    @room.on_receive("say")
    async def say(payload: Any, sock: ISocket) -> None:
        await sock.publish(payload, event="said")

    return Starlette(routes=[hub]), hub


async def one_cycle(app: Starlette, i: int) -> list[dict[str, Any]]:
    room = f"room:{i % 7}"
    inbound: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for message in (
        {"type": "websocket.connect"},
        {"type": "websocket.receive", "text": json.dumps({"topic": room, "event": "join"})},
        {
            "type": "websocket.receive",
            "text": json.dumps({"topic": room, "event": "say", "payload": i}),
        },
        {"type": "websocket.receive", "text": json.dumps({"topic": room, "event": "leave"})},
        {"type": "websocket.disconnect", "code": 1000},
    ):
        inbound.put_nowait(message)
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": f"/ws/u{i}",
        "raw_path": f"/ws/u{i}".encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "subprotocols": [],
        "extensions": {},
    }
    await app(scope, inbound.get, send)  # type: ignore[arg-type]
    return sent


async def test_five_thousand_cycles_leak_nothing() -> None:
    app, hub = make_app()
    first = await one_cycle(app, 0)
    assert first[0]["type"] == "websocket.accept"
    assert json.loads(first[1]["text"]) == {"topic": "room:0", "event": "said", "payload": 0}
    for i in range(500):  # warm caches (regexes, interned strings, free lists)
        await one_cycle(app, i)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for i in range(5_000):
            await one_cycle(app, i)
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    growth = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert growth < 1_000_000, f"traced memory grew by {growth} bytes"
    assert hub.bus.topics() == {}  # type: ignore[attr-defined]
    assert hub.bus.subscription_count == 0  # type: ignore[attr-defined]
    assert hub.stats.connections == 0
    assert hub.stats.total_connections == 5_501
    assert asyncio.all_tasks() == {asyncio.current_task()}
