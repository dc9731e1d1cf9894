"""The app the presence suites serve (TestClient and real uvicorn, both protocols).

``/socket/websocket`` (phoenix.js appends ``/websocket``): ``?user=ada`` gives the
connection the identity ``user:ada``.  ``room:{id}`` is a presence channel: a join tracks
the user with ``{"status": ...}`` from the join payload (``{"watch": true}`` only
watches; ``{"refuse": true}`` tracks, then refuses the join); ``status`` updates the meta;
``close`` / ``boom`` / ``block`` end the connection in the ways of ``tests/endings.py``.
``plain:{id}`` has no presence.  HTTP: ``GET /presence/{topic}``, ``POST
/disconnect/{identity}``, ``POST /remove/{topic}/{identity}``, ``GET /pid``; by
connection id: ``GET /members/{topic}`` (``hub.presence.members``), ``POST
/kick/{topic}/{key}[?status=...]`` (removes every connection that tracks the key, found
in the member list), ``POST /remove-connection/{topic}/{connection_id}``, ``POST
/disconnect-connection/{connection_id}``.

``python -m tests.presence.app`` serves it on the Redis bus of ``SOCKETHUB_REDIS`` (with
``SOCKETHUB_PREFIX``) for the multi-process tests, with the short presence bound given
by ``PRESENCE_HEARTBEAT`` / ``PRESENCE_DEAD_AFTER``.
"""

from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import asdict
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sockethub import ISocket, JoinRefused, SocketHub
from sockethub.bus import SocketBus
from sockethub.presence import PresenceStore

PATH = "/socket/websocket"


def build(
    bus: SocketBus | None = None,
    presence: PresenceStore | None = None,
    *,
    error_policy: Any = "reply",
    blocked: threading.Event | None = None,
) -> tuple[SocketHub, Starlette]:
    hub = SocketHub(PATH, bus=bus, presence=presence, error_policy=error_policy)
    room = hub.channel("room:{id}", presence=True)
    hub.channel("plain:{id}")
    blocked = blocked if blocked is not None else threading.Event()

    @hub.on_connect
    async def connect(sock: ISocket) -> None:
        user = sock.query_params.get("user")
        sock.assigns["user"] = user
        if user:
            sock.identity = f"user:{user}"

    @room.on_join
    async def join(params: dict[str, str], sock: ISocket) -> None:
        payload = sock.message.payload if isinstance(sock.message.payload, dict) else {}
        user = sock.assigns["user"]
        if payload.get("watch") or not user:
            return
        await sock.track(user, {"status": payload.get("status", "online")})
        if payload.get("refuse"):
            raise JoinRefused("refused after tracking")

    @room.on_receive("status")
    async def status(payload: Any, sock: ISocket) -> str:
        return await sock.update(sock.assigns["user"], {"status": payload})

    @room.on_receive("untrack")
    async def untrack(payload: Any, sock: ISocket) -> None:
        await sock.untrack(sock.assigns["user"])

    @room.on_receive("close")
    async def close(payload: Any, sock: ISocket) -> None:
        await sock.close(4000, "Bye")

    @room.on_receive("boom")
    async def boom(payload: Any, sock: ISocket) -> None:
        raise RuntimeError("callback fails")

    @room.on_receive("block")
    async def block(payload: Any, sock: ISocket) -> None:
        blocked.set()
        await asyncio.Event().wait()

    async def presence(request: Request) -> JSONResponse:
        return JSONResponse(await hub.presence.list(request.path_params["topic"]))

    async def disconnect(request: Request) -> JSONResponse:
        await hub.disconnect(request.path_params["identity"])
        return JSONResponse({"ok": True})

    async def remove(request: Request) -> JSONResponse:
        params = request.path_params
        await hub.remove(params["topic"], identity=params["identity"])
        return JSONResponse({"ok": True})

    async def members(request: Request) -> JSONResponse:
        entries = await hub.presence.members(request.path_params["topic"])
        return JSONResponse([asdict(e) for e in entries])

    async def kick(request: Request) -> JSONResponse:
        """Remove from the topic every connection tracking the key (with that status)."""
        topic, key = request.path_params["topic"], request.path_params["key"]
        status = request.query_params.get("status")
        owners = [
            e.owner
            for e in await hub.presence.members(topic)
            if e.key == key and status in (None, e.meta.get("status"))
        ]
        for owner in owners:
            await hub.remove(topic, connection_id=owner)
        return JSONResponse({"removed": owners})

    async def remove_connection(request: Request) -> JSONResponse:
        params = request.path_params
        await hub.remove(params["topic"], connection_id=params["connection_id"])
        return JSONResponse({"ok": True})

    async def disconnect_connection(request: Request) -> JSONResponse:
        await hub.disconnect(connection_id=request.path_params["connection_id"])
        return JSONResponse({"ok": True})

    async def pid(request: Request) -> JSONResponse:
        return JSONResponse({"pid": os.getpid(), "node": hub.presence.node})

    app = Starlette(
        routes=[
            hub,
            Route("/presence/{topic}", presence),
            Route("/disconnect/{identity}", disconnect, methods=["POST"]),
            Route("/remove/{topic}/{identity}", remove, methods=["POST"]),
            Route("/members/{topic}", members),
            Route("/kick/{topic}/{key}", kick, methods=["POST"]),
            Route(
                "/remove-connection/{topic}/{connection_id}", remove_connection, methods=["POST"]
            ),
            Route(
                "/disconnect-connection/{connection_id}", disconnect_connection, methods=["POST"]
            ),
            Route("/pid", pid),
        ],
        lifespan=hub.lifespan,
    )
    return hub, app


def redis_app() -> Starlette:
    """The app on the Redis bus and store named by the environment (see above)."""
    from sockethub.bus.redis import RedisSocketBus
    from sockethub.presence.redis import RedisPresence

    url = os.environ["SOCKETHUB_REDIS"]
    prefix = os.environ.get("SOCKETHUB_PREFIX", "sockethub:")
    bus = RedisSocketBus(url, prefix=prefix, reconnect_max=0.5)
    store = RedisPresence.for_bus(
        bus,
        heartbeat_interval=float(os.environ.get("PRESENCE_HEARTBEAT", "1.0")),
        dead_after=float(os.environ.get("PRESENCE_DEAD_AFTER", "5.0")),
    )
    return build(bus, store)[1]
