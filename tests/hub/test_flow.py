"""The managed connection on the wire: joins, leaves, dispatch, ordering, exact frames."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from sockethub import ISocket, SocketHub
from sockethub.testing import HubClient

from .helpers import ALREADY_JOINED, EVENT_NOT_FOUND, TOPIC_NOT_FOUND, app_for, frame


def recording_hub(log: list[Any]) -> SocketHub:
    """A hub whose callbacks log what they saw (``sock.topic`` and ``sock.params``)."""
    hub = SocketHub("/ws")
    room = hub.channel("room:{id}")

    @room.on_join
    async def on_join(params: dict[str, str], sock: ISocket) -> None:
        log.append(("join", sock.topic, dict(sock.params), params))

    @room.on_exit
    async def on_exit(sock: ISocket) -> None:
        log.append(("exit", sock.topic, dict(sock.params)))

    @room.on_receive("say")
    async def say(payload: Any, sock: ISocket) -> None:
        log.append(("say", sock.topic, dict(sock.params), payload))
        await sock.reply(payload, event="said")

    @hub.on_disconnect
    async def on_disconnect(sock: ISocket) -> None:
        log.append(("disconnect",))

    return hub


# -- topics and events --------------------------------------------------------------------


def test_unknown_topic_answers_topic_not_found_and_the_connection_stays_open() -> None:
    log: list[Any] = []
    hub = recording_hub(log)
    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        for event in ("join", "say", "leave"):
            ws.send("nowhere:1", event)
            assert ws.receive_text() == TOPIC_NOT_FOUND
        ws.send("room:1", "join")
        ws.send("room:1", "say", "still here")
        assert ws.receive_text() == frame("room:1", "said", "still here")


def test_message_to_a_topic_not_joined_answers_topic_not_found() -> None:
    log: list[Any] = []
    hub = recording_hub(log)
    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.send("room:1", "say", "x")
        assert ws.receive_text() == TOPIC_NOT_FOUND
        ws.send("room:1", "join")
        ws.send("room:2", "say", "x")  # same channel, other topic: not joined
        assert ws.receive_text() == TOPIC_NOT_FOUND
        ws.assert_nothing_pending()
    assert [entry[0] for entry in log] == ["join", "exit", "disconnect"]


def test_unknown_event_answers_event_not_found() -> None:
    hub = recording_hub([])
    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.send("room:1", "join")
        ws.send("room:1", "dance")
        assert ws.receive_text() == EVENT_NOT_FOUND
        ws.send("room:1", "say", 1)
        assert ws.receive_text() == frame("room:1", "said", 1)


def test_join_without_ref_sends_nothing() -> None:
    hub = recording_hub([])
    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.send("room:1", "join")
        ws.assert_nothing_pending()
        ws.send("room:1", "leave")
        ws.assert_nothing_pending()


def test_sock_topic_and_params_are_set_before_each_callback() -> None:
    log: list[Any] = []
    hub = recording_hub(log)
    with HubClient(app_for(hub)) as client:
        with client.connect("/ws") as ws:
            ws.send("room:a", "join")
            ws.send("room:b", "join")
            ws.send("room:a", "say", 1)
            ws.send("room:b", "say", 2)
            assert ws.receive_text() == frame("room:a", "said", 1)
            assert ws.receive_text() == frame("room:b", "said", 2)
            ws.send("room:a", "leave")
            ws.assert_nothing_pending()
    assert log == [
        ("join", "room:a", {"id": "a"}, {"id": "a"}),
        ("join", "room:b", {"id": "b"}, {"id": "b"}),
        ("say", "room:a", {"id": "a"}, 1),
        ("say", "room:b", {"id": "b"}, 2),
        ("exit", "room:a", {"id": "a"}),
        ("exit", "room:b", {"id": "b"}),
        ("disconnect",),
    ]


# -- per-topic joins ------------------------------------------------------------------------


def test_two_topics_of_one_channel_are_two_joins_each_with_its_own_exit() -> None:
    log: list[Any] = []
    hub = recording_hub(log)
    with HubClient(app_for(hub)) as client:
        with client.connect("/ws") as ws:
            ws.send("room:1", "join")
            ws.send("room:2", "join")
            ws.send("room:1", "leave")
            ws.assert_nothing_pending()
            assert [e[:2] for e in log] == [
                ("join", "room:1"),
                ("join", "room:2"),
                ("exit", "room:1"),
            ]
            # room:1 is no longer joined, room:2 still is
            ws.send("room:1", "say", 1)
            assert ws.receive_text() == TOPIC_NOT_FOUND
            ws.send("room:2", "say", 2)
            assert ws.receive_text() == frame("room:2", "said", 2)
            assert hub.bus.topics() == {"room:2": 1}  # type: ignore[attr-defined]
    assert [e[:2] for e in log][3:] == [("say", "room:2"), ("exit", "room:2"), ("disconnect",)]


def test_duplicate_join_does_not_run_on_join_twice_and_answers_4409() -> None:
    log: list[Any] = []
    hub = recording_hub(log)
    with HubClient(app_for(hub)) as client:
        with client.connect("/ws") as ws:
            ws.send("room:1", "join")
            ws.send("room:1", "join")
            assert ws.receive_text() == ALREADY_JOINED
            ws.send("room:1", "say", "x")  # still joined
            assert ws.receive_text() == frame("room:1", "said", "x")
            assert hub.bus.topics() == {"room:1": 1}  # type: ignore[attr-defined]
    assert [e[0] for e in log] == ["join", "say", "exit", "disconnect"]


def test_leave_runs_on_exit_only_for_joined_topics() -> None:
    log: list[Any] = []
    hub = recording_hub(log)
    with HubClient(app_for(hub)) as client:
        with client.connect("/ws") as ws:
            ws.send("room:1", "leave")
            assert ws.receive_text() == TOPIC_NOT_FOUND
            ws.send("room:1", "join")
            ws.send("room:1", "leave")
            ws.send("room:1", "leave")
            assert ws.receive_text() == TOPIC_NOT_FOUND
            ws.assert_nothing_pending()
            assert hub.bus.topics() == {}  # type: ignore[attr-defined]
    assert [e[:2] for e in log] == [("join", "room:1"), ("exit", "room:1"), ("disconnect",)]


def test_rejoin_after_leave_runs_on_join_again() -> None:
    log: list[Any] = []
    hub = recording_hub(log)
    with HubClient(app_for(hub)) as client:
        with client.connect("/ws") as ws:
            for _ in range(2):
                ws.send("room:1", "join")
                ws.send("room:1", "leave")
            ws.assert_nothing_pending()
    assert [e[0] for e in log] == ["join", "exit", "join", "exit", "disconnect"]


# -- one message at a time per connection, connections independent ----------------------


def test_messages_of_one_connection_run_one_at_a_time_others_go_on() -> None:
    hub = SocketHub("/ws")
    room = hub.channel("room:{id}")
    log: list[str] = []
    gate: dict[str, asyncio.Event] = {}
    slow_started = threading.Event()

    @room.on_receive("slow")
    async def slow(payload: Any, sock: ISocket) -> None:
        log.append("slow start")
        gate["open"] = asyncio.Event()
        slow_started.set()
        await gate["open"].wait()
        log.append("slow end")
        await sock.reply("slow")

    @room.on_receive("fast")
    async def fast(payload: Any, sock: ISocket) -> None:
        log.append("fast")
        await sock.reply("fast")

    @room.on_receive("open")
    async def open_gate(payload: Any, sock: ISocket) -> None:
        gate["open"].set()
        await sock.reply("opened")

    with HubClient(app_for(hub)) as client:
        with client.connect("/ws") as a, client.connect("/ws") as b:
            a.send("room:1", "join")
            b.send("room:1", "join")
            a.send("room:1", "slow")
            a.send("room:1", "fast")
            assert slow_started.wait(10)
            # b is served while a's callback is still running ...
            b.send("room:1", "fast")
            assert b.receive_text() == frame("room:1", "reply", "fast")
            # ... and a's second message has not started.
            assert log == ["slow start", "fast"]  # the "fast" is b's
            b.send("room:1", "open")
            assert b.receive_text() == frame("room:1", "reply", "opened")
            assert a.receive_text() == frame("room:1", "reply", "slow")
            assert a.receive_text() == frame("room:1", "reply", "fast")
            assert log == ["slow start", "fast", "slow end", "fast"]


def test_replies_keep_the_order_of_the_messages() -> None:
    hub = recording_hub([])
    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.send("room:1", "join")
        for n in range(50):
            ws.send("room:1", "say", n)
        assert [ws.receive_json()["payload"] for _ in range(50)] == list(range(50))


# -- exact 0.1 frames ------------------------------------------------------------------------


def test_frames_keep_exactly_the_0_1_keys_values_and_order() -> None:
    hub = SocketHub("/ws")
    room = hub.channel("room:{id}")

    @room.on_receive("all")
    async def all_kinds(payload: Any, sock: ISocket) -> None:
        await sock.reply(payload)
        await sock.reply({"b": 1, "a": "é"}, event="custom")
        await sock.emit([1, None])
        await sock.publish("to all")

    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.send("room:1", "join")
        ws.send("room:1", "all", {"z": 1, "y": [True, None]})
        assert (
            ws.receive_text()
            == '{"topic":"room:1","event":"reply","payload":{"z":1,"y":[true,null]}}'
        )
        assert ws.receive_text() == '{"topic":"room:1","event":"custom","payload":{"b":1,"a":"é"}}'
        assert ws.receive_text() == '{"topic":"room:1","event":"emit","payload":[1,null]}'
        assert ws.receive_text() == '{"topic":"room:1","event":"broadcast","payload":"to all"}'
        ws.send("room:1", "nope")
        assert ws.receive_text() == '{"code":4404,"reason":"Event not found"}'
        ws.send("nope", "x")
        assert ws.receive_text() == '{"code":4404,"reason":"Topic not found"}'


def test_missing_payload_is_none() -> None:
    hub = recording_hub([])
    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.send_text('{"topic":"room:1","event":"join"}')
        ws.send_text('{"topic":"room:1","event":"say"}')
        assert ws.receive_text() == '{"topic":"room:1","event":"said","payload":null}'


# -- malformed frames ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("not json", "Malformed frame: not valid JSON"),
        ("{", "Malformed frame: not valid JSON"),
        ("", "Malformed frame: not valid JSON"),
        ("[1,2]", "Malformed frame: expected a JSON object"),
        ('"room:1"', "Malformed frame: expected a JSON object"),
        ("null", "Malformed frame: expected a JSON object"),
        ("42", "Malformed frame: expected a JSON object"),
        ('{"event":"join"}', "Malformed frame: 'topic' must be a non-empty string"),
        ('{"topic":7,"event":"join"}', "Malformed frame: 'topic' must be a non-empty string"),
        ('{"topic":null,"event":"join"}', "Malformed frame: 'topic' must be a non-empty string"),
        ('{"topic":"","event":"join"}', "Malformed frame: 'topic' must be a non-empty string"),
        (
            '{"topic":["room:1"],"event":"join"}',
            "Malformed frame: 'topic' must be a non-empty string",
        ),
        ('{"topic":"room:1"}', "Malformed frame: 'event' must be a non-empty string"),
        ('{"topic":"room:1","event":1}', "Malformed frame: 'event' must be a non-empty string"),
        ('{"topic":"room:1","event":{}}', "Malformed frame: 'event' must be a non-empty string"),
    ],
)
def test_malformed_text_frames_get_a_4400_error_and_the_connection_goes_on(
    raw: str, reason: str
) -> None:
    hub = recording_hub([])
    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.send("room:1", "join")
        ws.send_text(raw)
        assert ws.receive_json() == {"code": 4400, "reason": reason}
        ws.send("room:1", "say", "ok")
        assert ws.receive_text() == frame("room:1", "said", "ok")


def test_binary_frame_gets_a_4400_error_and_the_connection_goes_on() -> None:
    hub = recording_hub([])
    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.send("room:1", "join")
        ws.send_bytes(frame("room:1", "say", "bin").encode())
        assert ws.receive_text() == (
            '{"code":4400,"reason":"Malformed frame: binary frames are not supported"}'
        )
        ws.send("room:1", "say", "ok")
        assert ws.receive_text() == frame("room:1", "said", "ok")


def test_many_malformed_frames_in_a_row_do_not_end_the_connection() -> None:
    hub = recording_hub([])
    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        for _ in range(20):
            ws.send_text("}{")
            assert ws.receive_json()["code"] == 4400
        ws.assert_nothing_pending()
