"""End to end: real uvicorn, several concurrent ``websockets`` clients in different channels.

Each test runs for both of uvicorn's WebSocket implementations (websockets-sansio and
wsproto).  "Nothing else arrived" is shown without timing, as in the other hub suites: a
probe to a topic nobody registered is answered with TOPIC_NOT_FOUND, and frames to one
socket leave in order, so the probe's answer must be the very next frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from sockethub import ISocket, JoinRefused, SocketHub
from tests.support import uvicorn_thread

pytestmark = pytest.mark.e2e

WS_IMPLEMENTATIONS = ["websockets-sansio", "wsproto"]
TOPIC_NOT_FOUND = {"code": 4404, "reason": "Topic not found"}


def build_app(log: list[Any]) -> tuple[Starlette, SocketHub]:
    hub = SocketHub("/ws/{user}")
    room = hub.channel("room:{id}")
    game = hub.channel("game:{g}:{team}")
    lobby = hub.channel("lobby")

    @hub.on_connect
    async def on_connect(sock: ISocket) -> None:
        await sock.allow_if(sock.path_params["user"] != "mallory")
        sock.assigns["user"] = sock.path_params["user"]

    @hub.on_disconnect
    async def on_disconnect(sock: ISocket) -> None:
        log.append(("disconnect", sock.assigns["user"]))

    async def on_join(params: dict[str, str], sock: ISocket) -> None:
        if params.get("team") == "closed":
            raise JoinRefused("Team is full")

    async def on_exit(sock: ISocket) -> None:
        log.append(("exit", sock.assigns["user"], sock.topic))

    async def say(payload: Any, sock: ISocket) -> None:
        await sock.reply({"params": sock.params})
        await sock.publish({"from": sock.assigns["user"], "text": payload}, event="said")

    for channel in (room, game, lobby):
        channel.on_join(on_join)
        channel.on_exit(on_exit)
        channel.on_receive("say")(say)

    async def announce(request: Request) -> JSONResponse:
        body = await request.json()
        await hub.publish(request.path_params["topic"], "announce", body)
        return JSONResponse({"ok": True})

    app = Starlette(
        routes=[hub, Route("/announce/{topic}", announce, methods=["POST"])],
        lifespan=hub.lifespan,
    )
    return app, hub


async def send(ws: ClientConnection, topic: str, event: str, payload: Any = None) -> None:
    await ws.send(json.dumps({"topic": topic, "event": event, "payload": payload}))


async def recv(ws: ClientConnection) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), 10))


async def probe(ws: ClientConnection) -> None:
    await send(ws, "never:registered:probe", "ping")
    assert await recv(ws) == TOPIC_NOT_FOUND


CLIENTS = {
    "alice": ["room:1"],
    "bob": ["room:1", "lobby"],
    "carol": ["room:2"],
    "dave": ["lobby", "game:7:red"],
}


@pytest.mark.parametrize("ws_impl", WS_IMPLEMENTATIONS)
async def test_concurrent_clients_in_different_channels(ws_impl: str) -> None:
    log: list[Any] = []
    app, hub = build_app(log)
    with uvicorn_thread(app, ws=ws_impl) as port:
        base = f"ws://127.0.0.1:{port}/ws"
        async with contextlib.AsyncExitStack() as stack:
            socks = {
                user: await stack.enter_async_context(connect(f"{base}/{user}")) for user in CLIENTS
            }

            async def join(user: str) -> None:
                for topic in CLIENTS[user]:
                    await send(socks[user], topic, "join")
                await probe(socks[user])  # joins send nothing

            await asyncio.gather(*(join(user) for user in CLIENTS))
            assert hub.bus.topics() == {  # type: ignore[attr-defined]
                "room:1": 2,
                "lobby": 2,
                "room:2": 1,
                "game:7:red": 1,
            }

            # Everyone speaks at once, each in their first topic.
            async def speak(user: str) -> None:
                topic = CLIENTS[user][0]
                await send(socks[user], topic, "say", f"hi from {user}")

            await asyncio.gather(*(speak(user) for user in CLIENTS))

            async def inbox(user: str) -> list[Any]:
                """Frames until the probe's answer (the probe is sent after the
                expected frames have been produced: see `expected` below)."""
                frames = []
                while (frame := await recv(socks[user])) != TOPIC_NOT_FOUND:
                    frames.append(frame)
                return frames

            def said(topic: str, user: str) -> dict[str, Any]:
                return {
                    "topic": topic,
                    "event": "said",
                    "payload": {"from": user, "text": f"hi from {user}"},
                }

            def reply(topic: str, params: dict[str, str]) -> dict[str, Any]:
                return {"topic": topic, "event": "reply", "payload": {"params": params}}

            expected = {
                "alice": [
                    reply("room:1", {"id": "1"}),
                    said("room:1", "alice"),
                    said("room:1", "bob"),
                ],
                "bob": [
                    reply("room:1", {"id": "1"}),
                    said("room:1", "alice"),
                    said("room:1", "bob"),
                    said("lobby", "dave"),
                ],
                "carol": [reply("room:2", {"id": "2"}), said("room:2", "carol")],
                "dave": [reply("lobby", {}), said("lobby", "dave")],
            }
            got: dict[str, list[Any]] = {user: [] for user in CLIENTS}
            for user, frames in expected.items():
                while len(got[user]) < len(frames):
                    got[user].append(await recv(socks[user]))
            await asyncio.gather(*(probe(socks[user]) for user in CLIENTS))
            for user, frames in expected.items():
                # Broadcasts from other speakers interleave in an order the test does not
                # fix; a speaker's reply comes before its own broadcast.
                assert sorted(map(json.dumps, got[user])) == sorted(map(json.dumps, frames))
                own = said(CLIENTS[user][0], user)
                assert got[user].index(frames[0]) < got[user].index(own)

            # The more literal channel with two placeholders serves game:7:red.
            await send(socks["dave"], "game:7:red", "say", "go")
            assert await recv(socks["dave"]) == reply("game:7:red", {"g": "7", "team": "red"})
            assert (await recv(socks["dave"]))["event"] == "said"
            # A refused join, an unknown topic: the connection goes on.
            await send(socks["carol"], "game:7:closed", "join")
            assert await recv(socks["carol"]) == {"code": 4403, "reason": "Team is full"}
            await send(socks["carol"], "game:7:closed", "say", "x")
            assert await recv(socks["carol"]) == TOPIC_NOT_FOUND

            # A server-side publish from an HTTP endpoint reaches exactly room:1.
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                response = await http.post("/announce/room:1", json={"n": 1})
                assert response.json() == {"ok": True}
            for user in ("alice", "bob"):
                assert await recv(socks[user]) == {
                    "topic": "room:1",
                    "event": "announce",
                    "payload": {"n": 1},
                }
            await asyncio.gather(*(probe(socks[user]) for user in CLIENTS))

            # Leaving room:1 stops delivery to bob only.
            await send(socks["bob"], "room:1", "leave")
            await probe(socks["bob"])
            await send(socks["alice"], "room:1", "say", "anyone?")
            assert (await recv(socks["alice"]))["event"] == "reply"
            assert (await recv(socks["alice"]))["event"] == "said"
            await probe(socks["bob"])

        # All clients closed: wait for the server to clean every connection up.
        for _ in range(500):
            if hub.stats.connections == 0:
                break
            await asyncio.sleep(0.01)
        assert hub.stats.connections == 0
        assert hub.bus.topics() == {}  # type: ignore[attr-defined]
    disconnects = sorted(entry[1] for entry in log if entry[0] == "disconnect")
    assert disconnects == sorted(CLIENTS)
    exits = sorted((entry[1], entry[2]) for entry in log if entry[0] == "exit")
    assert exits == sorted([(user, topic) for user, topics in CLIENTS.items() for topic in topics])


@pytest.mark.parametrize("ws_impl", WS_IMPLEMENTATIONS)
async def test_refused_handshake_and_server_shutdown(ws_impl: str) -> None:
    log: list[Any] = []
    app, hub = build_app(log)
    with contextlib.ExitStack() as server:
        port = server.enter_context(uvicorn_thread(app, ws=ws_impl))
        base = f"ws://127.0.0.1:{port}/ws"
        # uvicorn turns a close before accept into an HTTP 403 response.
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"{base}/mallory"):
                pass
        assert refused.value.response.status_code == 403
        async with connect(f"{base}/erin") as erin, connect(f"{base}/frank") as frank:
            await send(erin, "room:1", "join")
            await send(frank, "lobby", "join")
            await probe(erin)
            await probe(frank)
            # Shut the server down while both are connected (in a thread: the clients
            # need this loop to answer the closing handshake).
            await asyncio.to_thread(server.close)
            for ws in (erin, frank):
                with pytest.raises(ConnectionClosed) as info:
                    await asyncio.wait_for(ws.recv(), 10)
                assert info.value.rcvd is not None and info.value.rcvd.code == 1012
    assert sorted(log) == sorted(
        [
            ("exit", "erin", "room:1"),
            ("disconnect", "erin"),
            ("exit", "frank", "lobby"),
            ("disconnect", "frank"),
        ]
    )
    assert log.index(("exit", "erin", "room:1")) < log.index(("disconnect", "erin"))
    assert hub.stats.connections == 0
