"""on_join / on_exit / on_disconnect recorded in CALLS."""

from typing import Any

from starlette.applications import Starlette

from sockethub import ISocket, WebSocketRoute

CALLS: list[Any] = []
route = WebSocketRoute("/c19")
room = route.channel("room:{id}")


@room.on_join
async def join(params: dict, sock: ISocket) -> None:
    CALLS.append(["join", params["id"]])


@room.on_exit
async def leave(sock: ISocket) -> None:
    CALLS.append(["exit", sock.topic])


@route.on_disconnect
async def gone(sock: ISocket) -> None:
    CALLS.append(["gone"])


app = Starlette(routes=[route])
