# -*- coding: utf-8 -*-
"""Imported from sockethub.websocket, with comments everywhere."""

from typing import Any

from starlette.applications import Starlette

# the route class, 0.1 style
from sockethub.websocket import WebSocketRoute  # noqa: I001
from sockethub.channel import ISocket

route = WebSocketRoute("/c03")  # one route
lobby = route.channel("lobby")  # a literal channel: unjoinable in 0.1, joinable now
room = route.channel("room:{id}")  # rooms


# ---- rooms ----
@room.on_join
async def join(params: dict, sock: ISocket) -> None:  # greet
    # say hello
    await sock.reply({"joined": params["id"]}, event="welcome")


@room.on_receive("echo")
async def echo(payload: Any, sock: ISocket) -> None:
    await sock.reply(payload)  # back


# ---- required by 0.1 ----
@route.handler
async def handle() -> None:
    """Never runs."""


app = Starlette(routes=[route])
