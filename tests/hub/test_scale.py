"""1,000 channels on one hub, and two hubs in one app."""

from __future__ import annotations

from typing import Any

from sockethub import Channel, ISocket, SocketHub
from sockethub.testing import HubClient

from .helpers import TOPIC_NOT_FOUND, app_for, frame


def test_a_thousand_channels_on_one_hub() -> None:
    hub = SocketHub("/ws")
    hub.channel("lobby")
    for n in range(1000):
        channel = hub.channel(f"ch{n}:{{id}}")

        async def which(payload: Any, sock: ISocket, n: int = n) -> None:
            await sock.reply({"channel": n, "params": sock.params})

        channel.on_receive("which")(which)
    last = hub.channels[-1]
    assert last.topic_pattern == "ch999:{id}"
    lobby = hub.channels[0]

    @lobby.on_receive("which")
    async def lobby_which(payload: Any, sock: ISocket) -> None:
        await sock.reply({"channel": "lobby", "params": sock.params})

    assert len(hub.channels) == 1001
    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        for topic in ("ch999:x", "lobby", "ch0:y", "ch500:z"):
            ws.send(topic, "join")
        ws.send("ch999:x", "which")
        assert ws.receive_text() == frame(
            "ch999:x", "reply", {"channel": 999, "params": {"id": "x"}}
        )
        ws.send("lobby", "which")
        assert ws.receive_text() == frame("lobby", "reply", {"channel": "lobby", "params": {}})
        ws.send("ch0:y", "which")
        assert ws.receive_json()["payload"] == {"channel": 0, "params": {"id": "y"}}
        ws.send("ch500:z", "which")
        assert ws.receive_json()["payload"] == {"channel": 500, "params": {"id": "z"}}
        ws.send("ch1000:x", "join")
        assert ws.receive_text() == TOPIC_NOT_FOUND
        assert hub.bus.topics() == dict.fromkeys(  # type: ignore[attr-defined]
            ["ch999:x", "lobby", "ch0:y", "ch500:z"], 1
        )


def two_hubs() -> tuple[SocketHub, SocketHub]:
    hubs = []
    for name in ("a", "b"):
        hub = SocketHub(f"/{name}")
        room = hub.channel("room:{id}")

        async def say(payload: Any, sock: ISocket, name: str = name) -> None:
            await sock.publish({"hub": name, "text": payload}, event="said")

        room.on_receive("say")(say)
        if name == "b":
            hub.channel("only-b")
        hubs.append(hub)
    return hubs[0], hubs[1]


def test_two_hubs_in_one_app_have_separate_channels_and_buses() -> None:
    a, b = two_hubs()
    assert a.bus is not b.bus
    with HubClient(app_for(a, b)) as client:
        with (
            client.connect("/a") as on_a,
            client.connect("/b") as on_b,
        ):
            on_a.send("room:1", "join")
            on_b.send("room:1", "join")
            on_a.assert_nothing_pending()
            on_b.assert_nothing_pending()
            # Same topic string on both hubs: a publish stays on its own hub's bus.
            on_a.send("room:1", "say", "hi")
            assert on_a.receive_text() == frame("room:1", "said", {"hub": "a", "text": "hi"})
            on_b.assert_nothing_pending()
            on_b.send("room:1", "say", "yo")
            assert on_b.receive_text() == frame("room:1", "said", {"hub": "b", "text": "yo"})
            on_a.assert_nothing_pending()
            # Channels are per hub.
            on_a.send("only-b", "join")
            assert on_a.receive_text() == TOPIC_NOT_FOUND
            on_b.send("only-b", "join")
            on_b.assert_nothing_pending()
            assert a.bus.topics() == {"room:1": 1}  # type: ignore[attr-defined]
            assert b.bus.topics() == {"room:1": 1, "only-b": 1}  # type: ignore[attr-defined]
            assert (a.stats.connections, b.stats.connections) == (1, 1)


def test_server_side_publish_reaches_only_its_hub() -> None:
    a, b = two_hubs()
    with HubClient(app_for(a, b)) as client:
        with (
            client.connect("/a") as on_a,
            client.connect("/b") as on_b,
        ):
            on_a.send("room:1", "join")
            on_b.send("room:1", "join")
            on_a.assert_nothing_pending()
            client.call(b.publish, "room:1", "news", {"n": 1})  # type: ignore[union-attr]
            assert on_b.receive_text() == frame("room:1", "news", {"n": 1})
            on_a.assert_nothing_pending()


class CountingHub(SocketHub):
    """A hub that counts topic resolutions (a real subclass, not a mock)."""

    resolutions = 0

    def resolve(self, topic: str) -> tuple[Channel, dict[str, str]] | None:
        self.resolutions += 1
        return super().resolve(topic)


def test_a_joined_topic_is_resolved_once_not_per_message() -> None:
    hub = CountingHub("/ws")
    for n in range(1000):
        hub.channel(f"ch{n}:{{id}}")
    last = hub.channels[-1]

    @last.on_receive("n")
    async def echo(payload: Any, sock: ISocket) -> None:
        await sock.reply(payload)

    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.send("ch999:x", "join")
        for n in range(20):
            ws.send("ch999:x", "n", n)
        assert [ws.receive_json()["payload"] for _ in range(20)] == list(range(20))
    assert hub.resolutions == 1
