"""A callback's first step runs at once, without the timeout or the watch it would need
if it waited: whether a callback returns, raises or is cancelled before or after its
first ``await``, the client sees the same thing, and a callback that waits is still
under ``callback_timeout`` and still watched (heartbeats answered while it runs)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sockethub import HubLimits, ISocket, SocketHub
from sockethub.testing import HubClient, PushError
from tests.hub.helpers import app_for


def build() -> SocketHub:
    hub = SocketHub("/ws", limits=HubLimits(callback_timeout=0.3))
    room = hub.channel("room")

    async def maybe_wait(payload: Any) -> None:
        if payload == "after an await":
            await asyncio.sleep(0)

    @room.on_receive("echo")
    async def echo(payload: Any, sock: ISocket) -> Any:
        await maybe_wait(payload)
        return payload

    @room.on_receive("fail")
    async def fail(payload: Any, sock: ISocket) -> Any:
        await maybe_wait(payload)
        raise ValueError("no")

    @room.on_receive("cancel")
    async def cancel(payload: Any, sock: ISocket) -> Any:
        await maybe_wait(payload)
        raise asyncio.CancelledError

    @room.on_receive("slow")
    async def slow(payload: Any, sock: ISocket) -> Any:
        await asyncio.sleep(5)

    return hub


def answers(ws: Any, event: str, payload: str) -> Any:
    try:
        return ["ok", ws.push("room", event, payload)]
    except PushError as exc:
        return ["error", exc.reason, exc.response]


@pytest.mark.parametrize("event", ["echo", "fail", "cancel"])
def test_before_or_after_the_first_await_the_client_sees_the_same(event: str) -> None:
    with HubClient(app_for(build())) as client, client.connect("/ws") as ws:
        ws.join("room")
        now = answers(ws, event, "at once")
        later = answers(ws, event, "after an await")
        if event == "echo":
            assert (now, later) == (["ok", "at once"], ["ok", "after an await"])
        else:
            assert now == later and now[0] == "error"
        assert answers(ws, "echo", "still here") == ["ok", "still here"]


def test_a_callback_that_waits_is_still_under_callback_timeout() -> None:
    with HubClient(app_for(build())) as client, client.connect("/ws") as ws:
        ws.join("room")
        kind, *_ = answers(ws, "slow", "")
        assert kind == "error"
        assert answers(ws, "echo", "after") == ["ok", "after"]
