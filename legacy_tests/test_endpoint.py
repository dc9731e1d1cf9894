"""0.1 low-level mode: ``route.endpoint`` and its parameter injection, and the ISocket
surface (properties, methods, ``reply`` / ``emit``)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.datastructures import URL, Headers, QueryParams, State
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from sockethub import ISocket, WebSocketRoute


def client_for(route: WebSocketRoute) -> TestClient:
    return TestClient(Starlette(routes=[route]))


def test_endpoint_returns_the_function() -> None:
    route = WebSocketRoute("/ws")

    async def echo(sock: ISocket) -> None:
        return None

    assert route.endpoint(echo) is echo


def test_sync_endpoint_is_refused_at_registration() -> None:
    route = WebSocketRoute("/ws")

    def sync_endpoint(sock: ISocket) -> None:
        return None

    with pytest.raises(TypeError):
        route.endpoint(sync_endpoint)


def test_parameters_are_injected_by_annotation_and_name() -> None:
    route = WebSocketRoute("/ws/{room}/{seat:int}")
    seen: dict[str, Any] = {}

    @route.endpoint
    async def endpoint(
        sock: ISocket,
        raw: WebSocket,
        room: str,
        seat: int,
        page: int,
        ratio: float,
        loud: bool,
        name: str = "anon",
    ) -> None:
        seen.update(
            raw_is_socket=raw is sock.websocket,
            room=room,
            seat=seat,
            page=page,
            ratio=ratio,
            loud=loud,
            name=name,
        )
        await sock.accept()
        await sock.close()

    with client_for(route).websocket_connect("/ws/kitchen/4?page=2&ratio=1.5&loud=no") as ws:
        with pytest.raises(WebSocketDisconnect):
            ws.receive_text()
    assert seen == {
        "raw_is_socket": True,
        "room": "kitchen",
        "seat": 4,
        "page": 2,
        "ratio": 1.5,
        "loud": False,
        "name": "anon",
    }


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("/ws", "missing required parameter 'page'"),
        ("/ws?page=two", "parameter 'page' must be int, got 'two'"),
        ("/ws?page=1&loud=maybe", "parameter 'loud' must be bool, got 'maybe'"),
    ],
)
def test_missing_or_unconvertible_param_is_refused_before_accept(url: str, reason: str) -> None:
    route = WebSocketRoute("/ws")
    ran: list[str] = []

    @route.endpoint
    async def endpoint(sock: ISocket, page: int, loud: bool = False) -> None:
        ran.append("endpoint")
        await sock.accept()

    with pytest.raises(WebSocketDisconnect) as refused:
        with client_for(route).websocket_connect(url):
            pass
    assert reason in refused.value.text  # type: ignore[attr-defined]
    assert ran == []


def test_exception_closes_1011_and_propagates() -> None:
    route = WebSocketRoute("/ws")

    @route.endpoint
    async def endpoint(sock: ISocket) -> None:
        await sock.accept()
        await sock.receive_text()
        raise ValueError("endpoint failed")

    with pytest.raises(ValueError, match="endpoint failed"):
        with client_for(route).websocket_connect("/ws") as ws:
            ws.send_text("go")
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_text()
            assert (closed.value.code, closed.value.reason) == (1011, "Internal Server Error")


def test_client_disconnect_is_not_an_error() -> None:
    route = WebSocketRoute("/ws")
    finished: list[str] = []

    @route.endpoint
    async def endpoint(sock: ISocket) -> None:
        await sock.accept()
        try:
            while True:
                await sock.receive_text()
        finally:
            finished.append("done")

    with client_for(route).websocket_connect("/ws") as ws:
        ws.send_text("a")
    assert finished == ["done"]


# -- ISocket --------------------------------------------------------------------------------


def test_isocket_properties_and_methods() -> None:
    route = WebSocketRoute("/ws/{room}")
    seen: dict[str, Any] = {}

    @route.endpoint
    async def endpoint(sock: ISocket, room: str) -> None:
        seen["types"] = (
            isinstance(sock.websocket, WebSocket),
            isinstance(sock.headers, Headers),
            isinstance(sock.query_params, QueryParams),
            isinstance(sock.url, URL),
            isinstance(sock.state, State),
        )
        seen["scope_type"] = sock.scope["type"]
        seen["header"] = sock.headers["x-token"]
        seen["query"] = sock.query_params["q"]
        seen["path_params"] = sock.path_params
        seen["url_path"] = sock.url.path
        seen["states_before"] = (sock.application_state, sock.client_state)
        sock.state.user = "ann"
        seen["state"] = sock.state.user
        seen["defaults"] = (sock.topic, dict(sock.params), dict(sock.assigns))
        await sock.accept(subprotocol="chat.v1")
        seen["states_after"] = (sock.application_state, sock.client_state)
        await sock.send_text(await sock.receive_text())
        await sock.send_bytes(await sock.receive_bytes())
        await sock.send_json(await sock.receive_json())
        sock.topic = "room:1"
        sock.params = {"id": "1"}
        sock.assigns["n"] = 1
        await sock.reply({"a": 1})
        await sock.reply("x", event="custom")
        await sock.emit([1, 2])
        await sock.emit(None, event="other")
        await sock.close(code=4000, reason="bye")

    client = client_for(route)
    with client.websocket_connect(
        "/ws/lobby?q=search", subprotocols=["chat.v1"], headers={"x-token": "t"}
    ) as ws:
        assert ws.accepted_subprotocol == "chat.v1"
        ws.send_text("text")
        assert ws.receive_text() == "text"
        ws.send_bytes(b"\x00bytes")
        assert ws.receive_bytes() == b"\x00bytes"
        ws.send_json({"k": "é"})
        assert ws.receive_text() == '{"k":"é"}'
        assert ws.receive_text() == '{"topic":"room:1","event":"reply","payload":{"a":1}}'
        assert ws.receive_text() == '{"topic":"room:1","event":"custom","payload":"x"}'
        assert ws.receive_text() == '{"topic":"room:1","event":"emit","payload":[1,2]}'
        assert ws.receive_text() == '{"topic":"room:1","event":"other","payload":null}'
        assert ws.receive() == {"type": "websocket.close", "code": 4000, "reason": "bye"}

    assert seen["types"] == (True, True, True, True, True)
    assert seen["scope_type"] == "websocket"
    assert (seen["header"], seen["query"]) == ("t", "search")
    assert seen["path_params"] == {"room": "lobby"}
    assert seen["url_path"] == "/ws/lobby"
    assert seen["states_before"] == (WebSocketState.CONNECTING, WebSocketState.CONNECTING)
    assert seen["states_after"] == (WebSocketState.CONNECTED, WebSocketState.CONNECTED)
    assert seen["state"] == "ann"
    assert seen["defaults"] == (None, {}, {})


def test_isocket_in_managed_callbacks() -> None:
    route = WebSocketRoute("/ws/{room}")
    room = route.channel("room:{id}")
    seen: dict[str, Any] = {}

    @route.on_connect
    async def on_connect(sock: ISocket) -> None:
        seen["connect"] = (sock.application_state, sock.path_params, sock.query_params["q"])

    @room.on_receive("probe")
    async def probe(payload: Any, sock: ISocket) -> None:
        seen["receive"] = (sock.application_state, sock.headers["x-token"], sock.url.path)
        await sock.send_json({"raw": True})
        await sock.send_text("plain text")
        await sock.send_bytes(b"\x01")

    with client_for(route).websocket_connect("/ws/r?q=1", headers={"x-token": "t"}) as ws:
        ws.send_json({"topic": "room:1", "event": "join"})
        ws.send_json({"topic": "room:1", "event": "probe"})
        assert ws.receive_text() == '{"raw":true}'
        assert ws.receive_text() == "plain text"
        assert ws.receive_bytes() == b"\x01"
    assert seen["connect"] == (WebSocketState.CONNECTING, {"room": "r"}, "1")
    assert seen["receive"] == (WebSocketState.CONNECTED, "t", "/ws/r")


def test_publish_needs_a_managed_route() -> None:
    route = WebSocketRoute("/ws")
    errors: list[str] = []

    @route.endpoint
    async def endpoint(sock: ISocket) -> None:
        await sock.accept()
        sock.topic = "room:1"
        try:
            await sock.publish({"x": 1})
        except RuntimeError as exc:
            errors.append(str(exc))
        await sock.close()

    with client_for(route).websocket_connect("/ws") as ws:
        with pytest.raises(WebSocketDisconnect):
            ws.receive_text()
    assert errors == ["publish backend or topic not set"]
