"""The code table is what goes on the wire (both protocols)."""

from __future__ import annotations

from sockethub import HubLimits, SocketHub, codes
from sockethub.channel import EVENT_NOT_FOUND, TOPIC_NOT_FOUND
from sockethub.testing import HubClient
from tests.hub.helpers import app_for


def test_the_0_1_constants_are_the_tables() -> None:
    assert TOPIC_NOT_FOUND == {"code": 4404, "reason": "Topic not found"}
    assert TOPIC_NOT_FOUND == codes.TOPIC_NOT_FOUND._asdict()
    assert EVENT_NOT_FOUND == codes.EVENT_NOT_FOUND._asdict()


def test_error_frames_carry_the_tables_codes_in_both_protocols() -> None:
    hub = SocketHub("/ws", limits=HubLimits(max_topics=1))
    hub.channel("room:{id}")
    with HubClient(app_for(hub)) as client:
        with client.connect("/ws") as ws:
            ws.send_json({"topic": "nope", "event": "x"})
            assert ws.receive_json() == codes.TOPIC_NOT_FOUND._asdict()
            ws.send_json({"topic": "room:1", "event": "join"})
            ws.send_json({"topic": "room:1", "event": "join"})
            assert ws.receive_json() == codes.ALREADY_JOINED._asdict()
            ws.send_json({"topic": "room:2", "event": "join"})
            assert ws.receive_json() == codes.TOO_MANY_TOPICS._asdict()
            ws.send_text("{")
            assert ws.receive_json() == codes.MALFORMED._asdict()
        with client.connect("/ws?vsn=2.0.0", protocol="phoenix") as ws:
            ws.send_text('["1","1","nope","phx_join",{}]')
            _, _, _, event, payload = ws.receive_json()
            assert (event, payload["response"]) == (
                "phx_reply",
                {
                    "reason": codes.TOPIC_NOT_FOUND.reason,
                    "code": codes.TOPIC_NOT_FOUND.code,
                },
            )
