# A module header comment.
"""Comments in every corner."""

# imports
from typing import Any

from starlette.applications import Starlette

from sockethub import (  # the package
    ISocket,  # sockets
    WebSocketRoute,  # routes
)

# ---- routes ----
route = WebSocketRoute(  # the route
    "/c29",  # its path
)
room = route.channel("room:{id}")  # rooms


# ---- callbacks ----
@room.on_receive("c")  # the only event
async def c(payload: Any, sock: ISocket) -> None:
    # reply with the payload
    await sock.reply(payload)  # done


# ---- 0.1 boilerplate ----
# (managed mode demanded it)
@route.handler
async def handler() -> None:
    pass  # never runs


# the app
app = Starlette(routes=[route])  # serve it
# end of module
