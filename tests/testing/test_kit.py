"""sockethub.testing: the sync kit (TestClient) and the async kit (in-process ASGI), in
both wire protocols, over the Phoenix suites' app; and that its checks do fail."""

from __future__ import annotations

import contextlib
import unittest
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette

from sockethub import ISocket, SocketHub
from sockethub.testing import (
    ANY,
    AsyncHubClient,
    ConnectRefused,
    Disconnected,
    HubClient,
    JoinError,
    PushError,
    ReplyTimeout,
)
from tests.phoenix.app import PhoenixApp, build

PATH = "/socket/websocket"
PROTOCOLS = ["envelope", "phoenix"]


@pytest.fixture
def papp() -> PhoenixApp:
    return build()


@pytest.fixture
def client(papp: PhoenixApp) -> Iterator[HubClient]:
    with HubClient(papp.app) as client:
        yield client


def empty_join(protocol: str) -> Any:
    return {} if protocol == "phoenix" else None


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_sync_join_push_expect_publish_leave(
    client: HubClient, papp: PhoenixApp, protocol: Any
) -> None:
    with client.connect(PATH, protocol=protocol, query={"user": "ann"}) as ws:
        assert ws.join("room:greet") == {"welcome": "room:greet"}
        assert ws.join("room:a") == empty_join(protocol)
        assert ws.push("room:a", "whoami") == {"user": "ann", "topic": "room:a"}
        with pytest.raises(PushError) as failed:
            ws.push("room:a", "fail", 3)
        assert failed.value.response == {"reason": "Not allowed", "asked": 3}
        with pytest.raises(JoinError) as refused:
            ws.join("room:secret", {"password": "no"})
        assert refused.value.reason == "Wrong password"
        assert "room:secret" not in ws.joined
        ws.push("room:a", "shout", {"s": 1})
        frame = ws.expect("room:a", "shouted", {"s": 1})
        assert frame.ref is None
        client.publish(papp.hub, "room:a", "news", [1, 2])
        ws.expect("room:a", "news", [1, 2])
        ws.assert_nothing_pending()
        assert ws.leave("room:a") == empty_join(protocol)
        client.publish(papp.hub, "room:a", "news", "unseen")
        ws.assert_nothing_pending()
    assert papp.seen.exits == ["room:a", "room:greet"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_async_kit_drives_the_app_in_process(protocol: Any) -> None:
    papp = build()
    async with AsyncHubClient(papp.app) as client:
        ws = await client.connect(f"{PATH}?user=bob", protocol=protocol)
        assert await ws.join("room:x") == empty_join(protocol)
        other = await client.connect(PATH, protocol=protocol, query={"user": "cy"})
        await other.join("room:x")
        await other.push("room:x", "shout_others", "hey")
        await ws.expect("room:x", "shouted", "hey")
        await other.assert_nothing_pending()
        await ws.assert_nothing_pending()
        await client.publish(papp.hub, "room:x", "tick", 1)
        assert (await ws.receive()).payload == 1
        assert (await other.receive()).payload == 1
        await ws.close()
    assert papp.seen.disconnects == 2, "sockets left open are closed by the client"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_refused_handshake_is_observable(client: HubClient, protocol: Any) -> None:
    with pytest.raises(ConnectRefused) as refused:
        client.connect(PATH, protocol=protocol, query={"user": "mallory"})
    assert (refused.value.code, refused.value.reason) == (4403, "Banned")


def test_an_http_refusal_carries_status_and_body() -> None:
    hub = SocketHub("/ws", allowed_origins=["https://good.example"])
    with HubClient(Starlette(routes=[hub], lifespan=hub.lifespan)) as client:
        with pytest.raises(ConnectRefused) as refused:
            client.connect("/ws", headers={"origin": "https://evil.example"})
        assert (refused.value.status, refused.value.reason) == (403, "Origin not allowed")
        with client.connect("/ws", headers={"origin": "https://good.example"}) as ws:
            ws.assert_nothing_pending()


def test_headers_subprotocols_and_lifespan_state_reach_the_app() -> None:
    hub = SocketHub("/ws")
    seen: dict[str, Any] = {}

    @hub.on_connect
    async def connect(sock: ISocket) -> None:
        seen.setdefault("headers", []).append(sock.headers.get("x-test"))
        seen["state"] = sock.websocket.state.ready

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with hub.lifespan(app):
            yield {"ready": "yes"}

    with HubClient(Starlette(routes=[hub], lifespan=lifespan)) as client:
        with client.connect("/ws", headers={"X-Test": "1"}) as ws:
            ws.assert_nothing_pending()
        with client.connect(PATH.replace("/socket/websocket", "/ws"), protocol="phoenix") as ws:
            assert ws.accepted_subprotocol is None
    assert seen == {"headers": ["1", None], "state": "yes"}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_expect_fails_on_the_wrong_frame_and_times_out_clearly(
    client: HubClient, papp: PhoenixApp, protocol: Any
) -> None:
    with client.connect(PATH, protocol=protocol) as ws:
        ws.join("room:e")
        client.publish(papp.hub, "room:e", "one", 1)
        with pytest.raises(AssertionError, match="payload differs"):
            ws.expect("room:e", "one", 2)
        with pytest.raises(ReplyTimeout, match="no frame topic='room:e' event='two'"):
            ws.expect("room:e", "two", timeout=0.05)
        client.publish(papp.hub, "room:e", "three", 3)
        with pytest.raises(AssertionError, match=r"a frame was pending.*'three'"):
            ws.assert_nothing_pending()
        ws.expect("room:e", "three", 3)
        ws.assert_nothing_pending()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_frames_before_a_reply_are_kept_in_order(
    client: HubClient, papp: PhoenixApp, protocol: Any
) -> None:
    with client.connect(PATH, protocol=protocol) as ws:
        ws.join("room:k")
        client.publish(papp.hub, "room:k", "first", 1)
        assert ws.push("room:k", "echo", "reply") == "reply"
        with pytest.raises(AssertionError, match="frames pending"):
            ws.assert_nothing_pending()
        assert ws.expect(event="first").payload == 1
        ws.assert_nothing_pending()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_errors_and_server_closes(client: HubClient, protocol: Any) -> None:
    with client.connect(PATH, protocol=protocol) as ws:
        ws.send("room:none", "hello", ref="r1")
        assert ws.expect_error(4404).response["reason"] == "Topic not found"
        ws.send_text("not json")
        assert ws.expect_error(4400).response["code"] == 4400
        ws.assert_nothing_pending()
    with client.connect("/idle/websocket", protocol=protocol) as ws:
        assert ws.wait_closed() == (1000, "Idle timeout")
        with pytest.raises(Disconnected):
            ws.receive()


async def lifespan(receive: Any, send: Any) -> None:
    """The lifespan of a bare ASGI app: start, then wait for the shutdown."""
    while (await receive())["type"] != "lifespan.shutdown":
        await send({"type": "lifespan.startup.complete"})
    await send({"type": "lifespan.shutdown.complete"})


def test_an_app_exception_is_raised_in_the_test() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return await lifespan(receive, send)
        await receive()
        await send({"type": "websocket.accept"})
        await receive()
        raise RuntimeError("the app failed")

    with HubClient(app) as client, client.connect("/") as ws:
        ws.send_text("x")
        with pytest.raises(RuntimeError, match="the app failed"):
            ws.receive()


def test_any_matches_everything(client: HubClient, papp: PhoenixApp) -> None:
    with client.connect(PATH) as ws:
        ws.join("room:any")
        client.publish(papp.hub, "room:any", "e", {"a": 1})
        assert ws.expect(ANY, ANY, ANY).payload == {"a": 1}


class UnittestUse(unittest.TestCase):
    """The kit needs no pytest: a plain ``unittest`` case."""

    def test_sync(self) -> None:
        papp = build()
        with HubClient(papp.app) as client, client.connect(PATH, protocol="phoenix") as ws:
            self.assertEqual(ws.join("room:u"), {})  # noqa: PT009
            self.assertEqual(ws.push("room:u", "echo", 5), 5)  # noqa: PT009
            ws.assert_nothing_pending()


class AsyncUnittestUse(unittest.IsolatedAsyncioTestCase):
    async def test_async(self) -> None:
        papp = build()
        async with AsyncHubClient(papp.app) as client:
            ws = await client.connect(PATH)
            self.assertIsNone(await ws.join("room:u"))  # noqa: PT009
            self.assertEqual(await ws.push("room:u", "echo", 5), 5)  # noqa: PT009
            await ws.assert_nothing_pending()


def test_the_optional_pytest_fixture(hub_client: HubClient) -> None:
    with hub_client.connect(PATH, protocol="phoenix") as ws:
        assert ws.join("room:f") == {}
        ws.assert_nothing_pending()


@pytest.mark.parametrize("text", ['{"n":NaN}', "[Infinity]", '"\ud800"'])
def test_receive_json_refuses_what_browsers_refuse(text: str) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return await lifespan(receive, send)
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": text})
        await send({"type": "websocket.send", "text": '{"n":1}'})
        await receive()

    with HubClient(app) as client, client.connect("/") as ws:
        with pytest.raises(AssertionError, match="browsers refuse"):
            ws.receive_json()
        assert ws.receive_json() == {"n": 1}


def test_without_an_http_client_the_async_kit_works_and_the_sync_one_says_why() -> None:
    import subprocess
    import sys

    code = """
import asyncio, sys
sys.modules["httpx"] = sys.modules["httpx2"] = None
from sockethub import SocketHub
from sockethub.testing import AsyncHubClient, HubClient
from starlette.applications import Starlette
hub = SocketHub("/ws")
hub.channel("room")
app = Starlette(routes=[hub], lifespan=hub.lifespan)
async def main():
    async with AsyncHubClient(app) as client:
        ws = await client.connect("/ws")
        assert await ws.join("room") is None
        await ws.assert_nothing_pending()
asyncio.run(main())
try:
    HubClient(app)
except ImportError as exc:
    print(exc)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "HubClient runs on Starlette's TestClient" in done.stdout
    assert "AsyncHubClient" in done.stdout
