"""Alias import, stacked decorators, hooks with named parameters."""

import functools
from typing import Any

from sockethub import ISocket
from sockethub import WebSocketRoute as Route

CALLS: list[Any] = []
route = Route("/c01/{org}")
room = route.channel("room:{name}")


def traced(func):
    @functools.wraps(func)
    async def wrapper(*args, **kwargs):
        CALLS.append(func.__name__)
        return await func(*args, **kwargs)

    return wrapper


@route.on_connect
@traced
async def connect(sock: ISocket, org: str, user: str = "anon") -> None:
    await sock.allow_if(user != "mallory", reason="go away")
    sock.assigns["who"] = f"{user}@{org}"


@room.on_receive("hi")
@traced
async def hi(payload: Any, sock: ISocket) -> None:
    await sock.reply({"who": sock.assigns["who"], "said": payload})


@route.handler
async def handler(org: str, user: str = "anon") -> None:
    return None


from starlette.applications import Starlette  # noqa: E402  (late import, on purpose)

app = Starlette(routes=[route])
