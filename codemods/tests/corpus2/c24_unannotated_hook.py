"""Hook parameters without annotations; the handler's annotations decide."""

from typing import Any

from starlette.applications import Starlette

from sockethub import ISocket, WebSocketRoute

route = WebSocketRoute("/c24/{n:int}")
room = route.channel("room:{id}")


@route.on_connect
async def connect(sock: ISocket, n, size, ratio) -> None:
    sock.assigns["vals"] = [n, size, ratio, type(size).__name__, type(ratio).__name__]


@room.on_receive("vals")
async def vals(payload: Any, sock: ISocket) -> None:
    await sock.reply(sock.assigns["vals"])


@route.handler
async def handler(n: int, size: int = 3, ratio: float = 0.5) -> None:
    return None


app = Starlette(routes=[route])
