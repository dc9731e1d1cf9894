"""Which channel serves a topic when several patterns match it.

The rule: most literal characters, then more placeholders, then registration order.
The first two must not depend on the order the channels were registered in.
"""

from __future__ import annotations

import itertools

import pytest

from sockethub import ISocket, SocketHub
from sockethub.testing import HubClient

from .helpers import app_for, frame


def named_hub(patterns: list[str]) -> SocketHub:
    """A hub whose channels answer ``who`` with their own pattern."""
    hub = SocketHub("/ws")
    for pattern in patterns:
        channel = hub.channel(pattern)

        async def who(payload: object, sock: ISocket, pattern: str = pattern) -> None:
            await sock.reply({"pattern": pattern, "params": sock.params})

        channel.on_receive("who")(who)
    return hub


def winner(patterns: list[str], topic: str) -> str:
    hub = named_hub(patterns)
    resolved = hub.resolve(topic)
    assert resolved is not None
    return resolved[0].topic_pattern


CASES = [
    # (patterns, topic, expected winner)
    (["room:{id}", "room:lobby"], "room:lobby", "room:lobby"),
    (["room:{id}", "room:lobby"], "room:hall", "room:{id}"),
    (["game:{g}", "game:{g}:{team}"], "game:7:red", "game:{g}:{team}"),
    (["game:{g}", "game:{g}:{team}"], "game:7", "game:{g}"),
    # More literal characters beats more placeholders.
    (["{a}:{b}:{c}", "room:{id}"], "room:x:y", "room:{id}"),
    (["{a}:{b}", "{x}"], "p:q", "{a}:{b}"),
    # Equal literal characters: more placeholders wins (0.1's rule).
    (["{a}", "{a}:{b}"], "p:q", "{a}:{b}"),
    (["x{a}", "{a}:{b}"], "x1:2", "{a}:{b}"),  # one literal each ("x", ":")
    (["a{x}", "{x}b"], "ab", "a{x}"),  # same literals and placeholders: first registered
    (["{x}b", "a{x}"], "ab", "{x}b"),
    (["x:{a}", "x:{a}:y:{b}", "x:lit:y:{b}"], "x:lit:y:z", "x:lit:y:{b}"),
    (["chat:{r}", "chat:{r}:{u}", "chat:vip:{u}"], "chat:vip:bob", "chat:vip:{u}"),
]


@pytest.mark.parametrize(("patterns", "topic", "expected"), CASES)
def test_precedence_rule(patterns: list[str], topic: str, expected: str) -> None:
    assert winner(patterns, topic) == expected


@pytest.mark.parametrize(
    ("patterns", "topic", "expected"),
    [case for case in CASES if case[0] not in (["a{x}", "{x}b"], ["{x}b", "a{x}"])],
)
def test_registration_order_does_not_matter_for_the_first_two_rules(
    patterns: list[str], topic: str, expected: str
) -> None:
    for order in itertools.permutations(patterns):
        assert winner(list(order), topic) == expected, order


def test_literal_over_placeholder_on_the_wire_both_orders() -> None:
    for patterns in (["room:{id}", "room:lobby"], ["room:lobby", "room:{id}"]):
        hub = named_hub(patterns)
        with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
            for topic in ("room:lobby", "room:7"):
                ws.send(topic, "join")
            ws.send("room:lobby", "who")
            assert ws.receive_text() == frame(
                "room:lobby", "reply", {"pattern": "room:lobby", "params": {}}
            )
            ws.send("room:7", "who")
            assert ws.receive_text() == frame(
                "room:7", "reply", {"pattern": "room:{id}", "params": {"id": "7"}}
            )


def test_more_literal_nested_pattern_wins_on_the_wire_both_orders() -> None:
    for patterns in (["game:{g}", "game:{g}:{team}"], ["game:{g}:{team}", "game:{g}"]):
        hub = named_hub(patterns)
        with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
            ws.send("game:7:red", "join")
            ws.send("game:7:red", "who")
            assert ws.receive_json()["payload"] == {
                "pattern": "game:{g}:{team}",
                "params": {"g": "7", "team": "red"},
            }
            ws.send("game:7", "join")
            ws.send("game:7", "who")
            assert ws.receive_json()["payload"] == {"pattern": "game:{g}", "params": {"g": "7"}}
