"""A FastAPI app with a sockethub hub in an APIRouter (the README's FastAPI section).

Serve it with ``uvicorn examples.fastapi_app:app``, then connect to
``ws://127.0.0.1:8000/api/rooms/lobby?token=alice-token`` and send
``{"topic": "room:lobby", "event": "join"}``, then
``{"topic": "room:lobby", "event": "say", "payload": "hi"}``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, WebSocketException, status

from sockethub import ISocket, JoinRefused, SocketHub

TOKENS = {"alice-token": "alice", "bob-token": "bob"}


async def current_user(token: Annotated[str | None, Query()] = None) -> str:
    """The auth dependency: the user a ``?token=`` stands for (browsers cannot set an
    ``Authorization`` header on a WebSocket, hence the query string)."""
    user = TOKENS.get(token or "")
    if user is None:
        raise WebSocketException(status.WS_1008_POLICY_VIOLATION, "unknown token")
    return user


hub = SocketHub("/rooms/{room}")
rooms = hub.channel("room:{name}")


@hub.on_connect
async def on_connect(sock: ISocket, room: str, user: Annotated[str, Depends(current_user)]) -> None:
    sock.assigns["user"] = user
    sock.assigns["room"] = room


@rooms.on_join
async def on_join(params: dict[str, str], sock: ISocket) -> dict[str, str]:
    if params["name"] != sock.assigns["room"]:
        raise JoinRefused("join the room you connected to")
    return {"user": sock.assigns["user"]}


@rooms.on_receive("say")
async def say(payload: Any, sock: ISocket) -> None:
    await sock.publish({"from": sock.assigns["user"], "text": payload}, event="said")


router = APIRouter()
router.routes.append(hub)


@router.post("/rooms/{name}/announce")
async def announce(name: str, text: str) -> dict[str, bool]:
    await hub.publish(f"room:{name}", "said", {"from": "server", "text": text})
    return {"sent": True}


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.motd = "welcome"  # the app's own start-up and shut-down...
    async with hub.lifespan(app):  # ...around the hub's (its bus starts and stops)
        yield
    app.state.motd = None


app = FastAPI(lifespan=lifespan)
app.include_router(router, prefix="/api")
