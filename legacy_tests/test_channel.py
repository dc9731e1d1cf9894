"""0.1 ``Channel``: patterns, ``match``, ``topic_pattern``, decorators, default callbacks."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sockethub.channel import TOPIC_NOT_FOUND, Channel, ISocket
from sockethub.websocket import WebSocketRoute


def test_topic_pattern_is_the_pattern_string() -> None:
    assert Channel("room:{room_id}").topic_pattern == "room:{room_id}"


@pytest.mark.parametrize(
    ("pattern", "topic", "params"),
    [
        ("room:{room_id}", "room:42", {"room_id": "42"}),
        ("room:{room_id}", "room:a:b", {"room_id": "a:b"}),
        ("game:{g}:{team}", "game:7:red", {"g": "7", "team": "red"}),
        ("room:{room_id}", "room:", None),
        ("room:{room_id}", "room:a/b", None),
        ("room:{room_id}", "other:1", None),
        ("room:{room_id}", "xroom:1", None),
        ("room:{room_id}", "room:1 ", {"room_id": "1 "}),
    ],
)
def test_match(pattern: str, topic: str, params: dict[str, str] | None) -> None:
    assert Channel(pattern).match(topic) == params


@pytest.mark.parametrize(
    ("pattern", "matching", "not_matching"),
    [
        ("a.b+{x}", "a.b+1", "aXb+1"),
        ("price$[{cur}]", "price$[eur]", "price$eur"),
        ("(v){n}*", "(v)2*", "v2"),
        ("q?{id}|^", "q?5|^", "q5"),
    ],
)
def test_regex_metacharacters_match_literally(
    pattern: str, matching: str, not_matching: str
) -> None:
    channel = Channel(pattern)
    assert channel.match(matching) is not None
    assert channel.match(not_matching) is None


def test_decorators_return_the_function() -> None:
    channel = Channel("room:{id}")

    async def on_join(params: dict[str, str], sock: ISocket) -> None:
        return None

    async def on_exit(sock: ISocket) -> None:
        return None

    async def on_chat(payload: Any, sock: ISocket) -> None:
        return None

    assert channel.on_join(on_join) is on_join
    assert channel.on_exit(on_exit) is on_exit
    assert channel.on_receive("chat")(on_chat) is on_chat


def test_default_join_and_exit_do_nothing() -> None:
    route = WebSocketRoute("/ws")
    room = route.channel("room:{id}")

    @room.on_receive("ping")
    async def ping(payload: Any, sock: ISocket) -> None:
        await sock.reply("pong")

    with TestClient(Starlette(routes=[route])).websocket_connect("/ws") as ws:
        ws.send_json({"topic": "room:1", "event": "join"})
        ws.send_json({"topic": "room:1", "event": "ping"})
        assert ws.receive_json() == {"topic": "room:1", "event": "reply", "payload": "pong"}
        ws.send_json({"topic": "room:1", "event": "leave"})
        ws.send_json({"topic": "room:1", "event": "ping"})
        assert ws.receive_json() == TOPIC_NOT_FOUND


def test_route_channel_returns_a_channel() -> None:
    route = WebSocketRoute("/ws")
    room = route.channel("room:{id}")
    assert isinstance(room, Channel)
    assert room.topic_pattern == "room:{id}"
    assert room.match("room:3") == {"id": "3"}
