"""A chat hub written from the README, as a user would type it: must pass mypy --strict."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sockethub import ChannelSocket, HubStats, ISocket, JoinRefused, ReplyError, SocketHub
from sockethub.bus.redis import RedisSocketBus
from sockethub.codec import JSONCodec, OrjsonCodec, encode_default

hub = SocketHub("/ws", codec=OrjsonCodec())
room = hub.channel("room:{room_id}")


@dataclasses.dataclass
class Said:
    text: str
    at: datetime.datetime


@hub.on_connect
async def on_connect(sock: ISocket) -> None:
    await sock.allow_if(sock.query_params.get("token") == "secret")
    sock.assigns["user"] = sock.query_params.get("user", "anonymous")


@room.on_join
async def on_join(params: dict[str, str], sock: ChannelSocket) -> dict[str, int]:
    if params["room_id"] == "vip":
        raise JoinRefused("members only")
    return {"members": hub.bus.topics().get(sock.topic, 0)}


@room.on_receive("say")
async def say(payload: dict[str, Any], sock: ChannelSocket) -> str:
    if not isinstance(payload.get("text"), str):
        raise ReplyError("text must be a string")
    said = Said(payload["text"], datetime.datetime.now(datetime.UTC))
    await sock.publish(said, event="said", exclude_self=True)
    return sock.topic.removeprefix("room:")  # topic is a str in channel callbacks


@room.on_receive("whoami")
async def whoami(payload: object, sock: ISocket) -> Any:  # the broader socket type is fine
    return sock.assigns["user"]


@room.on_exit
async def on_exit(sock: ChannelSocket) -> None:
    await sock.publish({"left": sock.assigns["user"]}, event="left", topic=sock.topic)


@hub.on_disconnect
async def on_disconnect(sock: ISocket) -> None:
    return None


async def post_news(request: Request) -> JSONResponse:
    await hub.publish("room:news", "headline", await request.json())
    stats: HubStats = hub.stats
    topics: dict[str, int] = hub.bus.topics()
    return JSONResponse({"connections": stats.connections, "topics": topics})


def default(value: object) -> object:
    if isinstance(value, set):
        return sorted(value)
    return encode_default(value)


redis_hub = SocketHub(
    "/ws2", bus=RedisSocketBus("redis://127.0.0.1:6379/0"), codec=JSONCodec(default=default)
)


@redis_hub.on_connect
async def with_parameters(sock: ISocket, token: str = "", *, verbose: bool = False) -> None:
    """A hook may declare more parameters after the socket (filled by the hub)."""


async def health(request: Request) -> JSONResponse:
    bus = redis_hub.bus
    assert isinstance(bus, RedisSocketBus)
    status = await bus.health()
    return JSONResponse({"healthy": status.healthy, "topics": redis_hub.bus.topics()})


app = Starlette(
    routes=[hub, redis_hub, Route("/news", post_news, methods=["POST"]), Route("/health", health)],
    lifespan=hub.lifespan,
)
