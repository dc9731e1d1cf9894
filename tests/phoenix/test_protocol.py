"""PhoenixProtocol over the test kit (on Starlette's TestClient): the exact frames of
Phoenix V2.  "Nothing else arrived" is the kit's heartbeat round trip.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from starlette.applications import Starlette

from sockethub import SocketHub, failure
from sockethub.failure import failure_model
from sockethub.protocols import EnvelopeProtocol, Inbound, PhoenixProtocol
from sockethub.protocols.phoenix import auth_token_from_subprotocols
from sockethub.testing import ConnectRefused, HubClient
from tests.phoenix.app import PhoenixApp, build

URL = "/socket/websocket?vsn=2.0.0"


@pytest.fixture
def papp() -> PhoenixApp:
    return build()


@pytest.fixture
def client(papp: PhoenixApp) -> Iterator[HubClient]:
    with HubClient(papp.app) as client:
        yield client


# -- selection, handshake -------------------------------------------------------------------


def test_vsn_2_selects_phoenix_and_heartbeat_is_answered(client: HubClient) -> None:
    with client.connect(URL, protocol="phoenix") as ws:
        ws.send("phoenix", "heartbeat", {}, ref="7", join_ref=None)
        assert ws.receive_text() == '[null,"7","phoenix","phx_reply",{"status":"ok","response":{}}]'


def test_without_vsn_the_hub_speaks_the_01_envelope(client: HubClient) -> None:
    with client.connect("/socket/websocket") as ws:
        ws.send_json(["1", "1", "room:a", "phx_join", {}])  # a Phoenix frame
        assert ws.receive_json() == {
            "code": 4400,
            "reason": "Malformed frame: expected a JSON object",
        }
        ws.send_json({"topic": "room:a", "event": "join"})
        ws.send_json({"topic": "room:a", "event": "echo", "payload": 1, "ref": "r"})
        assert ws.receive_text() == (
            '{"topic":"room:a","event":"reply","payload":{"status":"ok","response":1},"ref":"r"}'
        )


@pytest.mark.parametrize(
    ("protocol", "url", "phoenix"),
    [
        (PhoenixProtocol(), "/socket/websocket", True),
        (EnvelopeProtocol(), "/socket/websocket?vsn=2.0.0", False),
    ],
)
def test_a_protocol_fixed_on_the_hub_ignores_vsn(protocol: Any, url: str, phoenix: bool) -> None:
    with HubClient(build(protocol=protocol).app) as client, client.connect(url) as ws:
        ws.send_json([None, "1", "phoenix", "heartbeat", {}])  # a Phoenix frame
        if phoenix:
            assert ws.receive_json()[3] == "phx_reply"
        else:
            assert ws.receive_json()["code"] == 4400


def test_auth_token_and_connect_params_reach_on_connect(
    client: HubClient, papp: PhoenixApp
) -> None:
    # btoa("s3cret-token") without padding, as phoenix.js sends it
    offered = ["phoenix", "base64url.bearer.phx.czNjcmV0LXRva2Vu"]
    with client.connect(URL + "&user=ann", subprotocols=offered, protocol="phoenix") as ws:
        assert ws.accepted_subprotocol == "phoenix"
        assert ws.join("room:a", ref="1") == {}
        ws.send("room:a", "whoami", {}, ref="2", join_ref="1")
        assert ws.receive_json() == [
            "1",
            "2",
            "room:a",
            "phx_reply",
            {"status": "ok", "response": {"user": "ann", "topic": "room:a"}},
        ]
    assert papp.seen.connects == [
        {"params": {"vsn": "2.0.0", "user": "ann"}, "token": "s3cret-token"}
    ]


def test_no_auth_token_no_subprotocol(client: HubClient, papp: PhoenixApp) -> None:
    with client.connect(URL, protocol="phoenix") as ws:
        assert ws.accepted_subprotocol is None
        ws.assert_nothing_pending()
    assert papp.seen.connects[0]["token"] is None


def test_connect_refused_in_on_connect(client: HubClient) -> None:
    with pytest.raises(ConnectRefused) as refused:
        client.connect(URL + "&user=mallory", protocol="phoenix")
    assert (refused.value.code, refused.value.reason) == (4403, "Banned")


@pytest.mark.parametrize(
    ("offered", "token"),
    [
        (["phoenix", "base64url.bearer.phx.dG9r"], "tok"),
        (["base64url.bearer.phx.YT8-Pz4_fg"], "a?>?>?~"),  # url-safe alphabet
        (["base64url.bearer.phx.YT8+Pz4/fg"], "a?>?>?~"),  # standard alphabet
        (["base64url.bearer.phx.w6k"], "\xc3\xa9"),  # btoa works on Latin-1 strings
        (["base64url.bearer.phx.!!"], None),
        (["phoenix"], None),
        ([], None),
    ],
)
def test_auth_token_decoding(offered: list[str], token: str | None) -> None:
    assert auth_token_from_subprotocols(offered) == token


# -- joins ---------------------------------------------------------------------------------


def test_join_payload_reaches_on_join_and_refusal_is_an_error_reply(
    client: HubClient, papp: PhoenixApp
) -> None:
    with client.connect(URL, protocol="phoenix") as ws:
        ws.send("room:secret", "phx_join", {"password": "nope"}, ref="1", join_ref="1")
        assert ws.receive_text() == (
            '["1","1","room:secret","phx_reply",'
            '{"status":"error","response":{"reason":"Wrong password"}}]'
        )
        ws.send("room:secret", "echo", "x", ref="2", join_ref="1")  # refused: not joined
        assert ws.receive_json() == [
            "1",
            "2",
            "room:secret",
            "phx_reply",
            {"status": "error", "response": {"reason": "Topic not found", "code": 4404}},
        ]
        assert ws.join("room:secret", {"password": "sesame"}, ref="3") == {}
    assert papp.seen.joins == [
        {"topic": "room:secret", "payload": {"password": "nope"}},
        {"topic": "room:secret", "payload": {"password": "sesame"}},
    ]


def test_join_of_an_unknown_topic_is_an_error_reply(client: HubClient) -> None:
    with client.connect(URL, protocol="phoenix") as ws:
        ws.send("nowhere", "phx_join", {}, ref="1", join_ref="1")
        assert ws.receive_json() == [
            "1",
            "1",
            "nowhere",
            "phx_reply",
            {"status": "error", "response": {"reason": "Topic not found", "code": 4404}},
        ]


def test_crashing_join_answers_join_crashed(client: HubClient) -> None:
    with client.connect(URL, protocol="phoenix") as ws:
        ws.send("room:crash", "phx_join", {}, ref="1", join_ref="1")
        assert ws.receive_json() == [
            "1",
            "1",
            "room:crash",
            "phx_reply",
            {"status": "error", "response": {"reason": "join crashed"}},
        ]
        ws.assert_nothing_pending()


def test_rejoin_with_new_join_ref_replaces_the_old(client: HubClient, papp: PhoenixApp) -> None:
    with client.connect(URL, protocol="phoenix") as ws:
        assert ws.join("room:a", ref="1") == {}
        assert ws.join("room:a", ref="5") == {}
        assert papp.seen.exits == ["room:a"]
        ws.send("room:a", "echo", "stale", ref="6", join_ref="1")  # the old join_ref: ignored
        ws.assert_nothing_pending()
        ws.send("room:a", "echo", "fresh", ref="7", join_ref="5")
        assert ws.receive_json() == [
            "5",
            "7",
            "room:a",
            "phx_reply",
            {"status": "ok", "response": "fresh"},
        ]
        ws.send("room:a", "emit", 1, ref="8", join_ref="5")
        assert ws.receive_json() == ["5", None, "room:a", "pushed", 1]
        assert ws.receive_json() == [
            "5",
            "8",
            "room:a",
            "phx_reply",
            {"status": "ok", "response": {}},
        ]


def test_stale_join_ref_messages_are_ignored(client: HubClient) -> None:
    with client.connect(URL, protocol="phoenix") as ws:
        assert ws.join("room:a", ref="1") == {}
        ws.send("room:a", "echo", 1, ref="2", join_ref="0")
        ws.send("room:a", "phx_leave", {}, ref="3", join_ref="0")
        ws.assert_nothing_pending()
        ws.send("room:a", "echo", 2, ref="4", join_ref="1")  # still joined
        assert ws.receive_json()[1:] == [
            "4",
            "room:a",
            "phx_reply",
            {"status": "ok", "response": 2},
        ]


def test_same_join_ref_twice_is_already_joined(client: HubClient) -> None:
    with client.connect(URL, protocol="phoenix") as ws:
        assert ws.join("room:a", ref="1") == {}
        ws.send("room:a", "phx_join", {}, ref="1", join_ref="1")
        assert ws.receive_json()[4] == {
            "status": "error",
            "response": {"reason": "Already joined", "code": 4409},
        }


# -- pushes and replies ------------------------------------------------------------------------


def test_push_replies_with_the_return_value_or_the_reply_error(client: HubClient) -> None:
    with client.connect(URL, protocol="phoenix") as ws:
        assert ws.join("room:a", ref="1") == {}
        ws.send("room:a", "echo", {"n": 1}, ref="2", join_ref="1")
        assert (
            ws.receive_text() == '["1","2","room:a","phx_reply",{"status":"ok","response":{"n":1}}]'
        )
        ws.send("room:a", "fail", "x", ref="3", join_ref="1")
        assert ws.receive_json() == [
            "1",
            "3",
            "room:a",
            "phx_reply",
            {"status": "error", "response": {"reason": "Not allowed", "asked": "x"}},
        ]
        ws.send("room:a", "no-such-event", None, ref="4", join_ref="1")
        assert ws.receive_json() == [
            "1",
            "4",
            "room:a",
            "phx_reply",
            {"status": "error", "response": {"reason": "Event not found", "code": 4404}},
        ]


def test_server_pushes_carry_join_ref_and_broadcasts_carry_none(client: HubClient) -> None:
    with client.connect(URL, protocol="phoenix") as ws:
        assert ws.join("room:a", ref="1") == {}
        ws.send("room:a", "emit", {"a": 1}, ref="2", join_ref="1")
        assert ws.receive_text() == '["1",null,"room:a","pushed",{"a":1}]'
        assert ws.receive_json()[1] == "2"
        ws.send("room:a", "shout", "hé", ref="3", join_ref="1")
        assert ws.receive_text() == '[null,null,"room:a","shouted","hé"]'
        assert ws.receive_json()[1] == "3"


def test_crashing_callback_sends_phx_error_and_the_client_can_rejoin(
    client: HubClient, papp: PhoenixApp
) -> None:
    with client.connect(URL, protocol="phoenix") as ws:
        assert ws.join("room:a", ref="1") == {}
        ws.send("room:a", "crash", None, ref="2", join_ref="1")
        assert ws.receive_text() == '["1","1","room:a","phx_error",{}]'
        ws.assert_nothing_pending()
        assert ws.join("room:a", ref="3") == {}  # what phoenix.js does after phx_error
        ws.send("room:a", "echo", "back", ref="4", join_ref="3")
        assert ws.receive_json()[4] == {"status": "ok", "response": "back"}
    assert papp.hub.stats.callback_errors == 1


def test_leave_is_acked_then_closed(client: HubClient, papp: PhoenixApp) -> None:
    with client.connect(URL, protocol="phoenix") as ws:
        assert ws.join("room:a", ref="1") == {}
        ws.send("room:a", "phx_leave", {}, ref="2", join_ref="1")
        assert ws.receive_text() == '["1","2","room:a","phx_reply",{"status":"ok","response":{}}]'
        assert ws.receive_text() == '["1","1","room:a","phx_close",{}]'
        assert papp.seen.exits == ["room:a"]
        # Phoenix answers a leave of a topic that is not joined with ok, too
        ws.send("room:a", "phx_leave", {}, ref="3", join_ref="1")
        assert ws.receive_json() == [
            "1",
            "3",
            "room:a",
            "phx_reply",
            {"status": "ok", "response": {}},
        ]
        ws.send("room:a", "echo", 1, ref="4", join_ref="1")
        assert ws.receive_json()[4]["response"] == {"reason": "Topic not found", "code": 4404}


def test_broadcast_reaches_both_protocols_on_one_hub(client: HubClient) -> None:
    with (
        client.connect(URL, protocol="phoenix") as phx,
        client.connect("/socket/websocket") as env,
    ):
        assert phx.join("room:mixed", ref="1") == {}
        env.send_json({"topic": "room:mixed", "event": "join", "ref": "j"})
        assert env.receive_json()["payload"] == {"status": "ok", "response": None}
        env.send_json({"topic": "room:mixed", "event": "shout", "payload": [1, 2]})
        assert phx.receive_text() == '[null,null,"room:mixed","shouted",[1,2]]'
        assert env.receive_text() == '{"topic":"room:mixed","event":"shouted","payload":[1,2]}'
        phx.send("room:mixed", "shout_others", "only-env", ref="2", join_ref="1")
        assert env.receive_json()["payload"] == "only-env"
        assert phx.receive_json()[1:4] == ["2", "room:mixed", "phx_reply"]
        phx.assert_nothing_pending()


# -- bad input, binary, idle -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '{"topic":"room:a"}',
        '[null,"1","room:a"]',
        '[null,"1","","x",{}]',
        "[1,true,2,3,4]",
    ],
)
def test_malformed_frames_get_an_error_and_the_connection_stays(
    client: HubClient, text: str
) -> None:
    with client.connect(URL, protocol="phoenix") as ws:
        ws.send_text(text)
        frame = ws.receive_json()
        assert frame[3] == "phx_reply"
        assert frame[4]["status"] == "error"
        assert frame[4]["response"]["code"] == 4400
        ws.assert_nothing_pending()


def _binary_push(join_ref: str, ref: str, topic: str, event: str, payload: bytes) -> bytes:
    fields = [s.encode() for s in (join_ref, ref, topic, event)]
    return bytes([0, *map(len, fields)]) + b"".join(fields) + payload


def test_binary_push_gets_a_binary_reply_and_binary_broadcasts(client: HubClient) -> None:
    with client.connect(URL, protocol="phoenix") as ws:
        assert ws.join("room:a", ref="1") == {}
        ws.send_bytes(_binary_push("1", "2", "room:a", "echo", b"\x00\xffraw"))
        # reply: kind 1, sizes of join_ref/ref/topic/status, the fields, the data
        assert ws.receive_bytes() == b"\x01\x01\x01\x06\x021" + b"2room:aok" + b"\x00\xffraw"
        ws.send_bytes(_binary_push("1", "3", "room:a", "shout", b"\x01\x02"))
        # broadcast: kind 2, sizes of topic/event, the fields, the data
        assert ws.receive_bytes() == b"\x02\x06\x07room:ashouted\x01\x02"
        assert ws.receive_json()[1] == "3"
        ws.send_bytes(_binary_push("1", "4", "room:a", "emit", b"\x07"))
        # push: kind 0, sizes of join_ref/topic/event, the fields, the data
        assert ws.receive_bytes() == b"\x00\x01\x06\x061room:apushed\x07"
        assert ws.receive_json()[1] == "4"
        ws.send_bytes(b"\x05garbage")
        assert ws.receive_json()[4]["response"]["code"] == 4400


def test_idle_connection_is_closed(client: HubClient) -> None:
    with client.connect("/idle/websocket?vsn=2.0.0", protocol="phoenix") as ws:
        assert ws.join("room:a", ref="1") == {}
        assert ws.wait_closed() == (1000, "Idle timeout")


def test_idle_timeout_defaults() -> None:
    # The session's failure model decides it, not the wire protocol.
    assert failure_model(PhoenixProtocol()).idle_timeout == 60.0
    assert failure_model(EnvelopeProtocol()).idle_timeout is None
    assert not hasattr(PhoenixProtocol, "idle_timeout")
    assert SocketHub("/x").limits.idle_timeout is None  # the failure model's default applies


def test_the_failure_models_idle_timeout_applies_without_limits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Phoenix connection on a hub with no ``idle_timeout`` of its own is closed by the
    failure model's (shortened here from 60 s); an envelope connection is not."""
    monkeypatch.setattr(failure, "PHOENIX_MODEL", replace(failure.PHOENIX_MODEL, idle_timeout=0.2))
    hub = SocketHub("/socket")
    hub.channel("room:{id}")
    app = Starlette(routes=[hub], lifespan=hub.lifespan)
    with HubClient(app) as client:
        with client.connect("/socket?vsn=2.0.0", protocol="phoenix") as ws:
            ws.join("room:a", ref="1")
            assert ws.wait_closed() == (1000, "Idle timeout")
        with client.connect("/socket") as ws:
            ws.join("room:a", ref="1")
            time.sleep(0.4)
            ws.send("room:a", "nope", ref="2")
            assert ws.expect_error() is not None  # still open: answered, not closed


