"""The app the Phoenix suites run: one hub that picks its protocol by ``vsn``, and one
with a short idle timeout.  ``build()`` returns fresh objects, so tests never share state.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette

from sockethub import HubLimits, ISocket, JoinRefused, ReplyError, SocketHub
from tests.hub.helpers import app_for


@dataclass
class Seen:
    """What the server callbacks observed (read by the tests)."""

    connects: list[dict[str, Any]] = field(default_factory=list)
    joins: list[dict[str, Any]] = field(default_factory=list)
    exits: list[str] = field(default_factory=list)
    disconnects: int = 0
    order: list[str] = field(default_factory=list)
    """``join:<topic>`` and ``exit:<topic>``, in the order the callbacks ran."""
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


@dataclass
class PhoenixApp:
    app: Starlette
    hub: SocketHub
    idle_hub: SocketHub
    seen: Seen


def build(*, idle_timeout: float = 0.3, protocol: Any = None) -> PhoenixApp:
    """``/socket/websocket``: the main hub (``protocol`` as given, default by ``vsn``);
    ``/idle/websocket``: the same channels, with ``HubLimits(idle_timeout=...)``."""
    seen = Seen()
    hub = SocketHub("/socket/websocket", protocol=protocol)
    idle_hub = SocketHub("/idle/websocket", limits=HubLimits(idle_timeout=idle_timeout))
    room = hub.channel("room:{room_id}")

    @hub.on_connect
    async def connect(sock: ISocket) -> None:
        params = dict(sock.query_params)
        await sock.allow_if(params.get("user") != "mallory", code=4403, reason="Banned")
        sock.assigns["user"] = params.get("user")
        seen.connects.append({"params": params, "token": sock.auth_token})

    @hub.on_disconnect
    async def disconnect(sock: ISocket) -> None:
        seen.disconnects += 1

    @room.on_join
    async def join(params: dict[str, str], sock: ISocket) -> Any:
        payload = sock.message.payload
        seen.joins.append({"topic": sock.topic, "payload": payload})
        seen.order.append(f"join:{sock.topic}")
        if params["room_id"] == "greet":
            return {"welcome": sock.topic}
        if params["room_id"].startswith("task"):
            # A task of this join, publishing later (after other joins) on its own topic.
            go = sock.assigns.setdefault("go", asyncio.Event())

            async def later() -> None:
                await go.wait()
                await sock.publish({"from": sock.topic}, event="late")

            task = asyncio.get_running_loop().create_task(later())
            seen.tasks.add(task)
            task.add_done_callback(seen.tasks.discard)
        if params["room_id"] == "crash":
            raise RuntimeError("on_join crashed on purpose")
        if params["room_id"] == "secret" and (payload or {}).get("password") != "sesame":
            raise JoinRefused("Wrong password")
        return None

    @room.on_exit
    async def exit_(sock: ISocket) -> None:
        assert sock.topic is not None
        seen.exits.append(sock.topic)
        seen.order.append(f"exit:{sock.topic}")

    @room.on_receive("echo")
    async def echo(payload: Any, sock: ISocket) -> Any:
        return payload

    @room.on_receive("fail")
    async def fail(payload: Any, sock: ISocket) -> None:
        raise ReplyError("Not allowed", response={"reason": "Not allowed", "asked": payload})

    @room.on_receive("slow")
    async def slow(payload: Any, sock: ISocket) -> Any:
        await asyncio.sleep(float(payload))
        return "done"

    @room.on_receive("go")
    async def go(payload: Any, sock: ISocket) -> None:
        sock.assigns["go"].set()

    @room.on_receive("crash")
    async def crash(payload: Any, sock: ISocket) -> None:
        raise RuntimeError("on_receive crashed on purpose")

    @room.on_receive("whoami")
    async def whoami(payload: Any, sock: ISocket) -> Any:
        return {"user": sock.assigns["user"], "topic": sock.topic}

    @room.on_receive("emit")
    async def emit(payload: Any, sock: ISocket) -> None:
        await sock.emit(payload, event="pushed")

    @room.on_receive("shout")
    async def shout(payload: Any, sock: ISocket) -> None:
        await sock.publish(payload, event="shouted")

    @room.on_receive("shout_others")
    async def shout_others(payload: Any, sock: ISocket) -> None:
        await sock.publish(payload, event="shouted", exclude_self=True)

    idle_hub.include(hub)
    return PhoenixApp(app_for(hub, idle_hub), hub, idle_hub, seen)
