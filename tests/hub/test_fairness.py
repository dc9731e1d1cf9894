"""A flooding connection does not starve the others.

uvicorn puts every frame of a TCP read into the connection's queue at once, and awaiting a
non-empty ``asyncio.Queue`` does not suspend; nor does a callback that returns at once.  So
without the hub yielding, one connection's flood would run to its end before any other
connection got a turn.  Over real uvicorn the effect hides behind its 64 KiB reads, so this
drives two hub connections directly through ASGI with such queues, on one event loop.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sockethub import ISocket, SocketHub

FLOOD = 5_000

SCOPE = {
    "type": "websocket",
    "path": "/ws",
    "headers": [],
    "query_string": b"",
    "subprotocols": [],
    "client": ("127.0.0.1", 1),
    "server": ("127.0.0.1", 2),
    "scheme": "ws",
    "root_path": "",
}


def text(topic: str, event: str, ref: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"topic": topic, "event": event}
    if ref is not None:
        frame["ref"] = ref
    return {"type": "websocket.receive", "text": json.dumps(frame)}


async def test_a_flood_on_one_connection_lets_another_be_answered_early() -> None:
    hub = SocketHub("/ws")
    room = hub.channel("room:{id}")
    handled = {"flood": 0, "at_answer": -1}
    answered = asyncio.Event()

    @room.on_receive("flood")
    async def flood(payload: Any, sock: ISocket) -> None:
        handled["flood"] += 1

    @room.on_receive("ask")
    async def ask(payload: Any, sock: ISocket) -> Any:
        handled["at_answer"] = handled["flood"]
        return "answer"

    flooder: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    asker: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for queue, topic in ((flooder, "room:f"), (asker, "room:a")):
        queue.put_nowait({"type": "websocket.connect"})
        queue.put_nowait(text(topic, "join"))
    for _ in range(FLOOD):
        flooder.put_nowait(text("room:f", "flood"))
    asker.put_nowait(text("room:a", "ask", ref="1"))

    async def send_flooder(message: dict[str, Any]) -> None:
        return None

    async def send_asker(message: dict[str, Any]) -> None:
        if message["type"] == "websocket.send" and '"answer"' in message.get("text", ""):
            answered.set()

    async with hub.lifespan():
        sessions = [
            asyncio.create_task(hub.serve(dict(SCOPE), flooder.get, send_flooder)),  # type: ignore[arg-type]
            asyncio.create_task(hub.serve(dict(SCOPE), asker.get, send_asker)),  # type: ignore[arg-type]
        ]
        await asyncio.wait_for(answered.wait(), 10)
        while handled["flood"] < FLOOD:
            await asyncio.sleep(0.01)
        for queue in (flooder, asker):
            queue.put_nowait({"type": "websocket.disconnect", "code": 1000})
        await asyncio.gather(*sessions)
    assert 0 <= handled["at_answer"] < 500  # answered early in the flood, not after it
