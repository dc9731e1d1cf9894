"""Topic patterns: validation at registration, literal matching, placeholders, unicode."""

from __future__ import annotations

import pytest

from sockethub import ISocket, SocketHub
from sockethub.testing import HubClient

from .helpers import TOPIC_NOT_FOUND, app_for, frame


def echo_hub(*patterns: str) -> SocketHub:
    """A hub whose channels answer ``where`` with the topic and params they saw."""
    hub = SocketHub("/ws")
    for pattern in patterns:
        channel = hub.channel(pattern)

        @channel.on_receive("where")
        async def where(payload: object, sock: ISocket) -> None:
            await sock.reply({"topic": sock.topic, "params": sock.params})

    return hub


# -- validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "complaint"),
    [
        ("room:{}", "not an identifier"),
        ("room:{1id}", "not an identifier"),
        ("room:{room-id}", "not an identifier"),
        ("room:{ id }", "not an identifier"),
        ("room:{id", "unbalanced '{'"),
        ("room:id}", "unbalanced '}'"),
        ("room:}{id}", "unbalanced '}'"),
        ("room:{{id}}", "unbalanced '{'"),
        ("room:{a{b}}", "unbalanced '{'"),
        ("{a}:{a}", "appears twice"),
        ("x:{a}:{b}:{a}", "appears twice"),
    ],
)
def test_bad_patterns_fail_at_registration_naming_the_pattern(pattern: str, complaint: str) -> None:
    hub = SocketHub("/ws")
    with pytest.raises(ValueError) as info:
        hub.channel(pattern)
    message = str(info.value)
    assert repr(pattern) in message
    assert complaint in message
    assert hub.channels == []


@pytest.mark.parametrize("pattern", ["", None, 42])
def test_empty_or_non_string_pattern_is_refused(pattern: object) -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        SocketHub("/ws").channel(pattern)  # type: ignore[arg-type]


def test_touching_placeholders_are_refused() -> None:
    with pytest.raises(ValueError, match=r"'\{a\}\{b\}'.*separated"):
        SocketHub("/ws").channel("{a}{b}")


# -- literal text, metacharacters included ------------------------------------------------


@pytest.mark.parametrize("meta", [".", "*", "+", "(", "[", "$", "^", "\\", "|", "?", ")", "]"])
def test_regex_metacharacters_match_literally(meta: str) -> None:
    hub = SocketHub("/ws")
    hub.channel(f"a{meta}b:{{id}}")
    literal = hub.channel(f"lit{meta}x")
    resolved = hub.resolve(f"a{meta}b:7")
    assert resolved is not None
    assert resolved[1] == {"id": "7"}
    assert hub.resolve(f"lit{meta}x") == (literal, {})
    # What the metacharacter would match as a regex does not match.
    for impostor in ("aZb:7", "ab:7", f"a{meta}{meta}b:7", "aab:7", "b:7"):
        assert hub.resolve(impostor) is None, impostor
    for impostor in ("litZx", "litx", f"lit{meta}{meta}x", "lit"):
        assert hub.resolve(impostor) is None, impostor


def test_every_metacharacter_together_over_the_wire() -> None:
    pattern = "a.b*c+d(e[f$g^h\\i|j?k)l]:{id}"
    topic = "a.b*c+d(e[f$g^h\\i|j?k)l]:42"
    hub = echo_hub(pattern, "dot.only")
    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.send(topic, "join")
        ws.send(topic, "where")
        assert ws.receive_text() == frame(topic, "reply", {"topic": topic, "params": {"id": "42"}})
        # "." in a literal pattern is a dot, not "any character".
        ws.send("dotXonly", "join")
        assert ws.receive_text() == TOPIC_NOT_FOUND
        ws.send("dot.only", "join")
        ws.assert_nothing_pending()


# -- placeholders ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "params"),
    [
        ("room:1", {"id": "1"}),
        ("room:a:b", {"id": "a:b"}),
        ("room: spaced out ", {"id": " spaced out "}),
        ("room:line\nbreak", {"id": "line\nbreak"}),
        ("room:", None),
        ("room:a/b", None),
        ("room:/", None),
        ("room", None),
        ("xroom:1", None),
    ],
)
def test_placeholder_matches_one_or_more_characters_other_than_slash(
    topic: str, params: dict[str, str] | None
) -> None:
    hub = SocketHub("/ws")
    room = hub.channel("room:{id}")
    assert room.match(topic) == params
    assert hub.resolve(topic) == (None if params is None else (room, params))


def test_several_placeholders_split_on_literal_text() -> None:
    hub = SocketHub("/ws")
    game = hub.channel("game:{g}:team:{team}")
    assert hub.resolve("game:7:team:red") == (game, {"g": "7", "team": "red"})
    assert hub.resolve("game:7:team:") is None
    assert hub.resolve("game:7/8:team:red") is None


def test_placeholders_over_the_wire_fill_sock_params() -> None:
    hub = echo_hub("game:{g}:team:{team}")
    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.send("game:7:team:red", "join")
        ws.send("game:7:team:red", "where")
        assert ws.receive_json() == {
            "topic": "game:7:team:red",
            "event": "reply",
            "payload": {"topic": "game:7:team:red", "params": {"g": "7", "team": "red"}},
        }
        ws.send("game:7/1:team:red", "join")
        assert ws.receive_text() == TOPIC_NOT_FOUND


# -- unicode ------------------------------------------------------------------------------


def test_unicode_patterns_topics_and_placeholder_names() -> None:
    hub = echo_hub("комната:{имя}", "部屋:{id}:🎲", "café")
    topics = [
        ("комната:Ёлка", {"имя": "Ёлка"}),
        ("部屋:東京:🎲", {"id": "東京"}),
        ("café", {}),
    ]
    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        for topic, params in topics:
            ws.send(topic, "join")
            ws.send(topic, "where")
            raw = ws.receive_text()
            # ensure_ascii=False: the text goes out as UTF-8, not \u escapes.
            assert raw == frame(topic, "reply", {"topic": topic, "params": params})
            assert topic in raw
        # NFC "café" and NFD "café" are different strings: no normalisation.
        ws.send("cafe\u0301", "join")
        assert ws.receive_text() == TOPIC_NOT_FOUND


# -- literal patterns are joinable (0.1 could never join one) --------------------------


def test_pattern_without_placeholders_is_joinable() -> None:
    hub = SocketHub("/ws")
    lobby = hub.channel("lobby")
    joined: list[dict[str, str]] = []

    @lobby.on_join
    async def on_join(params: dict[str, str], sock: ISocket) -> None:
        joined.append(params)

    @lobby.on_receive("hi")
    async def hi(payload: object, sock: ISocket) -> None:
        await sock.reply({"params": sock.params, "payload": payload})

    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.send("lobby", "join")
        ws.send("lobby", "hi", "there")
        assert ws.receive_text() == frame("lobby", "reply", {"params": {}, "payload": "there"})
        assert joined == [{}]
    assert lobby.match("lobby") == {}
    assert lobby.match("lobby2") is None
