"""Channels whose precedence 0.1 and 0.2 agree on."""

from typing import Any

from starlette.applications import Starlette

from sockethub import ISocket, WebSocketRoute

route = WebSocketRoute("/c18")
game = route.channel("game:{g}")
team = route.channel("game:{g}:{team}")


@game.on_receive("which")
async def which_game(payload: Any, sock: ISocket) -> None:
    await sock.reply("game")


@team.on_receive("which")
async def which_team(payload: Any, sock: ISocket) -> None:
    await sock.reply("team")


app = Starlette(routes=[route])
