"""A multi-room chat on SocketHub: the whole server side of ``python -m examples.chat``.

Wire protocol (sockethub's default envelopes, ``topic`` = ``"room:<name>"``):

* connect to ``/ws?user=<name>``; join / leave a room with ``event: "join"`` / ``"leave"``;
* send ``{"event": "say", "payload": {"text": ...}}`` to talk;
* the server sends ``presence_state`` (who is in, to the joiner), ``presence_diff`` (who
  came or went, to everyone in the room), ``message`` (to the others), ``sent`` (to the
  sender) and ``announce`` (to everyone).

With ``SOCKETHUB_REDIS=redis://...`` in the environment (``python -m examples.chat
--redis URL``) the rooms and their members span every process on that Redis.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from sockethub import ISocket, JoinRefused, SocketBus, SocketHub

STATIC = Path(__file__).parent / "static"
MAX_NAME = 32  # characters, for user and room names alike
MAX_TEXT = 1000


def make_bus() -> SocketBus | None:
    """The Redis bus named by ``SOCKETHUB_REDIS``, else None (the in-memory default)."""
    url = os.environ.get("SOCKETHUB_REDIS")
    if not url:
        return None
    from sockethub.bus.redis import RedisSocketBus

    return RedisSocketBus(url, prefix=os.environ.get("SOCKETHUB_PREFIX", "chat:"))


hub = SocketHub("/ws", bus=make_bus())
room = hub.channel("room:{name}", presence=True)  # joiners get presence_state


async def names(room_name: str) -> list[str]:
    """The user names in a room, sorted: from presence, so of every process."""
    return sorted(await hub.presence.list(f"room:{room_name}"))


@hub.on_connect
async def on_connect(sock: ISocket) -> None:
    user = sock.query_params.get("user", "").strip()
    await sock.allow_if(0 < len(user) <= MAX_NAME, reason="user must be 1-32 characters")
    sock.assigns["user"] = user


@room.on_join
async def on_join(params: dict[str, str], sock: ISocket) -> None:
    if len(params["name"]) > MAX_NAME:
        raise JoinRefused("room names are at most 32 characters")  # an error frame, no join
    # The others get a presence_diff; untracked by itself on leave or disconnect.
    await sock.track(sock.assigns["user"], {})


@room.on_receive("say")
async def on_say(payload: Any, sock: ISocket) -> None:
    text = payload.get("text") if isinstance(payload, dict) else None
    if not isinstance(text, str) or not text.strip():
        return
    message = {"user": sock.assigns["user"], "text": text[:MAX_TEXT]}
    await sock.publish(message, event="message", exclude_self=True)  # to everyone else
    await sock.reply(message, event="sent")  # the sender's own copy, as its own event


async def announce(request: Request) -> JSONResponse:
    """``POST /rooms/{room}/announce`` with ``{"text": ...}``: a server-side publish."""
    try:
        body = await request.json()
    except ValueError:
        body = None
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        return JSONResponse({"error": 'expected {"text": "..."}'}, status_code=400)
    room_name = request.path_params["room"]
    await hub.publish(f"room:{room_name}", "announce", {"text": text[:MAX_TEXT]})
    return JSONResponse({"room": room_name, "members": await names(room_name)})


async def index(request: Request) -> FileResponse:
    return FileResponse(STATIC / "index.html")


app = Starlette(
    routes=[
        Route("/", index),
        Route("/rooms/{room}/announce", announce, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        hub,
    ],
    lifespan=hub.lifespan,
)
