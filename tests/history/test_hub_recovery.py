"""Recovery on rejoin through a SocketHub, over Starlette's TestClient (both protocols).

Every test enters ``with TestClient(app)`` first, so all sockets share one event loop.
"Nothing else arrived" is shown with :func:`probe` (see ``tests/hub/helpers.py``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from starlette.testclient import TestClient, WebSocketTestSession

from sockethub import ISocket, SocketHub
from sockethub.bus import BusCallback, InMemorySocketBus
from sockethub.history import History, HistoryPage, InMemoryHistory, StreamPosition
from tests.hub.helpers import app_for, frame, probe

ROOM = "room:1"


def make_hub(history: History | None = None, **kwargs: Any) -> SocketHub:
    hub = SocketHub("/ws", **kwargs)
    room = hub.channel("room:{id}", history=history or History(size=100, ttl=60))

    @room.on_receive("say")
    async def say(payload: Any, sock: ISocket) -> None:
        await sock.publish(payload, event="said")

    @room.on_receive("say_to_others")
    async def say_to_others(payload: Any, sock: ISocket) -> None:
        await sock.publish(payload, event="said", exclude_self=True)

    return hub


def join(ws: WebSocketTestSession, payload: Any = None, ref: str = "j") -> dict[str, Any]:
    """Join ROOM with a ref; return the reply's ``response``."""
    ws.send_text(json.dumps({"topic": ROOM, "event": "join", "payload": payload, "ref": ref}))
    reply = json.loads(ws.receive_text())
    assert reply["event"] == "reply" and reply["ref"] == ref, reply
    assert reply["payload"]["status"] == "ok", reply
    response: dict[str, Any] = reply["payload"]["response"]
    return response


def recv(ws: WebSocketTestSession) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(ws.receive_text())
    return frame


def said(payload: Any, offset: int, epoch: str) -> dict[str, Any]:
    return {"topic": ROOM, "event": "said", "payload": payload, "offset": offset, "epoch": epoch}


def test_every_publication_carries_its_position_and_a_rejoin_recovers_what_was_missed() -> None:
    hub = make_hub()
    with TestClient(app_for(hub)) as client, client.websocket_connect("/ws") as other:
        join(other)
        with client.websocket_connect("/ws") as ws:
            first = join(ws)["history"]
            assert first["recovered"] is False and first["was_recovering"] is False
            assert first["offset"] == 0
            epoch = first["epoch"]
            for i in range(3):
                ws.send_text(frame(ROOM, "say", i))
            seen = [recv(ws) for _ in range(3)]
            assert seen == [said(i, i + 1, epoch) for i in range(3)]
        # Away: five publications.
        for i in range(3, 8):
            other.send_text(frame(ROOM, "say", i))
        for _ in range(5):
            recv(other)
        with client.websocket_connect("/ws") as ws:
            back = join(ws, {"since": {"offset": 3, "epoch": epoch}})["history"]
            assert back == {"recovered": True, "was_recovering": True, "offset": 8, "epoch": epoch}
            assert [recv(ws) for _ in range(5)] == [said(i, i + 1, epoch) for i in range(3, 8)]
            other.send_text(frame(ROOM, "say", "live"))
            assert recv(ws) == said("live", 9, epoch)
            probe(ws)


def test_recovery_fails_when_history_was_trimmed_or_the_epoch_is_another() -> None:
    hub = make_hub(History(size=3, ttl=60))
    with TestClient(app_for(hub)) as client, client.websocket_connect("/ws") as other:
        epoch = join(other)["history"]["epoch"]
        for i in range(6):
            other.send_text(frame(ROOM, "say", i))
        for _ in range(6):
            recv(other)
        top = 6
        for since in ({"offset": 1, "epoch": epoch}, {"offset": 6, "epoch": "elsewhere"}):
            with client.websocket_connect("/ws") as ws:
                outcome = join(ws, {"since": since})["history"]
                assert outcome == {
                    "recovered": False,
                    "was_recovering": True,
                    "offset": top,
                    "epoch": epoch,
                }
                other.send_text(frame(ROOM, "say", "live"))
                top += 1
                assert recv(ws) == said("live", top, epoch)  # nothing old came first
                recv(other)
                probe(ws)
        with client.websocket_connect("/ws") as ws:
            outcome = join(ws, {"since": {"offset": top, "epoch": epoch}})["history"]
            assert outcome["recovered"] is True  # nothing missed: recovered, nothing sent
            probe(ws)


