"""sockethub.client against a real uvicorn server, in both protocols: replies and error
replies, broadcasts, a refused handshake, a server restart (reconnect, rejoin with fresh
params, receive again) and a Phoenix heartbeat timeout."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from sockethub.client import (
    Backoff,
    Client,
    ConnectRefused,
    Frame,
    JoinError,
    PushError,
    ReplyTimeout,
)
from tests.bus.support import eventually
from tests.support import free_port, uvicorn_process

pytestmark = pytest.mark.e2e

APP = "tests.client.served:app"
WAIT = 15.0
FAST = Backoff(initial=0.05, factor=2.0, maximum=0.5, jitter=0.2)
PROTOCOLS = ["envelope", "phoenix"]


@pytest.fixture(scope="module")
def server() -> Iterator[int]:
    with uvicorn_process(APP) as (port, _proc):
        yield port


def url(port: int, user: str = "bot") -> str:
    return f"ws://127.0.0.1:{port}/socket/websocket?user={user}"


async def until(event: asyncio.Event) -> None:
    await asyncio.wait_for(event.wait(), WAIT)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_join_push_replies_and_errors(server: int, protocol: Any) -> None:
    async with Client(url(server), protocol=protocol) as client:
        assert await client.channel("room:greet").join() == {"welcome": "room:greet"}
        room = client.channel("room:a")
        assert await room.join() == ({} if protocol == "phoenix" else None)
        assert await room.push("echo", {"n": 1}) == {"n": 1}
        assert await room.push("whoami") == {"user": "bot", "topic": "room:a"}
        with pytest.raises(PushError) as failed:
            await room.push("fail", 7)
        assert failed.value.response == {"reason": "Not allowed", "asked": 7}
        assert failed.value.reason == "Not allowed"
        with pytest.raises(JoinError) as refused:
            await client.channel("room:secret", {"password": "nope"}).join()
        assert refused.value.reason == "Wrong password"
        assert await client.channel("room:secret", {"password": "sesame"}).join() is not False
        with pytest.raises(ReplyTimeout):
            await room.push("slow", 5, timeout=0.2)
        # the connection is still usable after a timed-out push
        assert await room.push("echo", "after") == "after"


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_broadcasts_reach_iterator_and_callbacks(server: int, protocol: Any) -> None:
    seen: list[Frame] = []
    called = asyncio.Event()

    def on_shout(frame: Frame) -> None:
        seen.append(frame)
        called.set()

    async with (
        Client(url(server, "ann"), protocol=protocol) as ann,
        Client(url(server, "bob"), protocol=protocol) as bob,
    ):
        room = ann.channel("room:b")
        room.on("shouted", on_shout)
        await room.join()
        await bob.channel("room:b").join()
        await bob.channel("room:b").push("shout", {"hi": 1})
        frame = await asyncio.wait_for(anext(aiter(room)), WAIT)
        assert (frame.topic, frame.event, frame.payload) == ("room:b", "shouted", {"hi": 1})
        await until(called)
        assert seen == [frame]
        await room.leave()
        await bob.channel("room:b").push("shout", {"hi": 2})
        # bob's own copy proves the broadcast went out; ann, having left, gets nothing
        assert (await bob.channel("room:b").receive(WAIT)).payload == {"hi": 1}
        assert (await bob.channel("room:b").receive(WAIT)).payload == {"hi": 2}
        assert await ann.channel("room:greet").join() == {"welcome": "room:greet"}
        with pytest.raises(ReplyTimeout):
            await room.receive(0.05)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_refused_handshake_raises_connect_refused(server: int, protocol: Any) -> None:
    client = Client(url(server, "mallory"), protocol=protocol)
    with pytest.raises(ConnectRefused) as refused:
        await client.connect()
    # uvicorn turns a close before accept into an HTTP 403 with no body
    assert refused.value.status == 403
    assert refused.value.code is None
    await client.close()


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_server_restart_reconnects_rejoins_and_receives(protocol: Any) -> None:
    port = free_port()
    evaluated: list[int] = []

    def params() -> dict[str, Any]:
        evaluated.append(len(evaluated))
        return {"attempt": len(evaluated)}

    joins: list[Any] = []
    rejoined = asyncio.Event()
    dropped = asyncio.Event()

    def on_join(response: Any) -> None:
        joins.append(response)
        if len(joins) == 2:
            rejoined.set()

    client = Client(url(port), protocol=protocol, reconnect=FAST)
    client.on_close(dropped.set)
    room = client.channel("room:r", params)
    room.on_join(on_join)
    with uvicorn_process(APP, port=port):
        await client.connect()
        await room.join()
        assert evaluated == [0]
    try:
        await until(dropped)
        assert not client.connected
        with uvicorn_process(APP, port=port):
            await until(rejoined)
            assert client.connects == 2
            assert evaluated == [0, 1], "join params are evaluated again at the rejoin"
            async with Client(url(port, "other"), protocol=protocol) as other:
                await other.channel("room:r").join()
                await other.channel("room:r").push("shout", "again")
                frame = await room.receive(WAIT)
                assert (frame.event, frame.payload) == ("shouted", "again")
                assert await room.push("whoami") == {"user": "bot", "topic": "room:r"}
    finally:
        await client.close()


async def test_a_missing_heartbeat_reply_reconnects() -> None:
    with uvicorn_process(APP) as (port, proc):
        dropped = asyncio.Event()
        rejoined = asyncio.Event()
        client = Client(
            url(port),
            protocol="phoenix",
            heartbeat_interval=0.3,
            ping_interval=None,
            reconnect=FAST,
            open_timeout=2.0,
        )
        client.on_close(dropped.set)
        room = client.channel("room:h")
        room.on_join(lambda response: rejoined.set() if client.connects == 2 else None)
        await client.connect()
        try:
            await room.join()
            assert await room.push("echo", 1) == 1
            # The server process stops answering anything (its TCP stays open).
            os.kill(proc.pid, signal.SIGSTOP)
            try:
                await until(dropped)
            finally:
                os.kill(proc.pid, signal.SIGCONT)
            await until(rejoined)
            assert await room.push("echo", 2) == 2
        finally:
            await client.close()


def test_backoff_grows_is_bounded_and_jittered() -> None:
    import random

    backoff = Backoff(initial=0.1, factor=2.0, maximum=1.0, jitter=0.2)
    rng = random.Random(7)
    delays = [backoff.delay(n, rng) for n in range(10)]
    for n, delay in enumerate(delays):
        base = min(1.0, 0.1 * 2**n)
        assert base * 0.8 <= delay <= min(1.0, base * 1.2)
    assert max(delays) <= 1.0
    assert len({round(d, 6) for d in delays[5:]}) > 1, "jitter spreads the capped delays"
    assert Backoff(jitter=0).delay(100) == Backoff().maximum
    with pytest.raises(ValueError):
        Backoff(initial=2, maximum=1)
    with pytest.raises(ValueError):
        Backoff(jitter=1.5)


async def test_gives_up_after_the_configured_attempts() -> None:
    port = free_port()
    with uvicorn_process(APP, port=port):
        client = Client(url(port), reconnect=Backoff(initial=0.01, maximum=0.02, attempts=2))
        await client.connect()
    await asyncio.wait_for(client.wait_closed(), WAIT)
    assert not client.connected
    await client.close()


@pytest.mark.parametrize("module", ["sockethub.client", "sockethub.testing.served"])
def test_without_websockets_the_import_says_what_to_install(module: str) -> None:
    code = f"import sys; sys.modules['websockets'] = None\nimport {module}"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "ImportError" in done.stderr
    assert 'pip install "sockethub[client]"' in done.stderr


def test_the_in_process_kit_needs_no_websockets() -> None:
    code = "import sys; sys.modules['websockets'] = None\nimport sockethub.testing"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_send_asks_for_no_reply(server: int, protocol: Any) -> None:
    async with Client(url(server), protocol=protocol) as client:
        room = client.channel("room:s")
        await room.join()
        await room.send("shout", "fire and forget")
        frame = await room.receive(WAIT)
        assert (frame.event, frame.payload, frame.ref) == ("shouted", "fire and forget", None)
        # the next reply is the echo's: nothing answered the send
        assert await room.push("echo", "next") == "next"


async def test_a_crashed_phoenix_channel_is_rejoined(server: int) -> None:
    joins: list[Any] = []
    rejoined = asyncio.Event()

    def on_join(response: Any) -> None:
        joins.append(response)
        if len(joins) == 2:
            rejoined.set()

    async with Client(url(server), protocol="phoenix", reconnect=FAST) as client:
        room = client.channel("room:c")
        room.on_join(on_join)
        await room.join()
        with pytest.raises(ReplyTimeout):  # phx_error instead of a reply
            await room.push("crash", None, timeout=0.5)
        await until(rejoined)
        assert await room.push("echo", "back") == "back"
        assert client.connects == 1, "a channel rejoin, not a reconnect"


async def test_a_refused_rejoin_is_retried_with_backoff(caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    password = {"now": "sesame"}
    rejoined = asyncio.Event()
    client = Client(url(port), protocol="phoenix", reconnect=FAST)
    secret = client.channel("room:secret", lambda: {"password": password["now"]})
    secret.on_join(lambda response: rejoined.set() if client.connects == 2 else None)
    with uvicorn_process(APP, port=port):
        await client.connect()
        await secret.join()
        password["now"] = "forgotten"
    try:
        with uvicorn_process(APP, port=port) as (_, _proc):
            await eventually(
                lambda: "rejoining 'room:secret' failed" in caplog.text, what="a refused rejoin"
            )
            assert client.connects == 2
            assert not rejoined.is_set()
            password["now"] = "sesame"  # the next retry is accepted
            await until(rejoined)
            assert await secret.push("echo", 1) == 1
    finally:
        await client.close()
