"""A route with no path of its own, merged into two managed parents: 0.1 served each copy
at its parent's own path, where the parent (matched first) shadowed it."""

from typing import Any

from starlette.applications import Starlette

from sockethub import ISocket, WebSocketRoute

shared = WebSocketRoute()
extras = shared.channel("extra:{id}")


@extras.on_receive("read")
async def read_extra(payload: Any, sock: ISocket) -> None:
    await sock.reply({"extra": sock.params["id"]})


lobby = WebSocketRoute("/c32/lobby")
hall = lobby.channel("hall:{id}")
stage = WebSocketRoute("/c32/stage")
scene = stage.channel("scene:{id}")


@hall.on_receive("read")
@scene.on_receive("read")
async def read(payload: Any, sock: ISocket) -> None:
    await sock.reply({"path": sock.scope["path"], "topic": sock.topic})


lobby.merge(shared)  # both copies are unreachable behind their parents
stage.merge(shared)

app = Starlette(routes=[lobby, stage])
