"""A factory called twice; one module-level noop handler shared by both routes."""

from typing import Any

from starlette.applications import Starlette

from sockethub import ISocket, WebSocketRoute


async def noop() -> None:
    return None


def build(path: str) -> WebSocketRoute:
    route = WebSocketRoute(path)
    room = route.channel("room:{id}")

    @room.on_receive("where")
    async def where(payload: Any, sock: ISocket) -> None:
        await sock.reply(path)

    route.handler(noop)
    return route


app = Starlette(routes=[build("/c16/a"), build("/c16/b")])
