"""Callbacks that raise, refused joins and refused handshakes."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from sockethub import ISocket, JoinRefused, ReplyError, SocketHub
from sockethub.testing import ConnectRefused, HubClient

from .helpers import INTERNAL_ERROR, TOPIC_NOT_FOUND, app_for, frame

SECRET = "s3cret-detail-that-must-not-leak"


def failing_hub(log: list[Any], **options: Any) -> SocketHub:
    hub = SocketHub("/ws", **options)
    room = hub.channel("room:{id}")

    @room.on_join
    async def on_join(params: dict[str, str], sock: ISocket) -> None:
        if params["id"] == "bad":
            raise RuntimeError(f"join failed: {SECRET}")
        if params["id"] == "private":
            raise JoinRefused("Members only")
        if params["id"] == "refused":
            raise JoinRefused()
        log.append(("join", sock.topic))

    @room.on_exit
    async def on_exit(sock: ISocket) -> None:
        log.append(("exit", sock.topic))
        if sock.topic == "room:exit-fails":
            raise RuntimeError(f"exit failed: {SECRET}")

    @room.on_receive("boom")
    async def boom(payload: Any, sock: ISocket) -> None:
        await sock.reply("before the error")
        raise ValueError(f"callback failed: {SECRET}")

    @room.on_receive("refuse")
    async def refuse(payload: Any, sock: ISocket) -> None:
        raise ReplyError("Not allowed")

    @room.on_receive("echo")
    async def echo(payload: Any, sock: ISocket) -> None:
        await sock.reply(payload)

    @hub.on_disconnect
    async def on_disconnect(sock: ISocket) -> None:
        log.append(("disconnect",))

    return hub


def error_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_raising_callback_is_logged_client_gets_generic_error_connection_stays(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log: list[Any] = []
    hub = failing_hub(log)
    with HubClient(app_for(hub)) as client:
        with client.connect("/ws") as ws:
            ws.send("room:1", "join")
            ws.send("room:1", "boom")
            assert ws.receive_text() == frame("room:1", "reply", "before the error")
            raw = ws.receive_text()
            assert raw == INTERNAL_ERROR == '{"code":4500,"reason":"Internal error"}'
            assert SECRET not in raw
            # still open, still joined
            ws.send("room:1", "echo", 1)
            assert ws.receive_text() == frame("room:1", "reply", 1)
            [record] = error_records(caplog)
            assert record.name.startswith("sockethub")
            assert record.exc_info is not None and record.exc_info[0] is ValueError
            assert "on_receive('boom')" in record.getMessage()
            assert "room:1" in record.getMessage()
            assert SECRET in caplog.text  # the traceback is in the log
            assert "Traceback" in caplog.text
            assert hub.stats.callback_errors == 1
    assert log == [("join", "room:1"), ("exit", "room:1"), ("disconnect",)]


def test_failed_on_join_leaves_the_topic_unjoined(caplog: pytest.LogCaptureFixture) -> None:
    log: list[Any] = []
    hub = failing_hub(log)
    with HubClient(app_for(hub)) as client:
        with client.connect("/ws") as ws:
            ws.send("room:bad", "join")
            raw = ws.receive_text()
            assert raw == INTERNAL_ERROR
            ws.send("room:bad", "echo", 1)
            assert ws.receive_text() == TOPIC_NOT_FOUND
            assert hub.bus.topics() == {}  # type: ignore[attr-defined]
            # joining another topic still works
            ws.send("room:ok", "join")
            ws.send("room:ok", "echo", 2)
            assert ws.receive_text() == frame("room:ok", "reply", 2)
            [record] = error_records(caplog)
            assert "on_join" in record.getMessage()
            assert record.exc_info is not None
    # no on_exit for the topic whose join failed
    assert log == [("join", "room:ok"), ("exit", "room:ok"), ("disconnect",)]


def test_a_failed_join_can_be_retried() -> None:
    hub = SocketHub("/ws")
    room = hub.channel("room:{id}")
    attempts: list[int] = []

    @room.on_join
    async def flaky(params: dict[str, str], sock: ISocket) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first attempt fails")

    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.send("room:1", "join")
        assert ws.receive_text() == INTERNAL_ERROR
        ws.send("room:1", "join")
        ws.assert_nothing_pending()
        assert hub.bus.topics() == {"room:1": 1}  # type: ignore[attr-defined]


def test_error_policy_close_closes_with_1011(caplog: pytest.LogCaptureFixture) -> None:
    log: list[Any] = []
    hub = failing_hub(log, error_policy="close")
    with HubClient(app_for(hub)) as client:
        with client.connect("/ws") as ws:
            ws.send("room:1", "join")
            ws.send("room:1", "boom")
            assert ws.receive_text() == frame("room:1", "reply", "before the error")
            with pytest.raises(WebSocketDisconnect) as info:
                ws.receive_text()
            assert info.value.code == 1011
            assert SECRET not in (info.value.reason or "")
        assert log == [("join", "room:1"), ("exit", "room:1"), ("disconnect",)]
        assert len(error_records(caplog)) == 1
        assert hub.stats.connections == 0
        assert hub.bus.topics() == {}  # type: ignore[attr-defined]


def test_error_policy_must_be_known() -> None:
    with pytest.raises(ValueError, match="error_policy"):
        SocketHub("/ws", error_policy="ignore")  # type: ignore[arg-type]


def test_join_refused_sends_4403_with_the_reason_and_leaves_the_topic_unjoined() -> None:
    log: list[Any] = []
    hub = failing_hub(log)
    with HubClient(app_for(hub)) as client:
        with client.connect("/ws") as ws:
            ws.send("room:private", "join")
            assert ws.receive_text() == '{"code":4403,"reason":"Members only"}'
            ws.send("room:refused", "join")
            assert ws.receive_text() == '{"code":4403,"reason":"Join refused"}'
            ws.send("room:private", "echo")
            assert ws.receive_text() == TOPIC_NOT_FOUND
            assert hub.bus.topics() == {}  # type: ignore[attr-defined]
            ws.assert_nothing_pending()
    assert hub.stats.callback_errors == 0
    assert log == [("disconnect",)]


def test_reply_error_answers_4422_and_keeps_the_topic() -> None:
    hub = failing_hub([])
    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.send("room:1", "join")
        ws.send("room:1", "refuse")
        assert ws.receive_text() == '{"code":4422,"reason":"Not allowed"}'
        ws.send("room:1", "echo", 3)
        assert ws.receive_text() == frame("room:1", "reply", 3)


def test_raising_on_exit_during_leave_is_logged_and_the_topic_is_left(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log: list[Any] = []
    hub = failing_hub(log)
    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.send("room:exit-fails", "join")
        ws.send("room:exit-fails", "leave")
        assert ws.receive_text() == INTERNAL_ERROR
        ws.send("room:exit-fails", "echo")
        assert ws.receive_text() == TOPIC_NOT_FOUND
        assert hub.bus.topics() == {}  # type: ignore[attr-defined]
        [record] = error_records(caplog)
        assert "on_exit" in record.getMessage()


# -- refusing the handshake -----------------------------------------------------------------


def guarded_hub(log: list[Any]) -> SocketHub:
    hub = SocketHub("/ws/{room}")

    @hub.on_connect
    async def on_connect(sock: ISocket) -> None:
        log.append(("connect", sock.path_params["room"]))
        if sock.path_params["room"] == "crash":
            raise RuntimeError(f"connect failed: {SECRET}")
        if sock.path_params["room"] == "custom":
            await sock.allow_if(False, code=4001, reason="Bad token")
        await sock.allow_if(sock.query_params.get("token") == "ok")
        log.append(("allowed",))

    @hub.on_disconnect
    async def on_disconnect(sock: ISocket) -> None:
        log.append(("disconnect",))

    return hub


def test_allow_if_false_refuses_the_handshake_without_on_disconnect() -> None:
    log: list[Any] = []
    hub = guarded_hub(log)
    with HubClient(app_for(hub)) as client:
        with pytest.raises(ConnectRefused) as info:
            with client.connect("/ws/a?token=bad"):
                pass
        assert (info.value.code, info.value.reason) == (4403, "Forbidden")
        with pytest.raises(ConnectRefused) as info:
            with client.connect("/ws/custom"):
                pass
        assert (info.value.code, info.value.reason) == (4001, "Bad token")
        with client.connect("/ws/a?token=ok") as ws:
            ws.assert_nothing_pending()
    assert log == [
        ("connect", "a"),
        ("connect", "custom"),
        ("connect", "a"),
        ("allowed",),
        ("disconnect",),
    ]
    assert hub.stats.refused == 2
    assert hub.stats.total_connections == 1
    assert hub.stats.connections == 0


def test_raising_on_connect_refuses_with_500_logs_and_skips_on_disconnect(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log: list[Any] = []
    hub = guarded_hub(log)
    with HubClient(app_for(hub)) as client:
        with pytest.raises(ConnectRefused) as info:
            with client.connect("/ws/crash"):
                pass
        assert info.value.status == 500
        assert SECRET not in info.value.reason
    assert log == [("connect", "crash")]
    [record] = error_records(caplog)
    assert record.exc_info is not None
    assert hub.stats.callback_errors == 1
    assert hub.stats.connections == 0
