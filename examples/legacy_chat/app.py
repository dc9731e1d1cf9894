"""The chat demo as a sockethub 0.1 app (managed mode on ``WebSocketRoute``).

This is how 0.1 apps were written, warts included, and it is kept that way on purpose:
it is the input of ``sockethub-migrate`` and of MIGRATION.md.  It speaks the same wire
protocol as :mod:`examples.chat.app`, so the same page (``examples/chat/static``) works
against it.  Compared with the hub version:

* the route needs a dummy ``handler`` whose only job is to declare the ``user`` query
  parameter, which the hooks then receive as a keyword argument;
* 0.1 had no working ``sock.publish``, so the app keeps its own registry of who is in
  which room and broadcasts by looping over sockets with ``send_json``.

It runs on 0.2's deprecated facade (with ``DeprecationWarning``); new code should
start from :mod:`examples.chat.app`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from sockethub import ISocket, WebSocketRoute

STATIC = Path(__file__).parent.parent / "chat" / "static"

ws_route = WebSocketRoute("/ws")
room = ws_route.channel("room:{name}")

# room name -> the sockets in it: 0.1 could not publish, so we broadcast by hand.
rooms: dict[str, set[ISocket]] = {}


def names(room_name: str) -> list[str]:
    return sorted({s.assigns["user"] for s in rooms.get(room_name, ())})


async def broadcast(
    room_name: str, event: str, payload: Any, exclude: ISocket | None = None
) -> None:
    message = {"topic": f"room:{room_name}", "event": event, "payload": payload}
    for peer in list(rooms.get(room_name, ())):
        if peer is exclude:
            continue
        try:
            await peer.send_json(message)
        except Exception:
            rooms[room_name].discard(peer)  # it went away mid-broadcast


@ws_route.on_connect
async def on_connect(sock: ISocket, user: str) -> None:
    user = user.strip()
    await sock.allow_if(0 < len(user) <= 32, reason="user must be 1-32 characters")
    sock.assigns["user"] = user
    sock.assigns["rooms"] = set()


@ws_route.on_disconnect
async def on_disconnect(sock: ISocket, user: str) -> None:
    # 0.1 runs on_exit once per joined *channel*, so clean up every room here too.
    for room_name in list(sock.assigns.get("rooms", ())):
        await leave(room_name, sock)


@room.on_join
async def on_join(params: dict, sock: ISocket) -> None:
    room_name = params["name"]
    rooms.setdefault(room_name, set()).add(sock)
    sock.assigns["rooms"].add(room_name)
    who = {"user": sock.assigns["user"], "members": names(room_name)}
    await broadcast(room_name, "joined", who, exclude=sock)
    await sock.reply({"members": who["members"]}, event="members")


async def leave(room_name: str, sock: ISocket) -> None:
    sock.assigns["rooms"].discard(room_name)
    if sock not in rooms.get(room_name, ()):
        return
    rooms[room_name].discard(sock)
    if not rooms[room_name]:
        del rooms[room_name]
    who = {"user": sock.assigns["user"], "members": names(room_name)}
    await broadcast(room_name, "left", who)


@room.on_exit
async def on_exit(sock: ISocket) -> None:
    await leave(sock.params["name"], sock)


@room.on_receive("say")
async def on_say(payload: Any, sock: ISocket) -> None:
    text = payload.get("text") if isinstance(payload, dict) else None
    if not isinstance(text, str) or not text.strip():
        return
    message = {"user": sock.assigns["user"], "text": text[:1000]}
    await broadcast(sock.params["name"], "message", message, exclude=sock)
    await sock.reply(message, event="sent")


@ws_route.handler
async def handle_ws(user: str) -> None:
    return None


async def announce(request: Request) -> JSONResponse:
    try:
        body = await request.json()
    except ValueError:
        body = None
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        return JSONResponse({"error": 'expected {"text": "..."}'}, status_code=400)
    room_name = request.path_params["room"]
    await broadcast(room_name, "announce", {"text": text[:1000]})
    return JSONResponse({"room": room_name, "members": names(room_name)})


async def index(request: Request) -> FileResponse:
    return FileResponse(STATIC / "index.html")


app = Starlette(
    routes=[
        Route("/", index),
        Route("/rooms/{room}/announce", announce, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ws_route,
    ]
)
