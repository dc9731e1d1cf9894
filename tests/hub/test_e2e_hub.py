"""End to end: real uvicorn, several concurrent ``websockets`` clients in different channels.

Each test runs for both of uvicorn's WebSocket implementations (websockets-sansio and
wsproto), with the test kit over the network (``sockethub.testing.served``); "nothing
else arrived" is its round trip, as in the other hub suites.
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

from sockethub import ISocket, JoinRefused, SocketHub
from sockethub.testing import ConnectRefused
from sockethub.testing.served import connect_served
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
                user: await stack.enter_async_context(await connect_served(f"{base}/{user}"))
                for user in CLIENTS
            }

            async def join(user: str) -> None:
                for topic in CLIENTS[user]:
                    await socks[user].send(topic, "join")
                await socks[user].assert_nothing_pending()  # joins send nothing

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
                await socks[user].send(topic, "say", f"hi from {user}")

            await asyncio.gather(*(speak(user) for user in CLIENTS))

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
                    got[user].append(await socks[user].receive_json())
            await asyncio.gather(*(socks[user].assert_nothing_pending() for user in CLIENTS))
            for user, frames in expected.items():
                # Broadcasts from other speakers interleave in an order the test does not
                # fix; a speaker's reply comes before its own broadcast.
                assert sorted(map(json.dumps, got[user])) == sorted(map(json.dumps, frames))
                own = said(CLIENTS[user][0], user)
                assert got[user].index(frames[0]) < got[user].index(own)

            # The more literal channel with two placeholders serves game:7:red.
            await socks["dave"].send("game:7:red", "say", "go")
            assert await socks["dave"].receive_json() == reply(
                "game:7:red", {"g": "7", "team": "red"}
            )
            assert (await socks["dave"].receive_json())["event"] == "said"
            # A refused join, an unknown topic: the connection goes on.
            await socks["carol"].send("game:7:closed", "join")
            assert await socks["carol"].receive_json() == {"code": 4403, "reason": "Team is full"}
            await socks["carol"].send("game:7:closed", "say", "x")
            assert await socks["carol"].receive_json() == TOPIC_NOT_FOUND

            # A server-side publish from an HTTP endpoint reaches exactly room:1.
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                response = await http.post("/announce/room:1", json={"n": 1})
                assert response.json() == {"ok": True}
            for user in ("alice", "bob"):
                assert await socks[user].receive_json() == {
                    "topic": "room:1",
                    "event": "announce",
                    "payload": {"n": 1},
                }
            await asyncio.gather(*(socks[user].assert_nothing_pending() for user in CLIENTS))

            # Leaving room:1 stops delivery to bob only.
            await socks["bob"].send("room:1", "leave")
            await socks["bob"].assert_nothing_pending()
            await socks["alice"].send("room:1", "say", "anyone?")
            assert (await socks["alice"].receive_json())["event"] == "reply"
            assert (await socks["alice"].receive_json())["event"] == "said"
            await socks["bob"].assert_nothing_pending()

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
        with pytest.raises(ConnectRefused) as refused:
            await connect_served(f"{base}/mallory")
        assert refused.value.status == 403
        async with (
            await connect_served(f"{base}/erin") as erin,
            await connect_served(f"{base}/frank") as frank,
        ):
            await erin.send("room:1", "join")
            await frank.send("lobby", "join")
            await erin.assert_nothing_pending()
            await frank.assert_nothing_pending()
            # Shut the server down while both are connected (in a thread: the clients
            # need this loop to answer the closing handshake).
            await asyncio.to_thread(server.close)
            for ws in (erin, frank):
                code, _ = await ws.wait_closed()
                assert code == 1012
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
