"""Each protocol's decode says what a frame is; the session picks the failure model."""

from __future__ import annotations

import json

import pytest

from sockethub import EnvelopeProtocol, PhoenixProtocol
from sockethub.failure import ENVELOPE_MODEL, PHOENIX_MODEL, failure_model
from sockethub.protocols.base import Kind


@pytest.mark.parametrize(
    ("topic", "event", "kind"),
    [
        ("room:1", "phx_join", Kind.JOIN),
        ("room:1", "phx_leave", Kind.LEAVE),
        ("room:1", "heartbeat", Kind.MESSAGE),
        ("room:1", "join", Kind.MESSAGE),
        ("phoenix", "heartbeat", Kind.HEARTBEAT),
        ("phoenix", "phx_join", Kind.MESSAGE),  # no channel is ever joined on "phoenix"
        ("phoenix", "phx_leave", Kind.LEAVE),
        ("phoenix", "shout", Kind.MESSAGE),
    ],
)
def test_phoenix_kinds(topic: str, event: str, kind: Kind) -> None:
    protocol = PhoenixProtocol()
    assert protocol.decode(json.dumps(["1", "2", topic, event, {}])).kind is kind
    header = bytes((0, 1, 1, len(topic), len(event)))
    binary = header + b"12" + topic.encode() + event.encode() + b"raw"
    assert protocol.decode(binary).kind is kind


@pytest.mark.parametrize(
    ("event", "kind"),
    [("join", Kind.JOIN), ("leave", Kind.LEAVE), ("phx_join", Kind.MESSAGE), ("x", Kind.MESSAGE)],
)
def test_envelope_kinds(event: str, kind: Kind) -> None:
    frame = json.dumps({"topic": "phoenix", "event": event, "payload": None})
    assert EnvelopeProtocol().decode(frame).kind is kind


def test_the_failure_model_follows_the_protocol() -> None:
    class Custom(PhoenixProtocol):
        name = "custom-phoenix"

    assert failure_model(PhoenixProtocol()) is PHOENIX_MODEL
    assert failure_model(Custom()) is PHOENIX_MODEL
    assert failure_model(EnvelopeProtocol()) is ENVELOPE_MODEL
