"""Property-based: arbitrary JSON texts through join, push, publish and reply.

Payload texts are drawn from everything a client can put in a JSON text: every Unicode
plane, escaped lone surrogates, ``NaN``/``Infinity``, numbers too large for a float or
for Python's integer parser, nesting beyond any parser's depth.  For both wire protocols,
a sender joins, pushes (``echo``: the callback's return value is the reply), publishes
(``say``) and joins with the text as payload; a neighbour on the same topic listens.

Invariants: every frame the server sends to either connection is valid UTF-8 and parses
with a strict JSON parser (what browsers' ``JSON.parse`` accepts); a text the model says
can be sent again comes back equal (reply and broadcast), any other text is refused with
4400 and reaches nobody; the neighbour never misses a broadcast or gets one it should not.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from sockethub.testing import HubClient
from tests.codecs import CODECS, make
from tests.hardening.app import build

# -- the texts ---------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**300), max_value=10**300),
    st.floats(allow_nan=True, allow_infinity=True),
    # every code point, surrogates included (json.dumps escapes them as \\udXXX)
    st.text(st.characters(min_codepoint=0, max_codepoint=sys.maxunicode, exclude_categories=())),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.text(max_size=5) | st.sampled_from(["\ud800", "\udfff"]), children, max_size=4
        ),
    ),
    max_leaves=12,
)
TOKENS = [
    ("1e999999", False),  # overflows a float
    ("-1e400", False),
    ("1e308", True),
    ("123456789012345678901234567890", True),
    ("-9223372036854775809", True),  # below int64: orjson alone reads a float
    ("18446744073709551616", True),  # beyond uint64: likewise
    ("[" * 300 + "]" * 300, True),  # deeper than orjson writes
    ("1e-400", True),  # underflows to 0.0: sendable
    ("9" * 5000, False),  # beyond Python's 4300-digit integer limit
    ("-0.0", True),
    ("[" * 30_000 + "]" * 30_000, False),  # too deep for a recursive parser (60 kB)
    ("[" * 100 + "]" * 100, True),
    ('"\\ud83d\\ude00"', True),  # an escaped surrogate *pair*: one character
    ('"\\ud83d"', False),
]


def sendable(value: Any) -> bool:
    """The model: can ``value`` be sent to a client as strict JSON in UTF-8?"""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, list):
        return all(sendable(v) for v in value)
    if isinstance(value, dict):
        return all(sendable(k) and sendable(v) for k, v in value.items())
    return True


def from_value(value: Any) -> tuple[str, bool]:
    return json.dumps(value, ensure_ascii=True, allow_nan=True), sendable(value)


texts = st.one_of(values.map(from_value), st.sampled_from(TOKENS))


# -- the app and the two protocols ------------------------------------------------------


class Envelope:
    path = "/ws"

    @staticmethod
    def frame(topic: str, event: str, payload: str, ref: str | None) -> str:
        ref_part = "" if ref is None else f',"ref":{json.dumps(ref)}'
        return f'{{"topic":{json.dumps(topic)},"event":"{event}","payload":{payload}{ref_part}}}'

    @staticmethod
    def reply(frame: Any) -> tuple[str, Any]:
        """(status, response) of a reply; ("refused", code) of an error frame."""
        if "code" in frame:
            return "refused", frame["code"]
        assert frame["event"] == "reply"
        return frame["payload"]["status"], frame["payload"]["response"]

    @staticmethod
    def broadcast(frame: Any) -> tuple[str, Any]:
        return frame["event"], frame["payload"]


class Phoenix:
    path = "/ws?vsn=2.0.0"

    @staticmethod
    def frame(topic: str, event: str, payload: str, ref: str | None) -> str:
        event = {"join": "phx_join", "leave": "phx_leave"}.get(event, event)
        return f'["1",{json.dumps(ref)},{json.dumps(topic)},"{event}",{payload}]'

    @staticmethod
    def reply(frame: Any) -> tuple[str, Any]:
        _, _, _, event, payload = frame
        assert event == "phx_reply"
        response = payload["response"]
        if payload["status"] == "error" and response.get("code") == 4400:
            return "refused", 4400
        return payload["status"], response

    @staticmethod
    def broadcast(frame: Any) -> tuple[str, Any]:
        return frame[3], frame[4]


Protocol = type[Envelope] | type[Phoenix]


def check(app: Starlette, protocol: Protocol, text: str, ok: bool) -> None:
    with HubClient(app) as client:
        with (
            client.connect(protocol.path) as sender,
            client.connect(protocol.path) as neighbour,
        ):
            for ws in (sender, neighbour):
                ws.send_text(protocol.frame("room:p", "join", "{}", "j"))
                assert protocol.reply(ws.receive_json())[0] == "ok"

            def send(event: str, payload: str, ref: str | None, topic: str = "room:p") -> None:
                sender.send_text(protocol.frame(topic, event, payload, ref))

            expected = json.loads(text) if ok else None
            # push with a ref: the callback's return value is the reply
            send("echo", text, "e")
            status, response = protocol.reply(sender.receive_json())
            if ok:
                assert (status, response) == (
                    "ok",
                    {} if expected is None and protocol is Phoenix else expected,
                )
            else:
                assert (status, response) == ("refused", 4400)
            # publish: both subscribers get it, or the sender gets 4400 and nobody gets it
            send("say", text, None)
            if not ok:
                assert protocol.reply(sender.receive_json()) == ("refused", 4400)
            send("say", '"end"', None)
            want = [("said", expected), ("said", "end")] if ok else [("said", "end")]
            for ws in (neighbour, sender):
                assert [protocol.broadcast(ws.receive_json()) for _ in want] == want
            # join another topic with the text as payload
            send("join", text, "k", topic="room:q")
            status, _ = protocol.reply(sender.receive_json())
            assert status == ("ok" if ok else "refused")


@pytest.mark.parametrize("codec", CODECS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts, st.sampled_from([Envelope, Phoenix]))
def test_every_server_frame_is_strict_json_whatever_the_client_sent(
    codec: str, case: tuple[str, bool], protocol: Protocol
) -> None:
    text, ok = case
    # /ws: room:{id} with "echo" (returns) and "say" (publishes)
    app, hub, _, _ = build(make(codec))
    check(app, protocol, text, ok)
    assert hub.bus.topics() == {}  # type: ignore[attr-defined]