class CountingPhoenix(PhoenixProtocol):
    def __init__(self) -> None:
        self.broadcasts = 0

    def broadcast(self, message: Any) -> str | bytes:
        self.broadcasts += 1
        return super().broadcast(message)


class CountingEnvelope(EnvelopeProtocol):
    def __init__(self) -> None:
        self.broadcasts = 0

    def broadcast(self, message: Any) -> str:
        self.broadcasts += 1
        return super().broadcast(message)


def test_a_publish_is_encoded_once_per_protocol_in_use() -> None:
    phoenix, envelope = CountingPhoenix(), CountingEnvelope()
    papp = build(
        protocol=lambda sock: phoenix if sock.query_params.get("vsn") == "2.0.0" else envelope
    )
    with HubClient(papp.app) as client:
        with (
            client.connect(URL, protocol="phoenix") as p1,
            client.connect(URL, protocol="phoenix") as p2,
            client.connect("/socket/websocket") as e1,
            client.connect("/socket/websocket") as e2,
        ):
            for i, ws in enumerate((p1, p2)):
                assert ws.join("room:x", ref=str(i)) == {}
            for ws in (e1, e2):
                ws.send_json({"topic": "room:x", "event": "join", "ref": "j"})
                assert ws.receive_json()["payload"]["status"] == "ok"
            p1.send("room:x", "shout", "once", ref="9", join_ref="0")
            for ws in (p1, p2):
                assert ws.receive_json() == [None, None, "room:x", "shouted", "once"]
            for ws in (e1, e2):
                assert ws.receive_json() == {
                    "topic": "room:x",
                    "event": "shouted",
                    "payload": "once",
                }
    assert (phoenix.broadcasts, envelope.broadcasts) == (1, 1)


def test_binary_reply_on_a_topic_too_long_for_the_binary_header() -> None:
    topic = "room:" + "é" * 130  # 265 bytes: more than a binary header can hold
    protocol = PhoenixProtocol()
    frame = protocol.reply(Inbound(topic, "echo", None, "2", "1"), "ok", b"data")
    assert json.loads(frame) == [
        "1",
        "2",
        topic,
        "phx_reply",
        {"status": "error", "response": {"reason": "Internal error", "code": 4500}},
    ]
    with pytest.raises(ValueError, match="255 bytes"):
        protocol.push(topic, "pushed", b"data", "1")  # raised in the calling callback
