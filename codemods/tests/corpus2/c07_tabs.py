"""Tabs for indentation, a bool query parameter."""

from typing import Any

from starlette.applications import Starlette

from sockethub import ISocket, WebSocketRoute

route = WebSocketRoute("/c07")
room = route.channel("room:{id}")


@route.on_connect
async def connect(sock: ISocket, loud: bool = False) -> None:
	sock.assigns["loud"] = loud


@room.on_receive("say")
async def say(payload: Any, sock: ISocket) -> None:
	text = str(payload)
	if sock.assigns["loud"]:
		text = text.upper()
	await sock.reply(text)


@route.handler
async def handler(loud: bool = False) -> None:
	return None


app = Starlette(routes=[route])
