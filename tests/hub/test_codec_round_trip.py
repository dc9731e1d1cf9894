"""A hub's codec over real connections: both wire protocols, both codecs.

One scenario (join reply, request reply, server push, a client's broadcast, a server
publish) runs per protocol and codec; the values the clients parse are the converted
ones, and the two codecs put the very same bytes on the wire (floats aside: json
writes ``1e-07`` where orjson writes ``1e-7``; none is sent here).
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import json
import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient, WebSocketTestSession

from sockethub import ChannelSocket, SocketHub
from sockethub.frames import loads as strict_json
from tests.codecs import CODECS, make
from tests.hub.helpers import app_for


@dataclasses.dataclass
class Point:
    x: int
    y: float


RICH = {
    "at": datetime.datetime(2025, 5, 6, 7, 8, 9, 10, tzinfo=datetime.UTC),
    "day": datetime.date(2025, 5, 6),
    "id": uuid.UUID(int=7),
    "point": Point(1, 2.5),
    "price": decimal.Decimal("9.990"),
    "text": 'héllo "\U0001f600"\n\u2028',
    "big": 2**70,
    "tuple": (1, None, True, -0.0),
}
CONVERTED = {
    "at": "2025-05-06T07:08:09.000010+00:00",
    "day": "2025-05-06",
    "id": "00000000-0000-0000-0000-000000000007",
    "point": {"x": 1, "y": 2.5},
    "price": "9.990",
    "text": 'héllo "\U0001f600"\n\u2028',
    "big": 2**70,
    "tuple": [1, None, True, -0.0],
}
#: What clients send, as raw JSON: kept exactly, big integers included.
CLIENT_TEXT = '{"n":123456789012345678901234567890,"s":"\\ud83d\\ude00 ü","f":[1e308,0.5]}'


def build(codec: str) -> SocketHub:
    hub = SocketHub("/ws", codec=make(codec))
    room = hub.channel("room:{id}")

    @room.on_join
    async def join(params: dict[str, str], sock: ChannelSocket) -> Any:
        return {"since": RICH["at"]}

    @room.on_receive("rich")
    async def rich(payload: Any, sock: ChannelSocket) -> Any:
        return RICH

    @room.on_receive("echo")
    async def echo(payload: Any, sock: ChannelSocket) -> Any:
        return payload

    @room.on_receive("push")
    async def push(payload: Any, sock: ChannelSocket) -> None:
        await sock.reply(RICH, event="pushed")

    @room.on_receive("say")
    async def say(payload: Any, sock: ChannelSocket) -> None:
        await sock.publish(payload, event="said")

    return hub


class Envelope:
    path = "/ws"

    @staticmethod
    def send(ws: WebSocketTestSession, event: str, payload: str, ref: str) -> None:
        ws.send_text(f'{{"topic":"room:1","event":"{event}","ref":"{ref}","payload":{payload}}}')

    @staticmethod
    def response(frame: Any) -> Any:
        assert frame["event"] == "reply" and frame["payload"]["status"] == "ok", frame
        return frame["payload"]["response"]

    @staticmethod
    def pushed(frame: Any) -> tuple[str, Any]:
        return frame["event"], frame["payload"]


class Phoenix:
    path = "/ws?vsn=2.0.0"

    @staticmethod
    def send(ws: WebSocketTestSession, event: str, payload: str, ref: str) -> None:
        event = "phx_join" if event == "join" else event
        ws.send_text(f'["1","{ref}","room:1","{event}",{payload}]')

    @staticmethod
    def response(frame: Any) -> Any:
        assert frame[3] == "phx_reply" and frame[4]["status"] == "ok", frame
        return frame[4]["response"]

    @staticmethod
    def pushed(frame: Any) -> tuple[str, Any]:
        return frame[3], frame[4]


PROTOCOLS = [pytest.param(Envelope, id="envelope"), pytest.param(Phoenix, id="phoenix")]


def scenario(codec: str, protocol: type[Envelope] | type[Phoenix]) -> list[str]:
    """Run the exchange; check what the clients parse; return every frame received."""
    hub = build(codec)
    texts: list[str] = []

    def recv(ws: WebSocketTestSession) -> Any:
        text = ws.receive_text()
        texts.append(text)
        return strict_json(text)

    with TestClient(app_for(hub)) as client:
        with (
            client.websocket_connect(protocol.path) as sender,
            client.websocket_connect(protocol.path) as neighbour,
        ):
            for ws in (sender, neighbour):
                protocol.send(ws, "join", "{}", "j")
                assert protocol.response(recv(ws)) == {"since": CONVERTED["at"]}
            protocol.send(sender, "rich", "null", "r")
            assert protocol.response(recv(sender)) == CONVERTED
            protocol.send(sender, "echo", CLIENT_TEXT, "e")
            echoed = protocol.response(recv(sender))
            assert repr(echoed) == repr(json.loads(CLIENT_TEXT))
            protocol.send(sender, "push", "null", "p")
            assert protocol.pushed(recv(sender)) == ("pushed", CONVERTED)
            assert protocol.response(recv(sender)) == ({} if protocol is Phoenix else None)
            protocol.send(sender, "say", CLIENT_TEXT, "s")
            for ws in (neighbour, sender):
                event, payload = protocol.pushed(recv(ws))
                assert event == "said"
                assert repr(payload) == repr(json.loads(CLIENT_TEXT))
            assert protocol.response(recv(sender)) == ({} if protocol is Phoenix else None)
            client.portal.call(hub.publish, "room:1", "tick", RICH)
            for ws in (sender, neighbour):
                assert protocol.pushed(recv(ws)) == ("tick", CONVERTED)
    return texts


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("codec", CODECS)
def test_converted_values_reach_both_protocols(
    codec: str, protocol: type[Envelope] | type[Phoenix]
) -> None:
    scenario(codec, protocol)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_both_codecs_send_the_same_bytes(protocol: type[Envelope] | type[Phoenix]) -> None:
    assert scenario("orjson", protocol) == scenario("json", protocol)
