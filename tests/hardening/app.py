"""The hub the hardening tests attack: two channels, an echo, a publish, a limited twin."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.applications import Starlette

from sockethub import HubLimits, ISocket, SocketHub


def build() -> tuple[Starlette, SocketHub, SocketHub, list[tuple[str, str | None]]]:
    """A fresh app: ``/ws`` (default limits) and ``/ws/limited`` (rate-limited, short timeout)."""
    events: list[tuple[str, str | None]] = []
    hub = SocketHub("/ws")
    limited = SocketHub(
        "/ws/limited", limits=HubLimits(rate=100, burst=20, callback_timeout=0.2, max_topics=5)
    )
    for h in (hub, limited):
        room = h.channel("room:{id}")

        @room.on_join
        async def join(params: dict[str, str], sock: ISocket) -> None:
            events.append(("join", sock.topic))

        @room.on_exit
        async def leave(sock: ISocket) -> None:
            events.append(("exit", sock.topic))

        @room.on_receive("echo")
        async def echo(payload: Any, sock: ISocket) -> Any:
            return payload

        @room.on_receive("say")
        async def say(payload: Any, sock: ISocket) -> None:
            await sock.publish(payload, event="said")

        @room.on_receive("hang")
        async def hang(payload: Any, sock: ISocket) -> None:
            await asyncio.sleep(3600)

        @room.on_receive("boom")
        async def boom(payload: Any, sock: ISocket) -> None:
            raise RuntimeError("secret /etc/passwd detail")

        @h.on_disconnect
        async def gone(sock: ISocket) -> None:
            events.append(("disconnect", None))

    app = Starlette(routes=[hub, limited], lifespan=hub.lifespan)
    return app, hub, limited, events
