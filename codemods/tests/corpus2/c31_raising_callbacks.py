"""Callbacks that raise: 0.1 closed the connection with 1011 and let the error propagate."""

from typing import Any

from starlette.applications import Starlette

from sockethub import ISocket, WebSocketRoute

CALLS: list[Any] = []
route = WebSocketRoute("/c31")
room = route.channel("room:{id}")
vault = route.channel("vault:{id}")


@room.on_receive("ok")
async def ok(payload: Any, sock: ISocket) -> None:
    await sock.reply({"ok": payload})


@room.on_receive("boom")
async def boom(payload: Any, sock: ISocket) -> None:
    raise RuntimeError(f"boom {payload}")


@vault.on_join
async def locked(params: dict, sock: ISocket) -> None:
    raise PermissionError("vault locked")


@route.on_disconnect
async def gone(sock: ISocket) -> None:
    CALLS.append(["gone"])


@route.handler
async def handler() -> None:
    return None


app = Starlette(routes=[route])
