"""ISocket on a low-level route: every property and method of the 0.1 contract."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.datastructures import URL, Headers, QueryParams, State
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from sockethub import ISocket, RejectError, WebSocketRoute


def client_for(
    func: Callable[..., Awaitable[None]], path: str = "/ws", **app_kwargs: Any
) -> TestClient:
    route = WebSocketRoute(path)
    route.endpoint(func)
    return TestClient(Starlette(routes=[route], **app_kwargs))


# -- properties ---------------------------------------------------------------------------------


def test_connection_properties() -> None:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        yield {"db": "the-db"}

    async def f(sock: ISocket, raw: WebSocket) -> None:
        assert sock.websocket is raw
        assert sock.scope is raw.scope
        assert sock.scope["type"] == "websocket"
        assert isinstance(sock.state, State)
        assert sock.state.db == "the-db"  # lifespan state reaches the connection
        assert isinstance(sock.headers, Headers)
        assert isinstance(sock.query_params, QueryParams)
        assert isinstance(sock.url, URL)
        states = [sock.application_state, sock.client_state]
        await sock.accept()
        states += [sock.application_state, sock.client_state]
        await sock.send_json(
            {
                "header": sock.headers["x-token"],
                "query": sock.query_params.getlist("q"),
                "path_params": sock.path_params,
                "url": str(sock.url),
                "path": sock.url.path,
                "states": [s.name for s in states],
            }
        )
        await sock.close()

    client = client_for(f, "/ws/{room}/{n:int}", lifespan=lifespan)
    with client, client.websocket_connect("/ws/blue/3?q=a&q=b", headers={"X-Token": "t0k"}) as ws:
        assert ws.receive_json() == {
            "header": "t0k",
            "query": ["a", "b"],
            "path_params": {"room": "blue", "n": 3},
            "url": "ws://testserver/ws/blue/3?q=a&q=b",
            "path": "/ws/blue/3",
            "states": ["CONNECTING", "CONNECTING", "CONNECTED", "CONNECTED"],
        }


def test_states_after_close() -> None:
    seen: list[WebSocketState] = []

    async def f(sock: ISocket) -> None:
        await sock.accept()
        await sock.close()
        seen.append(sock.application_state)
        await sock.close()  # closing twice is a no-op

    with client_for(f) as client, client.websocket_connect("/ws") as ws:
        assert ws.receive()["type"] == "websocket.close"
    assert seen == [WebSocketState.DISCONNECTED]


def test_client_state_after_client_disconnect() -> None:
    seen: list[WebSocketState] = []

    async def f(sock: ISocket) -> None:
        await sock.accept()
        message = await sock.websocket.receive()
        seen.append(sock.client_state)
        assert message["type"] == "websocket.disconnect"

    with client_for(f) as client, client.websocket_connect("/ws") as ws:
        ws.close()
    assert seen == [WebSocketState.DISCONNECTED]


# -- accept / close ----------------------------------------------------------------------------


def test_accept_with_subprotocol() -> None:
    async def f(sock: ISocket) -> None:
        offered = sock.scope["subprotocols"]
        await sock.accept(subprotocol="v2.chat")
        await sock.send_json(offered)
        await sock.close()

    with (
        client_for(f) as client,
        client.websocket_connect("/ws", subprotocols=["v1.chat", "v2.chat"]) as ws,
    ):
        assert ws.accepted_subprotocol == "v2.chat"
        assert ws.receive_json() == ["v1.chat", "v2.chat"]


def test_accept_with_headers() -> None:
    async def f(sock: ISocket) -> None:
        await sock.accept(headers=[(b"x-served-by", b"sockethub")])
        await sock.close()

    with client_for(f) as client, client.websocket_connect("/ws") as ws:
        assert ws.extra_headers == [(b"x-served-by", b"sockethub")]


@pytest.mark.parametrize(("code", "reason"), [(1000, None), (4000, "custom"), (1001, "away")])
def test_close_code_and_reason(code: int, reason: str | None) -> None:
    async def f(sock: ISocket) -> None:
        await sock.accept()
        if reason is None:
            await sock.close()
        else:
            await sock.close(code, reason)

    with client_for(f) as client, client.websocket_connect("/ws") as ws:
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_text()
    assert info.value.code == code
    assert info.value.reason == (reason or "")


def test_close_before_accept_refuses() -> None:
    async def f(sock: ISocket) -> None:
        await sock.close(4401, "who are you")

    with client_for(f) as client:
        with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect("/ws"):
            pass
    assert (info.value.code, info.value.reason) == (4401, "who are you")


# -- send / receive ------------------------------------------------------------------------------


def test_send_and_receive_text_bytes_json() -> None:
    async def f(sock: ISocket) -> None:
        await sock.accept()
        text = await sock.receive_text()
        await sock.send_text(text[::-1])
        data = await sock.receive_bytes()
        await sock.send_bytes(data * 2)
        obj = await sock.receive_json()
        await sock.send_json({"got": obj, "é": "ü"})
        obj = await sock.receive_json(mode="binary")
        await sock.send_json(obj, mode="binary")
        await sock.close()

    with client_for(f) as client, client.websocket_connect("/ws") as ws:
        ws.send_text("abc")
        assert ws.receive_text() == "cba"
        ws.send_bytes(b"\x00\x01")
        assert ws.receive_bytes() == b"\x00\x01\x00\x01"
        ws.send_json([1, {"a": None}])
        # compact separators and UTF-8 text (ensure_ascii=False), like Starlette
        assert ws.receive_text() == '{"got":[1,{"a":null}],"é":"ü"}'
        ws.send_json({"bin": True}, mode="binary")
        assert ws.receive_bytes() == b'{"bin":true}'


# -- per-connection state ---------------------------------------------------------------------------


def test_topic_params_assigns_are_mutable_and_fresh_per_connection() -> None:
    async def f(sock: ISocket) -> None:
        before = {"topic": sock.topic, "params": sock.params, "assigns": sock.assigns}
        await sock.accept()
        await sock.send_json(before)
        sock.topic = "room:1"
        sock.params = {"id": "1"}
        sock.assigns["user"] = "ann"
        sock.params["extra"] = "x"
        await sock.send_json({"topic": sock.topic, "params": sock.params, "assigns": sock.assigns})
        await sock.close()

    with client_for(f) as client:
        for _ in range(2):
            with client.websocket_connect("/ws") as ws:
                assert ws.receive_json() == {"topic": None, "params": {}, "assigns": {}}
                assert ws.receive_json() == {
                    "topic": "room:1",
                    "params": {"id": "1", "extra": "x"},
                    "assigns": {"user": "ann"},
                }


# -- reply / emit / publish ---------------------------------------------------------------------------


def test_reply_and_emit_frames() -> None:
    async def f(sock: ISocket) -> None:
        await sock.accept()
        await sock.reply({"a": 1})
        await sock.emit([1, 2])
        sock.topic = "room:7"
        await sock.reply("hi", event="said")
        await sock.emit(None, event="tick")
        await sock.reply({"a": 1})
        await sock.emit("x")
        await sock.close()

    with client_for(f) as client, client.websocket_connect("/ws") as ws:
        assert ws.receive_text() == '{"topic":null,"event":"reply","payload":{"a":1}}'
        assert ws.receive_json() == {"topic": None, "event": "emit", "payload": [1, 2]}
        assert ws.receive_json() == {"topic": "room:7", "event": "said", "payload": "hi"}
        assert ws.receive_json() == {"topic": "room:7", "event": "tick", "payload": None}
        assert ws.receive_json() == {"topic": "room:7", "event": "reply", "payload": {"a": 1}}
        assert ws.receive_json() == {"topic": "room:7", "event": "emit", "payload": "x"}


def test_publish_on_a_low_level_socket_raises() -> None:
    errors: list[str] = []

    async def f(sock: ISocket) -> None:
        await sock.accept()
        for topic in (None, "room:1"):
            sock.topic = topic
            try:
                await sock.publish({"x": 1})
            except RuntimeError as exc:
                errors.append(str(exc))
        try:
            await sock.publish("x", event="e", topic="other", exclude_self=True)
        except RuntimeError as exc:
            errors.append(str(exc))
        await sock.send_text("done")
        await sock.close()

    with client_for(f) as client, client.websocket_connect("/ws") as ws:
        assert ws.receive_text() == "done"  # nothing was sent by the failed publishes
    assert errors == ["publish backend or topic not set"] * 3


# -- allow_if -----------------------------------------------------------------------------------------


def test_allow_if_true_does_nothing() -> None:
    async def f(sock: ISocket) -> None:
        await sock.allow_if(True)
        await sock.allow_if("non-empty")
        await sock.accept()
        await sock.send_text("in")
        await sock.close()

    with client_for(f) as client, client.websocket_connect("/ws") as ws:
        assert ws.receive_text() == "in"


@pytest.mark.parametrize(
    ("kwargs", "code", "reason"),
    [({}, 4403, "Forbidden"), ({"code": 4401, "reason": "Unauthorized"}, 4401, "Unauthorized")],
)
def test_allow_if_false_closes_and_raises_reject_error(
    kwargs: dict[str, Any], code: int, reason: str
) -> None:
    raised: list[RejectError] = []

    async def f(sock: ISocket) -> None:
        try:
            await sock.allow_if(0, **kwargs)
        except RejectError as exc:
            raised.append(exc)
            assert sock.application_state is WebSocketState.DISCONNECTED
            raise

    with client_for(f) as client:
        with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect("/ws"):
            pass
    assert (info.value.code, info.value.reason) == (code, reason)
    assert [str(e) for e in raised] == [reason]


def test_repr() -> None:
    shown: list[str] = []

    async def f(sock: ISocket) -> None:
        sock.topic = "t"
        shown.append(repr(sock))
        await sock.close()

    with client_for(f) as client:
        with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws"):
            pass
    assert shown == ["<ISocket /ws from testclient:50000 topic='t'>"]
