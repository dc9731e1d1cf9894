"""A multi-room chat on SocketHub: the whole server side of ``python -m examples.chat``.

Wire protocol (sockethub's default envelopes, ``topic`` = ``"room:<name>"``):

* connect to ``/ws?user=<name>``; join / leave a room with ``event: "join"`` / ``"leave"``;
* send ``{"event": "say", "payload": {"text": ...}}`` to talk;
* the server sends ``members`` (to the joiner), ``joined`` / ``left`` (to the others),
  ``message`` (to the others), ``sent`` (to the sender) and ``announce`` (to everyone).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from sockethub import ISocket, JoinRefused, SocketHub

STATIC = Path(__file__).parent / "static"
MAX_NAME = 32  # characters, for user and room names alike
MAX_TEXT = 1000

hub = SocketHub("/ws")
room = hub.channel("room:{name}")
members: dict[str, set[ISocket]] = {}  # room name -> sockets in it


def names(room_name: str) -> list[str]:
    """The user names in a room, sorted."""
    return sorted({s.assigns["user"] for s in members.get(room_name, ())})


@hub.on_connect
async def on_connect(sock: ISocket) -> None:
    user = sock.query_params.get("user", "").strip()
    await sock.allow_if(0 < len(user) <= MAX_NAME, reason="user must be 1-32 characters")
    sock.assigns["user"] = user


@room.on_join
async def on_join(params: dict[str, str], sock: ISocket) -> None:
    name = params["name"]
    if len(name) > MAX_NAME:
        raise JoinRefused("room names are at most 32 characters")  # an error frame, no join
    members.setdefault(name, set()).add(sock)
    who = {"user": sock.assigns["user"], "members": names(name)}
    await sock.publish(who, event="joined", exclude_self=True)  # the others see who came
    await sock.reply({"members": who["members"]}, event="members")  # the joiner sees who's in


@room.on_exit  # on "leave", and for every joined room when the socket goes away
async def on_exit(sock: ISocket) -> None:
    name = sock.params["name"]
    members[name].discard(sock)
    if not members[name]:
        del members[name]
    who = {"user": sock.assigns["user"], "members": names(name)}
    await sock.publish(who, event="left", exclude_self=True)


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
    return JSONResponse({"room": room_name, "members": names(room_name)})


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
