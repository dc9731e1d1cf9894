"""The low-level WebSocketRoute: ``route.endpoint(func)`` drives each connection.

Registration (async only, once), the handshake refusal for bad parameters, errors from
the endpoint (close 1011, re-raised to the server), client disconnects (not errors), and
a route with no endpoint asked to serve a connection (a loud server-side error).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import MutableMapping
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect, WebSocketState

from sockethub import ISocket, WebSocketRoute
from sockethub.websocket import WebSocketEndpoint


class Boom(Exception):
    pass


def client_for(*routes: WebSocketRoute) -> TestClient:
    return TestClient(Starlette(routes=list(routes)))


# -- registration ---------------------------------------------------------------------------


def test_endpoint_returns_the_function_and_can_decorate() -> None:
    route = WebSocketRoute("/ws")

    async def f(sock: ISocket) -> None:
        await sock.close()

    assert route.endpoint(f) is f
    assert route.has_endpoint()
    assert isinstance(route.ws_endpoint, WebSocketEndpoint)
    assert route.ws_endpoint.func is f


def test_sync_function_refused_at_registration() -> None:
    route = WebSocketRoute("/ws")

    def handler(sock: ISocket) -> None:
        return None

    with pytest.raises(TypeError, match=r"must be an async function \(async def\).*handler"):
        route.endpoint(handler)  # type: ignore[type-var]
    assert not route.has_endpoint()
    # the route stays usable: an async function can still be registered
    route.endpoint(_closer)


async def _closer(sock: ISocket) -> None:
    await sock.accept()
    await sock.send_text("ok")
    await sock.close()


def test_sync_lambda_and_partial_of_sync_refused() -> None:
    def sync(sock: ISocket, x: str) -> None:
        return None

    for func in (lambda sock: None, functools.partial(sync, x="1")):
        with pytest.raises(TypeError, match="async function"):
            WebSocketRoute("/ws").endpoint(func)  # type: ignore[type-var]


def test_async_callable_object_and_partial_accepted() -> None:
    class Handler:
        async def __call__(self, sock: ISocket, greeting: str) -> None:
            await sock.accept()
            await sock.send_text(greeting)
            await sock.close()

    async def greet(sock: ISocket, greeting: str, name: str) -> None:
        await sock.accept()
        await sock.send_text(f"{greeting} {name}")
        await sock.close()

    a = WebSocketRoute("/a")
    a.endpoint(Handler())
    b = WebSocketRoute("/b")
    b.endpoint(functools.partial(greet, greeting="hi"))
    with client_for(a, b) as client:
        with client.websocket_connect("/a?greeting=yo") as ws:
            assert ws.receive_text() == "yo"
        with client.websocket_connect("/b?name=bob") as ws:
            assert ws.receive_text() == "hi bob"


def test_endpoint_registered_twice_is_an_error() -> None:
    route = WebSocketRoute("/ws/{room}")
    route.endpoint(_closer)
    with pytest.raises(RuntimeError, match=r"'/ws/\{room\}' already has an endpoint"):
        route.endpoint(_closer)
    assert route.ws_endpoint.func is _closer  # type: ignore[union-attr]


# -- serving ----------------------------------------------------------------------------------


def test_endpoint_accepts_and_closes_itself() -> None:
    route = WebSocketRoute("/ws")
    route.endpoint(_closer)
    with client_for(route) as client, client.websocket_connect("/ws") as ws:
        assert ws.receive_text() == "ok"
        message = ws.receive()
    assert message["type"] == "websocket.close"
    assert message["code"] == 1000


def test_each_connection_gets_its_own_socket() -> None:
    route = WebSocketRoute("/ws")
    seen: list[ISocket] = []

    @route.endpoint
    async def count(sock: ISocket) -> None:
        seen.append(sock)
        sock.assigns["n"] = len(seen)
        await sock.accept()
        await sock.send_json(sock.assigns)
        await sock.close()

    with client_for(route) as client:
        for n in (1, 2):
            with client.websocket_connect("/ws") as ws:
                assert ws.receive_json() == {"n": n}
    assert seen[0] is not seen[1]


def test_bad_parameter_refuses_with_400_and_the_endpoint_never_runs() -> None:
    route = WebSocketRoute("/ws/{room}")
    runs: list[str] = []

    @route.endpoint
    async def f(sock: ISocket, room: str, n: int) -> None:
        runs.append(room)
        await sock.accept()

    with client_for(route) as client:
        with pytest.raises(WebSocketDenialResponse) as info, client.websocket_connect("/ws/r"):
            pass
        assert info.value.status_code == 400
        assert info.value.text == "missing required parameter 'n'"
        with pytest.raises(WebSocketDenialResponse) as info, client.websocket_connect("/ws/r?n=x"):
            pass
        assert info.value.status_code == 400
        assert info.value.text == "parameter 'n' must be int, got 'x'"
    assert runs == []


def test_refusal_is_logged_at_info(caplog: pytest.LogCaptureFixture) -> None:
    route = WebSocketRoute("/ws")

    @route.endpoint
    async def f(sock: ISocket, n: int) -> None:
        await sock.accept()

    caplog.set_level(logging.INFO, logger="sockethub")
    with client_for(route) as client:
        with pytest.raises(WebSocketDenialResponse), client.websocket_connect("/ws"):
            pass
    assert any(
        r.name == "sockethub.handshake" and "missing required parameter 'n'" in r.getMessage()
        for r in caplog.records
    )


def test_refusal_without_denial_extension_closes_1008() -> None:
    """A server without ``websocket.http.response`` gets close 1008 with the reason."""
    route = WebSocketRoute("/ws")

    @route.endpoint
    async def f(sock: ISocket, n: int) -> None:
        await sock.accept()

    sent: list[MutableMapping[str, Any]] = []
    messages = iter([{"type": "websocket.connect"}])

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "websocket",
        "path": "/ws",
        "raw_path": b"/ws",
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "path_params": {},
        "extensions": {},
    }
    assert route.ws_endpoint is not None
    asyncio.run(route.ws_endpoint(scope, receive, send))
    assert sent == [
        {"type": "websocket.close", "code": 1008, "reason": "missing required parameter 'n'"}
    ]


def test_endpoint_exception_closes_1011_and_reaches_the_server() -> None:
    route = WebSocketRoute("/ws")

    @route.endpoint
    async def f(sock: ISocket) -> None:
        await sock.accept()
        await sock.receive_text()
        raise Boom("kaput")

    with client_for(route) as client:
        with pytest.raises(Boom, match="kaput"), client.websocket_connect("/ws") as ws:
            ws.send_text("go")
            message = ws.receive()
            assert message == {
                "type": "websocket.close",
                "code": 1011,
                "reason": "Internal Server Error",
            }


def test_endpoint_exception_before_accept_reaches_the_server() -> None:
    route = WebSocketRoute("/ws")

    @route.endpoint
    async def f(sock: ISocket) -> None:
        raise Boom("early")

    with client_for(route) as client:
        with pytest.raises(Boom, match="early"), client.websocket_connect("/ws"):
            pass


def test_endpoint_exception_after_its_own_close_is_not_closed_again() -> None:
    route = WebSocketRoute("/ws")

    @route.endpoint
    async def f(sock: ISocket) -> None:
        await sock.accept()
        await sock.close(4000, "bye")
        assert sock.application_state is WebSocketState.DISCONNECTED
        raise Boom("after close")

    with client_for(route) as client:
        with pytest.raises(Boom), client.websocket_connect("/ws") as ws:
            assert ws.receive() == {"type": "websocket.close", "code": 4000, "reason": "bye"}


def test_client_disconnect_is_not_an_error() -> None:
    route = WebSocketRoute("/ws")
    outcome: list[int] = []

    @route.endpoint
    async def f(sock: ISocket) -> None:
        await sock.accept()
        try:
            while True:
                await sock.receive_text()
        except WebSocketDisconnect as exc:
            outcome.append(exc.code)
            raise  # escaping the endpoint: still not an error

    with client_for(route) as client:
        with client.websocket_connect("/ws") as ws:
            ws.send_text("hi")
            ws.close(1001)
    assert outcome == [1001]


def test_allow_if_false_in_an_endpoint_refuses_quietly() -> None:
    route = WebSocketRoute("/ws")
    after: list[str] = []

    @route.endpoint
    async def f(sock: ISocket, token: str = "") -> None:
        await sock.allow_if(token == "secret", code=4401, reason="bad token")
        after.append(token)
        await sock.accept()
        await sock.send_text("welcome")
        await sock.close()

    with client_for(route) as client:
        # refused before accept: no exception reaches the server (TestClient would re-raise)
        with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect("/ws?token=x"):
            pass
        assert (info.value.code, info.value.reason) == (4401, "bad token")
        with client.websocket_connect("/ws?token=secret") as ws:
            assert ws.receive_text() == "welcome"
    assert after == ["secret"]


def test_allow_if_false_after_accept_closes_quietly() -> None:
    route = WebSocketRoute("/ws")

    @route.endpoint
    async def f(sock: ISocket) -> None:
        await sock.accept()
        text = await sock.receive_text()
        await sock.allow_if(text == "ok")

    with client_for(route) as client, client.websocket_connect("/ws") as ws:
        ws.send_text("no")
        assert ws.receive() == {"type": "websocket.close", "code": 4403, "reason": "Forbidden"}


# -- routes without an endpoint ---------------------------------------------------------------


def test_route_without_endpoint_asked_to_serve_fails_loudly() -> None:
    route = WebSocketRoute("/ws/{room}")
    assert not route.has_endpoint()
    with client_for(route) as client:
        with (
            pytest.raises(RuntimeError, match=r"'/ws/\{room\}' has no endpoint"),
            client.websocket_connect("/ws/r"),
        ):
            pass


def test_container_route_is_fine_and_serves_children() -> None:
    root = WebSocketRoute("/ws")
    root.sub("/a").endpoint(_closer)
    other = WebSocketRoute("/b")
    other.endpoint(_closer)
    root.merge(other)
    with client_for(root) as client:
        for path in ("/ws/a", "/ws/b"):
            with client.websocket_connect(path) as ws:
                assert ws.receive_text() == "ok"


def test_empty_child_route_asked_to_serve_fails_loudly() -> None:
    root = WebSocketRoute("/ws")
    root.sub("/a").endpoint(_closer)
    root.sub("/empty")
    with client_for(root) as client:
        with (
            pytest.raises(RuntimeError, match="'/ws/empty' has no endpoint"),
            client.websocket_connect("/ws/empty"),
        ):
            pass


def test_repr_names_path_and_name() -> None:
    route = WebSocketRoute("/ws")
    route.endpoint(_closer)
    assert repr(route) == "WebSocketRoute(path='/ws', name='_closer')"