class SeamStore(InMemoryHistory):
    """A real in-memory store whose reads race with publications, as they do on Redis:
    one publication lands after the join subscribed but before the read (so it is both
    read and received live), another after the read (received live only)."""

    def __init__(self, bus: InMemorySocketBus) -> None:
        super().__init__(bus)
        self.racing = False

    async def read(
        self,
        topic: str,
        history: History,
        *,
        since: StreamPosition | None = None,
        limit: int | None = None,
    ) -> HistoryPage:
        if not self.racing:
            return await super().read(topic, history, since=since, limit=limit)
        await self.publish(topic, "said", "before the read", history)
        page = await super().read(topic, history, since=since, limit=limit)
        await self.publish(topic, "said", "after the read", history)
        return page


def test_no_gap_and_no_duplicate_at_the_seam_between_recovered_and_live() -> None:
    bus = InMemorySocketBus()
    store = SeamStore(bus)
    hub = make_hub(bus=bus, history_store=store)
    with TestClient(app_for(hub)) as client, client.websocket_connect("/ws") as other:
        epoch = join(other)["history"]["epoch"]
        other.send_text(frame(ROOM, "say", "seen"))
        other.send_text(frame(ROOM, "say", "missed"))
        recv(other), recv(other)
        store.racing = True
        with client.websocket_connect("/ws") as ws:
            outcome = join(ws, {"since": {"offset": 1, "epoch": epoch}})["history"]
            assert outcome["recovered"] is True and outcome["offset"] == 3
            assert recv(ws) == said("missed", 2, epoch)
            assert recv(ws) == said("before the read", 3, epoch)
            assert recv(ws) == said("after the read", 4, epoch)
            probe(ws)
        # A fresh join: the reply's position, then exactly what follows it.
        with client.websocket_connect("/ws") as ws:
            outcome = join(ws)["history"]
            assert outcome["recovered"] is False and outcome["offset"] == 5
            assert recv(ws) == said("after the read", 6, epoch)
            probe(ws)


