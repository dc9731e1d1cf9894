"""A multi-room chat on SocketHub: the whole server side of ``python -m examples.chat``.

Wire protocol (sockethub's default envelopes, ``topic`` = ``"room:<name>"``):

* connect to ``/ws?user=<name>``; join / leave a room with ``event: "join"`` / ``"leave"``;
* send ``{"event": "say", "payload": {"text": ...}}`` to talk;
* the server sends ``message`` (to the others), ``sent`` (to the sender) and ``announce``
  (to everyone);
* who is in a room: a join with the payload ``{"presence": true}`` (what the page sends)
  gets Phoenix-style presence: ``presence_state`` (to the joiner), then ``presence_diff``
  (to everyone in the room) for every arrival and departure, in every process; a join
  without it (0.1 clients, as ``examples/legacy_chat`` serves them) gets the 0.1 events
  ``members`` (to the joiner) and ``joined`` / ``left`` (to the others), byte for byte.

The page itself joins ``chat:<name>``, the same room with history: every ``message`` and
``announce`` there carries its ``offset`` and ``epoch``, the page joins again after a
reconnect with ``{"since": {"offset", "epoch"}}`` and receives what it missed, or hears
that recovery failed (the server restarted on the in-memory bus).  0.1 clients keep
``room:<name>``, whose frames carry no position; what is said or announced in a room
goes to both topics, so both kinds of client hear each other.

With ``SOCKETHUB_REDIS=redis://...`` in the environment (``python -m examples.chat
--redis URL``) the rooms and their presence span every process on that Redis.
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

from sockethub import History, ISocket, JoinRefused, SocketBus, SocketHub

STATIC = Path(__file__).parent / "static"
MAX_NAME = 32  # characters, for user and room names alike
MAX_TEXT = 1000
MAX_ID = 64  # characters of the page's own message id
# What a room remembers for pages that come back: its last 200 publications, each for
# 15 minutes (a laptop lid closed over lunch is past that; a redeploy or a train tunnel is not).
ROOM_HISTORY = History(size=200, ttl=15 * 60)


def make_bus() -> SocketBus | None:
    """The Redis bus named by ``SOCKETHUB_REDIS``, else None (the in-memory default)."""
    url = os.environ.get("SOCKETHUB_REDIS")
    if not url:
        return None
    from sockethub.bus.redis import RedisSocketBus

    return RedisSocketBus(url, prefix=os.environ.get("SOCKETHUB_PREFIX", "chat:"))


def wants_presence(sock: ISocket) -> bool:
    """Whether this join asked for presence (``{"presence": true}``, as the page does)."""
    payload = sock.message.payload
    return isinstance(payload, dict) and payload.get("presence") is True


hub = SocketHub("/ws", bus=make_bus())
room = hub.channel("room:{name}", presence=wants_presence)  # 0.1 clients (and presence)
chat = hub.channel("chat:{name}", presence=True, history=ROOM_HISTORY)  # what the page joins
members: dict[str, set[ISocket]] = {}  # 0.1 clients only: room name -> their sockets


def names(room_name: str) -> list[str]:
    """The 0.1 clients' user names in a room, sorted (this process only)."""
    return sorted({s.assigns["user"] for s in members.get(room_name, ())})


async def everyone(room_name: str) -> list[str]:
    """Every user in a room: the tracked ones of every process, and the 0.1 clients."""
    tracked = await hub.presence.list(f"room:{room_name}")
    pages = await hub.presence.list(f"chat:{room_name}")
    return sorted(set(tracked) | set(pages) | set(names(room_name)))


@hub.on_connect
async def on_connect(sock: ISocket) -> None:
    user = sock.query_params.get("user", "").strip()
    await sock.allow_if(0 < len(user) <= MAX_NAME, reason="user must be 1-32 characters")
    sock.assigns["user"] = user


def check_room_name(name: str) -> None:
    if len(name) > MAX_NAME:
        raise JoinRefused("room names are at most 32 characters")  # an error frame, no join


@room.on_join
async def on_join(params: dict[str, str], sock: ISocket) -> None:
    name = params["name"]
    check_room_name(name)
    if wants_presence(sock):
        # The joiner gets presence_state, the others a presence_diff; the hub untracks it
        # on leave or disconnect, and when its process dies.
        await sock.track(sock.assigns["user"], {})
        return
    members.setdefault(name, set()).add(sock)
    who = {"user": sock.assigns["user"], "members": names(name)}
    await sock.publish(who, event="joined", exclude_self=True)  # the others see who came
    await sock.reply({"members": who["members"]}, event="members")  # the joiner sees who's in


@room.on_exit  # on "leave", and for every joined room when the socket goes away
async def on_exit(sock: ISocket) -> None:
    name = sock.params["name"]
    if sock not in members.get(name, ()):
        return  # a presence join: the hub untracked it already
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
    await hub.publish(f"chat:{sock.params['name']}", "message", message)  # and to the pages


@chat.on_join
async def on_chat_join(params: dict[str, str], sock: ISocket) -> None:
    # The hub handles the rest: presence (the joiner gets presence_state, the others a
    # presence_diff) and history (the join reply says whether what was missed follows).
    check_room_name(params["name"])
    await sock.track(sock.assigns["user"], {})


@chat.on_receive("say")
async def on_chat_say(payload: Any, sock: ISocket) -> None:
    text = payload.get("text") if isinstance(payload, dict) else None
    if not isinstance(text, str) or not text.strip():
        return
    message = {"user": sock.assigns["user"], "text": text[:MAX_TEXT]}
    await hub.publish(f"room:{sock.params['name']}", "message", message)  # the 0.1 clients
    mid = payload.get("id")
    if isinstance(mid, str) and 0 < len(mid) <= MAX_ID:
        message["id"] = mid  # how the sending page knows its own message
    # To everyone, the sender included: a history topic stores what it publishes, so the
    # sender must see its message with its position, or it would recover it as missed.
    await hub.publish(f"chat:{sock.params['name']}", "message", message)


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
    for topic in (f"room:{room_name}", f"chat:{room_name}"):
        await hub.publish(topic, "announce", {"text": text[:MAX_TEXT]})
    return JSONResponse({"room": room_name, "members": await everyone(room_name)})


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
