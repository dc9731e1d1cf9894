"""hub.include(): reusing another hub's channel tree under a topic prefix."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from sockethub import ISocket, SocketHub
from sockethub.testing import ConnectRefused, HubClient

from .helpers import TOPIC_NOT_FOUND, app_for, frame


def rooms_hub(log: list[Any]) -> SocketHub:
    """A hub meant to be included: one channel with every callback, plus hooks that
    must never run when it is only included."""

    def middleware(app: ASGIApp) -> ASGIApp:
        log.append("included middleware built")

        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            log.append("included middleware ran")
            await app(scope, receive, send)

        return wrapped

    rooms = SocketHub("/never-served", middlewares=[middleware])
    room = rooms.channel("room:{id}")

    @rooms.on_connect
    async def included_on_connect(sock: ISocket) -> None:
        log.append("included on_connect")

    @rooms.on_disconnect
    async def included_on_disconnect(sock: ISocket) -> None:
        log.append("included on_disconnect")

    @room.on_join
    async def on_join(params: dict[str, str], sock: ISocket) -> None:
        log.append(("join", sock.topic, params))

    @room.on_receive("say")
    async def say(payload: Any, sock: ISocket) -> None:
        await sock.publish(payload, event="said")

    @room.on_exit
    async def on_exit(sock: ISocket) -> None:
        log.append(("exit", sock.topic))

    return rooms


def test_included_channel_is_reachable_under_the_prefix_with_its_callbacks() -> None:
    log: list[Any] = []
    rooms = rooms_hub(log)
    hub = SocketHub("/ws")

    @hub.on_connect
    async def on_connect(sock: ISocket) -> None:
        log.append("own on_connect")

    hub.include(rooms, parent_prefix="chat:")
    assert [c.topic_pattern for c in hub.channels] == ["chat:room:{id}"]

    with HubClient(app_for(hub)) as client:
        with client.connect("/ws") as ws:
            ws.send("chat:room:7", "join")
            ws.send("chat:room:7", "say", "hello")
            # published on the including hub's bus, to the prefixed topic
            assert ws.receive_text() == frame("chat:room:7", "said", "hello")
            assert hub.bus.topics() == {"chat:room:7": 1}  # type: ignore[attr-defined]
            assert rooms.bus.topics() == {}  # type: ignore[attr-defined]
            # the unprefixed pattern is not on this hub
            ws.send("room:7", "join")
            assert ws.receive_text() == TOPIC_NOT_FOUND
        # The included hub's path and middlewares are not served either.
        with pytest.raises(ConnectRefused):
            with client.connect("/never-served"):
                pass
    assert log == [
        "own on_connect",
        ("join", "chat:room:7", {"id": "7"}),
        ("exit", "chat:room:7"),
    ]


def test_include_without_prefix_and_several_hubs() -> None:
    a, b = SocketHub(), SocketHub()
    a.channel("alpha:{x}")
    b.channel("beta:{x}")
    b.channel("lobby")
    hub = SocketHub("/ws")
    hub.include(a, b)
    assert [c.topic_pattern for c in hub.channels] == ["alpha:{x}", "beta:{x}", "lobby"]
    resolved = hub.resolve("lobby")
    assert resolved is not None and resolved[1] == {}


def test_include_shares_callbacks_registered_after_the_include() -> None:
    rooms = SocketHub()
    room = rooms.channel("room:{id}")
    hub = SocketHub("/ws")
    hub.include(rooms, parent_prefix="x/")

    @room.on_receive("late")
    async def late(payload: Any, sock: ISocket) -> None:
        await sock.reply(sock.params)

    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.send("x/room:3", "join")
        ws.send("x/room:3", "late")
        assert ws.receive_text() == frame("x/room:3", "reply", {"id": "3"})


def test_channels_added_to_the_included_hub_later_are_not_taken() -> None:
    rooms = SocketHub()
    rooms.channel("room:{id}")
    hub = SocketHub("/ws")
    hub.include(rooms, parent_prefix="chat:")
    rooms.channel("late:{id}")
    assert hub.resolve("chat:late:1") is None


def test_prefix_precedence_follows_the_normal_rule() -> None:
    rooms = SocketHub()
    rooms.channel("{id}")
    hub = SocketHub("/ws")
    hub.include(rooms, parent_prefix="chat:")
    lobby = hub.channel("chat:lobby")
    resolved = hub.resolve("chat:lobby")
    assert resolved is not None and resolved[0] is lobby
    resolved = hub.resolve("chat:other")
    assert resolved is not None and resolved[0].topic_pattern == "chat:{id}"


# -- clashes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("existing", "new", "word"),
    [
        ("room:{id}", "room:{id}", "duplicates"),
        ("room:{a}", "room:{b}", "has the same shape as"),
        ("lobby", "lobby", "duplicates"),
        ("g:{a}:{b}", "g:{x}:{y}", "has the same shape as"),
    ],
)
def test_duplicate_or_same_shape_pattern_fails_at_channel(
    existing: str, new: str, word: str
) -> None:
    hub = SocketHub("/ws")
    first = hub.channel(existing)
    with pytest.raises(ValueError) as info:
        hub.channel(new)
    assert str(info.value) == f"Topic pattern {new!r} {word} existing pattern {existing!r}"
    assert hub.channels == [first]


def test_different_shapes_are_not_clashes() -> None:
    hub = SocketHub("/ws")
    for pattern in ("room:{a}", "room:{a}:{b}", "room:lobby", "room{a}", "{a}:room"):
        hub.channel(pattern)
    assert len(hub.channels) == 5


@pytest.mark.parametrize(
    ("existing", "included", "prefix"),
    [
        ("chat:room:{id}", "room:{id}", "chat:"),
        ("chat:room:{a}", "room:{b}", "chat:"),
        ("chat:lobby", "lobby", "chat:"),
        ("room:{a}", "room:{b}", ""),
    ],
)
def test_clash_fails_at_include_and_adds_nothing(existing: str, included: str, prefix: str) -> None:
    hub = SocketHub("/ws")
    hub.channel(existing)
    other = SocketHub()
    other.channel("fine:{x}")  # would be addable on its own
    other.channel(included)
    with pytest.raises(ValueError, match="Topic pattern"):
        hub.include(other, parent_prefix=prefix)
    assert [c.topic_pattern for c in hub.channels] == [existing]
    assert hub.resolve(prefix + "fine:1") is None
    # and the hub still accepts later registrations of what was not added
    hub.channel(prefix + "fine:{x}")


def test_clash_between_two_included_hubs_adds_nothing() -> None:
    a, b = SocketHub(), SocketHub()
    a.channel("room:{a}")
    b.channel("other:{x}")
    b.channel("room:{b}")
    hub = SocketHub("/ws")
    with pytest.raises(ValueError, match="same shape"):
        hub.include(a, b, parent_prefix="p:")
    assert hub.channels == []


def test_included_hub_bus_limits_and_error_policy_are_unused() -> None:
    rooms = SocketHub(error_policy="close")
    room = rooms.channel("room:{id}")

    @room.on_receive("boom")
    async def boom(payload: Any, sock: ISocket) -> None:
        raise RuntimeError("boom")

    hub = SocketHub("/ws")  # error_policy="reply"
    hub.include(rooms)
    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.send("room:1", "join")
        ws.send("room:1", "boom")
        assert ws.receive_text() == '{"code":4500,"reason":"Internal error"}'
        ws.assert_nothing_pending()  # still open: the including hub's policy applied
