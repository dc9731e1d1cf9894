"""However a connection ends, on_exit runs once per joined topic, then on_disconnect once.

The ways it can end, over the test kit (on Starlette's TestClient): the client closes
(cleanly or with 1006, as a dropped network looks to the server), the server closes from
a callback with ``sock.close``, a callback fails under ``error_policy="close"``, and the
server task is cancelled (``abort()``, what TestClient does when its session context exits
while a callback is still running).  A plain-asyncio test also cancels a served connection's task directly.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest
from starlette.types import Message, Scope

from sockethub import ISocket, SocketHub
from sockethub.testing import HubClient, TestSocket
from tests.endings import ENDINGS, Ending

from .helpers import app_for

TOPICS = ["room:1", "room:2", "lobby"]


class Recorder:
    """A hub whose exits and disconnects are recorded; ``room:2``'s exit raises."""

    def __init__(self, **options: Any) -> None:
        self.log: list[tuple[str, str | None]] = []
        self.blocked = threading.Event()
        hub = self.hub = SocketHub("/ws", **options)
        room = hub.channel("room:{id}")
        lobby = hub.channel("lobby")

        async def on_exit(sock: ISocket) -> None:
            self.log.append(("exit", sock.topic))
            if sock.topic == "room:2":
                raise RuntimeError("exit hook fails")

        room.on_exit(on_exit)
        lobby.on_exit(on_exit)

        @room.on_receive("close")
        async def close(payload: Any, sock: ISocket) -> None:
            await sock.close(4000, "Bye")
            self.log.append(("closed", sock.topic))

        @room.on_receive("boom")
        async def boom(payload: Any, sock: ISocket) -> None:
            raise RuntimeError("callback fails")

        @room.on_receive("block")
        async def block(payload: Any, sock: ISocket) -> None:
            self.blocked.set()
            await asyncio.Event().wait()

        @hub.on_disconnect
        async def on_disconnect(sock: ISocket) -> None:
            self.log.append(("disconnect", None))

    def join_all(self, ws: TestSocket) -> None:
        for topic in TOPICS:
            ws.send(topic, "join")
        ws.assert_nothing_pending()
        assert self.hub.bus.topics() == dict.fromkeys(TOPICS, 1)  # type: ignore[attr-defined]
        assert self.hub.stats.connections == 1

    def assert_cleaned_up(self) -> None:
        exits = [entry for entry in self.log if entry[0] == "exit"]
        assert sorted(topic or "" for _, topic in exits) == sorted(TOPICS)
        assert self.log[-1] == ("disconnect", None)
        assert self.log.count(("disconnect", None)) == 1
        assert self.log.index(("disconnect", None)) > max(self.log.index(e) for e in exits)
        assert self.hub.bus.topics() == {}  # type: ignore[attr-defined]
        assert self.hub.stats.connections == 0


@pytest.mark.parametrize("ending", ENDINGS, ids=lambda f: f.__name__)
def test_exits_then_disconnect_however_the_connection_ends(
    ending: Ending,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rec = Recorder(error_policy="close")
    with HubClient(app_for(rec.hub)) as client:
        with client.connect("/ws") as ws:
            rec.join_all(ws)
            ending(rec.blocked, ws)
        # Leaving the context raised nothing: nothing from clean-up escaped.
        rec.assert_cleaned_up()
    # The raising exit hook was logged, and did not stop the others.
    assert any(
        "exit hook fails" in r.getMessage()
        or (r.exc_info and "exit hook fails" in str(r.exc_info[1]))
        for r in caplog.records
    )


def test_raising_on_disconnect_is_logged_and_goes_no_further(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub = SocketHub("/ws")
    hub.channel("room:{id}")

    @hub.on_disconnect
    async def on_disconnect(sock: ISocket) -> None:
        raise RuntimeError("disconnect hook fails")

    with HubClient(app_for(hub)) as client:
        for _ in range(2):
            with client.connect("/ws") as ws:
                ws.send("room:1", "join")
                ws.assert_nothing_pending()
        assert hub.stats.connections == 0
        assert hub.stats.total_connections == 2
        assert hub.bus.topics() == {}  # type: ignore[attr-defined]
    records = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(records) == 2
    assert all(r.exc_info is not None for r in records)


def test_every_exit_hook_raising_still_reaches_on_disconnect() -> None:
    hub = SocketHub("/ws")
    log: list[str] = []
    for pattern in ("a:{x}", "b:{x}", "c"):
        channel = hub.channel(pattern)

        @channel.on_exit
        async def on_exit(sock: ISocket) -> None:
            log.append(f"exit {sock.topic}")
            raise RuntimeError("nope")

    @hub.on_disconnect
    async def on_disconnect(sock: ISocket) -> None:
        log.append("disconnect")

    with HubClient(app_for(hub)) as client:
        with client.connect("/ws") as ws:
            for topic in ("a:1", "b:1", "c", "a:2"):
                ws.send(topic, "join")
            ws.assert_nothing_pending()
    assert sorted(log[:-1]) == ["exit a:1", "exit a:2", "exit b:1", "exit c"]
    assert log[-1] == "disconnect"
    assert hub.stats.connections == 0


def test_many_connections_come_and_go_and_leave_nothing_behind() -> None:
    rec = Recorder()
    with HubClient(app_for(rec.hub)) as client:
        for n in range(20):
            with client.connect("/ws") as ws:
                ws.send(f"room:{n}", "join")
                ws.send("lobby", "join")
                ws.assert_nothing_pending()
        assert rec.hub.bus.topics() == {}  # type: ignore[attr-defined]
        assert rec.hub.stats.connections == 0
        assert rec.hub.stats.total_connections == 20
    assert rec.log.count(("disconnect", None)) == 20


async def test_cancelling_the_server_task_runs_clean_up_and_propagates() -> None:
    """Plain asyncio, no TestClient: what a server does when it cancels a connection."""
    rec = Recorder()
    app = app_for(rec.hub)
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    sent: list[Message] = []

    async def send_(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "path": "/ws",
        "raw_path": b"/ws",
        "root_path": "",
        "scheme": "ws",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
        "subprotocols": [],
        "state": {},
    }
    await inbox.put({"type": "websocket.connect"})
    for topic in TOPICS:
        await inbox.put(
            {"type": "websocket.receive", "text": f'{{"topic":"{topic}","event":"join"}}'}
        )
    await inbox.put({"type": "websocket.receive", "text": '{"topic":"room:1","event":"block"}'})
    task = asyncio.ensure_future(app(scope, inbox.get, send_))
    while not rec.blocked.is_set():
        await asyncio.sleep(0)
    assert rec.hub.bus.topics() == dict.fromkeys(TOPICS, 1)  # type: ignore[attr-defined]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    rec.assert_cleaned_up()
    assert sent[0] == {"type": "websocket.accept", "subprotocol": None, "headers": []}
