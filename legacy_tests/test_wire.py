"""0.1 managed mode on the wire: join, leave, receive, the error frames (byte for byte),
``sock.reply`` / ``sock.emit``, exit-then-disconnect, callback errors, and what the facade
adds (``sock.publish`` reaches other sockets; a pattern without placeholders joins)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient, WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from sockethub import ISocket, WebSocketRoute
from sockethub.channel import EVENT_NOT_FOUND, TOPIC_NOT_FOUND

TOPIC_NOT_FOUND_TEXT = '{"code":4404,"reason":"Topic not found"}'
EVENT_NOT_FOUND_TEXT = '{"code":4404,"reason":"Event not found"}'


class ChatApp:
    """The typical 0.1 app of legacy-api.md, with a log of every callback."""

    def __init__(self) -> None:
        self.log: list[Any] = []
        log = self.log
        self.route = route = WebSocketRoute("/ws/chat")
        room = route.channel("room:{room_id}")
        game = route.channel("game:{game_id}")

        @route.on_connect
        async def on_connect(sock: ISocket) -> None:
            await sock.allow_if(sock.query_params.get("token") == "secret")
            sock.assigns["rooms"] = set()
            log.append("connect")

        @route.on_disconnect
        async def on_disconnect(sock: ISocket) -> None:
            log.append("disconnect")

        @room.on_join
        async def on_join(params: dict[str, str], sock: ISocket) -> None:
            sock.assigns["rooms"].add(params["room_id"])
            log.append(("join", params, sock.topic, sock.params))

        @room.on_exit
        async def on_exit(sock: ISocket) -> None:
            log.append(("exit", sock.topic, sock.params))

        @room.on_receive("chat")
        async def on_chat(payload: Any, sock: ISocket) -> None:
            log.append(("chat", payload, sock.topic, sock.params))
            await sock.reply({"echo": payload})

        @room.on_receive("shout")
        async def on_shout(payload: Any, sock: ISocket) -> None:
            await sock.emit(payload)
            await sock.emit(payload, event="loud")
            await sock.reply(payload, event="done")

        @room.on_receive("boom")
        async def on_boom(payload: Any, sock: ISocket) -> None:
            raise ZeroDivisionError("boom")

        @game.on_exit
        async def on_game_exit(sock: ISocket) -> None:
            log.append(("exit", sock.topic, sock.params))

        @route.handler
        async def handle_ws() -> None:
            return None

        self.app = Starlette(routes=[route])

    def connect(self, client: TestClient) -> Any:
        return client.websocket_connect("/ws/chat?token=secret")


@pytest.fixture
def chat() -> ChatApp:
    return ChatApp()


@pytest.fixture
def ws(chat: ChatApp) -> Any:
    with chat.connect(TestClient(chat.app)) as ws:
        yield ws


def send(ws: WebSocketTestSession, topic: str, event: str, payload: Any = None) -> None:
    frame: dict[str, Any] = {"topic": topic, "event": event}
    if payload is not None:
        frame["payload"] = payload
    ws.send_json(frame)


def probe(ws: WebSocketTestSession) -> None:
    """Nothing else is pending: a message to an unmatched topic answers next."""
    send(ws, "nowhere", "ping")
    assert ws.receive_text() == TOPIC_NOT_FOUND_TEXT


# -- join / leave / receive ------------------------------------------------------------------


def test_join_sends_nothing_and_runs_on_join(chat: ChatApp, ws: WebSocketTestSession) -> None:
    send(ws, "room:1", "join")
    probe(ws)
    assert chat.log == ["connect", ("join", {"room_id": "1"}, "room:1", {"room_id": "1"})]


def test_receive_on_joined_channel(chat: ChatApp, ws: WebSocketTestSession) -> None:
    send(ws, "room:7", "join")
    send(ws, "room:7", "chat", {"text": "hi"})
    assert ws.receive_json() == {
        "topic": "room:7",
        "event": "reply",
        "payload": {"echo": {"text": "hi"}},
    }
    assert chat.log[-1] == ("chat", {"text": "hi"}, "room:7", {"room_id": "7"})


def test_payload_is_optional(chat: ChatApp, ws: WebSocketTestSession) -> None:
    send(ws, "room:7", "join")
    ws.send_json({"topic": "room:7", "event": "chat"})
    assert ws.receive_json() == {"topic": "room:7", "event": "reply", "payload": {"echo": None}}


def test_reply_frame_is_byte_exact(ws: WebSocketTestSession) -> None:
    send(ws, "room:1", "join")
    send(ws, "room:1", "chat", {"text": "héllo", "n": [1, 2.5, None, True]})
    assert ws.receive_text() == (
        '{"topic":"room:1","event":"reply","payload":'
        '{"echo":{"text":"héllo","n":[1,2.5,null,true]}}}'
    )


def test_emit_and_custom_events(ws: WebSocketTestSession) -> None:
    send(ws, "room:1", "join")
    send(ws, "room:1", "shout", "hey")
    assert ws.receive_text() == '{"topic":"room:1","event":"emit","payload":"hey"}'
    assert ws.receive_text() == '{"topic":"room:1","event":"loud","payload":"hey"}'
    assert ws.receive_text() == '{"topic":"room:1","event":"done","payload":"hey"}'


def test_leave_runs_on_exit_and_unjoins(chat: ChatApp, ws: WebSocketTestSession) -> None:
    send(ws, "room:1", "join")
    send(ws, "room:1", "leave")
    send(ws, "room:1", "chat", "after leave")
    assert ws.receive_text() == TOPIC_NOT_FOUND_TEXT
    assert chat.log[-1] == ("exit", "room:1", {"room_id": "1"})
    send(ws, "room:1", "join")
    send(ws, "room:1", "chat", "again")
    assert ws.receive_json()["payload"] == {"echo": "again"}


def test_unknown_topic_gets_topic_not_found(ws: WebSocketTestSession) -> None:
    send(ws, "lobby:1", "join")
    assert ws.receive_text() == TOPIC_NOT_FOUND_TEXT
    # 0.1 ended the session here, the hub keeps it open: neither is pinned.


def test_unknown_event_gets_event_not_found(ws: WebSocketTestSession) -> None:
    send(ws, "room:1", "join")
    send(ws, "room:1", "dance")
    assert ws.receive_text() == EVENT_NOT_FOUND_TEXT
    send(ws, "room:1", "chat", "still here")
    assert ws.receive_json()["payload"] == {"echo": "still here"}


def test_event_on_channel_not_joined_gets_topic_not_found(ws: WebSocketTestSession) -> None:
    send(ws, "room:1", "chat", "hello?")
    assert ws.receive_text() == TOPIC_NOT_FOUND_TEXT
    send(ws, "room:1", "leave")
    assert ws.receive_text() == TOPIC_NOT_FOUND_TEXT
    send(ws, "room:1", "join")
    send(ws, "room:1", "chat", "now")
    assert ws.receive_json()["payload"] == {"echo": "now"}


def test_error_frames_are_the_exported_constants(ws: WebSocketTestSession) -> None:
    send(ws, "nowhere", "x")
    assert ws.receive_json() == TOPIC_NOT_FOUND
    send(ws, "room:1", "join")
    send(ws, "room:1", "x")
    assert ws.receive_json() == EVENT_NOT_FOUND


# -- the end of a connection -----------------------------------------------------------------


def test_exit_then_disconnect(chat: ChatApp) -> None:
    with chat.connect(TestClient(chat.app)) as ws:
        send(ws, "room:1", "join")
        send(ws, "game:9", "join")
        probe(ws)
    assert chat.log[0] == "connect"
    assert chat.log[-1] == "disconnect"
    exits = chat.log[-3:-1]
    assert sorted(exits) == [
        ("exit", "game:9", {"game_id": "9"}),
        ("exit", "room:1", {"room_id": "1"}),
    ]


def test_left_channels_do_not_exit_again(chat: ChatApp) -> None:
    with chat.connect(TestClient(chat.app)) as ws:
        send(ws, "room:1", "join")
        send(ws, "room:1", "leave")
        probe(ws)
    assert [entry for entry in chat.log if entry[0] == "exit"] == [
        ("exit", "room:1", {"room_id": "1"})
    ]
    assert chat.log[-1] == "disconnect"


def test_callback_error_closes_1011_and_propagates(chat: ChatApp) -> None:
    with pytest.raises(ZeroDivisionError, match="boom"):
        with chat.connect(TestClient(chat.app)) as ws:
            send(ws, "room:1", "join")
            send(ws, "room:1", "boom")
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_text()
            assert (closed.value.code, closed.value.reason) == (1011, "Internal Server Error")
    # exit callbacks and on_disconnect still ran
    assert chat.log[-2:] == [("exit", "room:1", {"room_id": "1"}), "disconnect"]


@pytest.mark.parametrize("where", ["on_join", "on_exit"])
def test_join_and_exit_errors_close_1011_and_propagate(where: str) -> None:
    route = WebSocketRoute("/ws")
    room = route.channel("room:{id}")
    log: list[str] = []

    if where == "on_join":

        @room.on_join
        async def on_join(params: dict[str, str], sock: ISocket) -> None:
            raise KeyError(where)
    else:

        @room.on_exit
        async def on_exit(sock: ISocket) -> None:
            raise KeyError(where)

    @route.on_disconnect
    async def on_disconnect(sock: ISocket) -> None:
        log.append("disconnect")

    with pytest.raises(KeyError, match=where):
        with TestClient(Starlette(routes=[route])).websocket_connect("/ws") as ws:
            send(ws, "room:1", "join")
            send(ws, "room:1", "leave")
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_text()
            assert closed.value.code == 1011
    assert log == ["disconnect"]


# -- channel precedence and literal channels ---------------------------------------------------


@pytest.mark.parametrize("first", ["game:{g}", "game:{g}:{team}"])
def test_more_placeholders_win_when_they_match(first: str) -> None:
    route = WebSocketRoute("/ws")
    patterns = [first, *({"game:{g}", "game:{g}:{team}"} - {first})]
    for pattern in patterns:
        channel = route.channel(pattern)

        async def which(payload: Any, sock: ISocket, pattern: str = pattern) -> None:
            await sock.reply({"pattern": pattern, "params": sock.params})

        channel.on_receive("which")(which)

    with TestClient(Starlette(routes=[route])).websocket_connect("/ws") as ws:
        for topic in ("game:7:red", "game:7"):
            send(ws, topic, "join")
            send(ws, topic, "which")
        assert ws.receive_json()["payload"] == {
            "pattern": "game:{g}:{team}",
            "params": {"g": "7", "team": "red"},
        }
        assert ws.receive_json()["payload"] == {"pattern": "game:{g}", "params": {"g": "7"}}


def test_a_pattern_without_placeholders_can_be_joined() -> None:
    """New in the facade: 0.1 could never join ``"lobby"`` (its empty params read as
    "no match")."""
    route = WebSocketRoute("/ws")
    lobby = route.channel("lobby")
    joined: list[Any] = []

    @lobby.on_join
    async def on_join(params: dict[str, str], sock: ISocket) -> None:
        joined.append(params)

    @lobby.on_receive("hello")
    async def hello(payload: Any, sock: ISocket) -> None:
        await sock.reply("welcome")

    with TestClient(Starlette(routes=[route])).websocket_connect("/ws") as ws:
        send(ws, "lobby", "join")
        send(ws, "lobby", "hello")
        assert ws.receive_text() == '{"topic":"lobby","event":"reply","payload":"welcome"}'
    assert joined == [{}]


# -- sock.publish -------------------------------------------------------------------------------


def publish_app() -> Starlette:
    route = WebSocketRoute("/ws")
    room = route.channel("room:{id}")

    @room.on_receive("say")
    async def say(payload: Any, sock: ISocket) -> None:
        await sock.publish(payload)

    @room.on_receive("said")
    async def said(payload: Any, sock: ISocket) -> None:
        await sock.publish(payload, event="said")

    return Starlette(routes=[route])


def test_publish_reaches_every_socket_joined_to_the_topic() -> None:
    """New in the facade: 0.1 had no publish backend (``RuntimeError``)."""
    with TestClient(publish_app()) as client:
        with (
            client.websocket_connect("/ws") as alice,
            client.websocket_connect("/ws") as bob,
            client.websocket_connect("/ws") as carol,
        ):
            send(alice, "room:1", "join")
            send(bob, "room:1", "join")
            send(carol, "room:2", "join")
            probe(alice)
            probe(bob)
            send(alice, "room:1", "say", {"text": "hi"})
            expected = '{"topic":"room:1","event":"broadcast","payload":{"text":"hi"}}'
            assert alice.receive_text() == expected
            assert bob.receive_text() == expected
            send(bob, "room:1", "said", 2)
            assert alice.receive_json() == {"topic": "room:1", "event": "said", "payload": 2}
            assert bob.receive_json() == {"topic": "room:1", "event": "said", "payload": 2}
            probe(carol)
