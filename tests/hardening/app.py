"""The hub the hardening tests attack: two channels, an echo, a publish, a limited twin.

Besides the well-behaved callbacks, some misbehave on purpose: ``hang`` never returns,
``boom`` raises, ``when`` returns what no codec can encode (a set), ``refuse`` raises a
``ReplyError`` whose response cannot be encoded, joining ``odd:*`` refuses with such a
response, and ``bye`` closes the socket with an application close code.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.applications import Starlette

from sockethub import HubLimits, ISocket, JoinRefused, ReplyError, SocketHub
from sockethub.codec import Codec

#: The close code ``bye`` closes with.
APP_CLOSE_CODE = 4321


def build(
    codec: Codec | None = None,
) -> tuple[Starlette, SocketHub, SocketHub, list[tuple[str, str | None]]]:
    """A fresh app: ``/ws`` (default limits) and ``/ws/limited`` (rate-limited, short
    timeout), both hubs with ``codec`` (default: the default codec)."""
    events: list[tuple[str, str | None]] = []
    hub = SocketHub("/ws", limits=HubLimits(cancel_grace=0.5), codec=codec)
    limited = SocketHub(
        "/ws/limited",
        limits=HubLimits(rate=100, burst=20, callback_timeout=0.2, max_topics=5),
        codec=codec,
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

        @room.on_receive("when")
        async def when(payload: Any, sock: ISocket) -> Any:
            return {"a set"}

        @room.on_receive("refuse")
        async def refuse(payload: Any, sock: ISocket) -> None:
            raise ReplyError("no", response={"a set": {1}})

        @room.on_receive("bye")
        async def bye(payload: Any, sock: ISocket) -> None:
            await sock.close(APP_CLOSE_CODE, "bye")

        odd = h.channel("odd:{id}")

        @odd.on_join
        async def odd_join(params: dict[str, str], sock: ISocket) -> None:
            raise JoinRefused("no", response={"a set": {1}})

        @h.on_disconnect
        async def gone(sock: ISocket) -> None:
            events.append(("disconnect", None))

    app = Starlette(routes=[hub, limited], lifespan=hub.lifespan)
    return app, hub, limited, events
