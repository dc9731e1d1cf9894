"""`import sockethub as sh`, a plain handler call, a `**params` hook that reads them."""

from typing import Any

from starlette.applications import Starlette

import sockethub as sh

CALLS: list[Any] = []
ws = sh.WebSocketRoute("/c02")
chat = ws.channel("chat:{id}")


@ws.on_connect
async def connect(sock: sh.ISocket, **params: Any) -> None:
    CALLS.append(sorted(params.items()))
    sock.assigns["limit"] = params["limit"]


@ws.on_disconnect
async def disconnect(sock: sh.ISocket, **params: Any) -> None:
    CALLS.append(("bye", params["token"]))


@chat.on_receive("count")
async def count(payload: Any, sock: sh.ISocket) -> None:
    await sock.reply({"n": min(int(payload), sock.assigns["limit"])})


async def noop(token: str, limit: int = 3) -> None:
    return None


ws.handler(noop)
app = Starlette(routes=[ws])
