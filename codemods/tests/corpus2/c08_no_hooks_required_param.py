"""No hooks: the dummy handler only declares a required parameter (refused if missing)."""

from typing import Any

from starlette.applications import Starlette

from sockethub import ISocket, WebSocketRoute

route = WebSocketRoute("/c08")
room = route.channel("room:{id}")


@room.on_receive("whoami")
async def whoami(payload: Any, sock: ISocket) -> None:
    await sock.reply(sock.query_params["token"])


@route.handler
async def handler(token: str, retries: int = 1) -> None:
    return None


app = Starlette(routes=[route])