def test_a_malformed_since_is_refused_with_a_reason_and_the_topic_stays_unjoined(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub = make_hub()
    with TestClient(app_for(hub)) as client, client.websocket_connect("/ws") as ws:
        for since, why in (
            ("17", '"since" must be an object'),
            ({"offset": -1, "epoch": "e"}, '"since.offset"'),
            ({"offset": 1}, '"since.epoch"'),
            ({"offset": True, "epoch": "e"}, '"since.offset"'),
        ):
            with caplog.at_level(logging.INFO, logger="sockethub.session"):
                ws.send_text(
                    json.dumps(
                        {"topic": ROOM, "event": "join", "payload": {"since": since}, "ref": "r"}
                    )
                )
                error = recv(ws)
            assert error["code"] == 4400 and error["ref"] == "r", error
            assert error["reason"].startswith("Malformed join: ") and why in error["reason"]
            assert any(why in r.getMessage() for r in caplog.records)
        ws.send_text(frame(ROOM, "say", "not joined"))
        assert recv(ws)["code"] == 4404  # the topic is still not joined
        assert join(ws)["history"]["offset"] == 0


def test_on_join_dict_is_merged_and_anything_else_is_the_callbacks_error() -> None:
    hub = SocketHub("/ws")
    room = hub.channel("room:{id}", history=History(size=5, ttl=60))

    @room.on_join
    async def on_join(params: dict[str, str], sock: ISocket) -> Any:
        payload = sock.message.payload or {}
        return payload.get("answer")

    with TestClient(app_for(hub)) as client, client.websocket_connect("/ws") as ws:
        response = join(ws, {"answer": {"user": "ann"}})
        assert response["user"] == "ann" and response["history"]["offset"] == 0
        for answer in (["a list"], {"history": "mine"}):
            with client.websocket_connect("/ws") as other:
                other.send_text(
                    json.dumps(
                        {"topic": ROOM, "event": "join", "payload": {"answer": answer}, "ref": "x"}
                    )
                )
                assert recv(other) == {"code": 4500, "reason": "Internal error", "ref": "x"}


def test_exclude_self_and_hub_publish_and_hub_history() -> None:
    hub = make_hub()

    async def publish_and_read() -> tuple[StreamPosition | None, HistoryPage, HistoryPage]:
        position = await hub.publish(ROOM, "said", "from the server")
        page = await hub.history(ROOM)
        assert position is not None
        after = await hub.history(ROOM, since=StreamPosition(1, position.epoch), limit=1)
        return position, page, after

    with TestClient(app_for(hub)) as client, client.websocket_connect("/ws") as ws:
        epoch = join(ws)["history"]["epoch"]
        with client.websocket_connect("/ws") as other:
            join(other)
            ws.send_text(frame(ROOM, "say_to_others", "not to me"))
            assert recv(other) == said("not to me", 1, epoch)
            probe(ws)
            position, page, after = client.portal.call(publish_and_read)  # type: ignore[union-attr]
            assert position == StreamPosition(2, epoch)
            assert recv(ws) == said("from the server", 2, epoch)
            assert recv(other) == said("from the server", 2, epoch)
            assert [p.payload for p in page.publications] == ["not to me", "from the server"]
            assert [p.offset for p in after.publications] == [2] and after.complete

        async def no_history() -> None:
            await hub.history("nowhere:1")

        with pytest.raises(ValueError, match="no channel with history"):
            client.portal.call(no_history)  # type: ignore[union-attr]


def test_phoenix_carries_the_position_in_the_ref_slot_and_recovers_on_rejoin() -> None:
    hub = make_hub()
    url = "/ws?vsn=2.0.0"

    def pjoin(ws: WebSocketTestSession, params: Any, ref: str) -> dict[str, Any]:
        ws.send_text(json.dumps([ref, ref, ROOM, "phx_join", params]))
        reply = json.loads(ws.receive_text())
        assert reply[:4] == [ref, ref, ROOM, "phx_reply"] and reply[4]["status"] == "ok", reply
        response: dict[str, Any] = reply[4]["response"]
        return response

    with TestClient(app_for(hub)) as client, client.websocket_connect(url) as other:
        epoch = pjoin(other, {}, "1")["history"]["epoch"]
        with client.websocket_connect(url) as ws:
            pjoin(ws, {}, "1")
            other.send_text(json.dumps(["1", None, ROOM, "say", {"n": 1}]))
            frame = json.loads(ws.receive_text())
            assert frame == [None, f"{epoch}:1", ROOM, "said", {"n": 1}]
            json.loads(other.receive_text())
        other.send_text(json.dumps(["1", None, ROOM, "say", {"n": 2}]))
        json.loads(other.receive_text())
        with client.websocket_connect(url) as ws:
            outcome = pjoin(ws, {"since": {"offset": 1, "epoch": epoch}}, "3")["history"]
            assert outcome["recovered"] is True
            assert json.loads(ws.receive_text()) == [None, f"{epoch}:2", ROOM, "said", {"n": 2}]


def test_a_channel_with_history_needs_a_store_for_its_bus() -> None:
    class OtherBus(InMemorySocketBus.__mro__[1]):  # type: ignore[misc]  # the SocketBus protocol
        async def subscribe(self, topic: str, callback: BusCallback) -> None: ...
        async def unsubscribe(self, topic: str, callback: BusCallback) -> None: ...
        async def publish(
            self, topic: str, event: str, payload: Any, *, exclude: BusCallback | None = None
        ) -> None: ...

    hub = SocketHub("/ws", bus=OtherBus())
    with pytest.raises(TypeError, match="history_store"):
        hub.channel("room:{id}", history=History(size=1, ttl=1))
    with pytest.raises(TypeError, match=r"sockethub\.History"):
        hub.channel("x", history={"size": 1})  # type: ignore[arg-type]


def test_an_envelope_join_without_ref_still_recovers_in_order() -> None:
    hub = make_hub()
    with TestClient(app_for(hub)) as client, client.websocket_connect("/ws") as other:
        epoch = join(other)["history"]["epoch"]
        for i in range(3):
            other.send_text(frame(ROOM, "say", i))
            recv(other)
        with client.websocket_connect("/ws") as ws:
            ws.send_text(frame(ROOM, "join", {"since": {"offset": 1, "epoch": epoch}}))
            assert [recv(ws) for _ in range(2)] == [said(1, 2, epoch), said(2, 3, epoch)]
            probe(ws)
