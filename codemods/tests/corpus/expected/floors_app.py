"""Floors: a sockethub 0.1 app with path and query parameters, a busy handler and merge.

``CALLS`` records every callback so tests can compare what ran, not only what was sent.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.applications import Starlette

import sockethub as sh
from sockethub import ISocket

log = logging.getLogger("floors")

CALLS: list[tuple[Any, ...]] = []

# One connection per building floor: /floors/acme/3?token=...&limit=5
floors = sh.SocketHub(
    "/floors/{org}/{floor:int}",
    ordering="connection",
    per_join_sockets=False,
    error_policy="raise",
    protocol=sh.EnvelopeProtocol(),
)
lobby = floors.channel("lobby:{name}")

# Audit channels live on their own route and are merged into every floor connection.
admin = sh.SocketHub(
    "/floors/{org}/{floor:int}",
    ordering="connection",
    per_join_sockets=False,
    error_policy="raise",
    protocol=sh.EnvelopeProtocol(),
)
audit = admin.channel("audit:{kind}")


# TODO(sockethub-migrate): this was the 0.1 managed-mode handler of `floors`; SocketHub
#   needs none and 0.1 never ran its body: move any logic into on_connect, then delete
#   it. See MIGRATION.md#handler-with-a-body.
async def floors_handler(org: str, floor: int, token: str = "", limit: int = 10) -> None:
    # Managed mode never runs this body: the signature only declares the parameters.
    log.info("floor %s/%s opened", org, floor)


@floors.on_connect
async def connect(
    sock: ISocket, org: str, floor: int, token: str = "", limit: int = 10
) -> None:
    CALLS.append(("connect", org, floor, token, limit))
    await sock.allow_if(token == "letmein", reason="bad token")
    sock.assigns.update(org=org, floor=floor, limit=limit)


@floors.on_disconnect
async def disconnect(sock: ISocket, org: str, floor: int, token: str = "", limit: int = 10) -> None:
    CALLS.append(("disconnect", org, floor))


@lobby.on_join
async def join(params: dict, sock: ISocket) -> None:
    CALLS.append(("join", params["name"]))
    await sock.reply({"joined": params["name"], "org": sock.assigns["org"]}, event="welcome")


@lobby.on_exit
async def leave(sock: ISocket) -> None:
    CALLS.append(("leave", sock.topic))


@lobby.on_receive("say")
async def say(payload: Any, sock: ISocket) -> None:
    CALLS.append(("say", payload))
    floor, limit = sock.assigns["floor"], sock.assigns["limit"]
    await sock.reply({"said": str(payload)[:limit], "floor": floor})


@audit.on_receive("log")
async def audit_log(payload: Any, sock: ISocket) -> None:
    CALLS.append(("audit", sock.params["kind"], payload))
    await sock.emit({"logged": payload, "kind": sock.params["kind"]})


floors.children.append(admin)

app = Starlette(routes=[floors])
