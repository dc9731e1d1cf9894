"""Outbox: the per-connection bounded outbound queue, driven by a hand-written ASGI ``send``.

``GatedSend`` stands for the server's ``send``: while its gate is closed every call waits
(a client whose TCP buffer is full), and it can be told to fail (a client that is gone).
Nothing here sleeps or measures time: a test opens the gate and waits for the writer.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sockethub.outbox import Outbox, OutboxClosed, OverflowPolicy


class GatedSend:
    """An ASGI ``send`` that records messages, blocks while ``gate`` is clear, and raises
    ``fail`` (once set) from then on."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail: Exception | None = None
        self.calls = 0
        self.waiting = 0

    async def __call__(self, message: Any) -> None:
        self.calls += 1
        if not self.gate.is_set():
            self.waiting += 1
            try:
                await self.gate.wait()
            finally:
                self.waiting -= 1
        if self.fail is not None:
            raise self.fail
        self.sent.append(message)

    def texts(self) -> list[str | bytes]:
        return [m.get("text", m.get("bytes")) for m in self.sent if m["type"] == "websocket.send"]


class Overflows:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def make(
    max_bytes: int = 1 << 20, policy: OverflowPolicy = "close"
) -> tuple[Outbox, GatedSend, Overflows]:
    send = GatedSend()
    overflows = Overflows()
    return Outbox(send, max_bytes=max_bytes, policy=policy, on_overflow=overflows), send, overflows


def text(frame: str) -> dict[str, Any]:
    return {"type": "websocket.send", "text": frame}


async def settle(send: GatedSend, outbox: Outbox) -> None:
    """Open the gate and wait (bounded) until the writer has sent everything."""
    send.gate.set()
    await outbox.drain(timeout=10)


async def test_idle_outbox_sends_inside_put() -> None:
    outbox, send, _ = make()
    outbox.put("a")
    # No await between put and the check: the frame left synchronously.
    assert send.sent == [text("a")]
    outbox.put(b"\x00\x01")
    assert send.sent[1] == {"type": "websocket.send", "bytes": b"\x00\x01"}
    assert outbox.queued_bytes == 0
    assert not outbox.closed


async def test_blocked_send_queues_and_the_writer_drains_in_order() -> None:
    outbox, send, _ = make()
    send.gate.clear()
    outbox.put("first")  # starts, then waits in send
    assert send.sent == []
    assert send.waiting == 1
    outbox.put("second")
    outbox.put(b"third")
    assert outbox.queued_bytes == len("second") + len(b"third")
    await asyncio.sleep(0)
    assert send.calls == 1  # queued frames wait for the writer, not a send each
    await settle(send, outbox)
    assert send.texts() == ["first", "second", b"third"]
    assert outbox.queued_bytes == 0


async def test_order_is_kept_while_the_client_blocks_and_resumes() -> None:
    outbox, send, _ = make()
    produced = []
    for i in range(200):
        frame = f"m{i}"
        produced.append(frame)
        outbox.put(frame)
        if i % 7 == 0:
            send.gate.clear()
        elif i % 11 == 0:
            send.gate.set()
        if i % 3 == 0:
            await asyncio.sleep(0)
    await settle(send, outbox)
    assert send.texts() == produced


async def test_after_the_writer_finishes_sends_are_eager_again() -> None:
    outbox, send, _ = make()
    send.gate.clear()
    outbox.put("a")
    outbox.put("b")
    await settle(send, outbox)
    calls = send.calls
    outbox.put("c")
    assert send.texts() == ["a", "b", "c"]
    assert send.calls == calls + 1


async def test_queued_bytes_never_exceed_the_bound() -> None:
    outbox, send, _ = make(max_bytes=100, policy="drop_oldest")
    send.gate.clear()
    outbox.put("in flight")  # the frame being sent does not count against the bound
    for i in range(500):
        outbox.put("x" * (i % 37 + 1))
        assert outbox.queued_bytes <= 100
    assert outbox.dropped > 0


async def test_close_policy_closes_with_1013_and_frees_the_queue() -> None:
    outbox, send, overflows = make(max_bytes=10, policy="close")
    send.gate.clear()
    outbox.put("first")
    outbox.put("12345")
    outbox.put("67890")
    assert outbox.queued_bytes == 10
    assert overflows.count == 0
    outbox.put("!")  # one byte too many
    assert overflows.count == 1
    assert outbox.closed
    assert not outbox.failed
    assert outbox.queued_bytes == 0
    with pytest.raises(OutboxClosed):
        outbox.put("late")
    await settle(send, outbox)
    # What was already on its way leaves, then the close frame; the queue is gone.
    assert send.sent == [
        text("first"),
        {"type": "websocket.close", "code": 1013, "reason": "Too slow"},
    ]
    assert overflows.count == 1


async def test_drop_oldest_discards_the_oldest_and_counts() -> None:
    outbox, send, overflows = make(max_bytes=10, policy="drop_oldest")
    send.gate.clear()
    outbox.put("first")
    outbox.put("aaaa")
    outbox.put("bbbb")
    outbox.put("cccc")  # drops "aaaa"
    assert outbox.dropped == 1
    assert outbox.queued_bytes == 8
    outbox.put("dddddddddd")  # needs all 10 bytes: drops "bbbb" and "cccc"
    assert outbox.dropped == 3
    assert outbox.queued_bytes == 10
    assert not outbox.closed
    assert overflows.count == 0
    await settle(send, outbox)
    assert send.texts() == ["first", "dddddddddd"]


async def test_drop_oldest_with_a_frame_larger_than_the_bound_closes() -> None:
    outbox, send, overflows = make(max_bytes=10, policy="drop_oldest")
    send.gate.clear()
    outbox.put("first")
    outbox.put("abc")
    outbox.put("x" * 11)  # can never fit: the socket is closed instead
    assert overflows.count == 1
    assert outbox.closed
    assert outbox.queued_bytes == 0
    await settle(send, outbox)
    assert send.sent[-1] == {"type": "websocket.close", "code": 1013, "reason": "Too slow"}


async def test_a_send_that_raises_at_once_fails_the_outbox() -> None:
    outbox, send, overflows = make()
    send.fail = ConnectionResetError("gone")
    outbox.put("a")  # must not raise into the producer
    assert outbox.failed
    assert outbox.closed
    with pytest.raises(OutboxClosed):
        outbox.put("b")
    assert overflows.count == 0


async def test_a_send_that_fails_in_the_writer_fails_and_frees_the_outbox() -> None:
    outbox, send, _ = make()
    send.gate.clear()
    outbox.put("a")
    outbox.put("b")
    outbox.put("c")
    send.fail = ConnectionResetError("gone")
    await settle(send, outbox)
    assert outbox.failed
    assert outbox.closed
    assert outbox.queued_bytes == 0
    assert send.sent == []
    with pytest.raises(OutboxClosed):
        outbox.put("d")


async def test_close_when_idle_sends_the_close_frame_at_once() -> None:
    outbox, send, _ = make()
    outbox.close(4000, "bye")
    assert send.sent == [{"type": "websocket.close", "code": 4000, "reason": "bye"}]
    assert outbox.closed
    with pytest.raises(OutboxClosed):
        outbox.put("a")
    outbox.close(1000)  # a second close is ignored
    assert len(send.sent) == 1


async def test_close_while_blocked_goes_after_what_is_queued() -> None:
    outbox, send, _ = make()
    send.gate.clear()
    outbox.put("a")
    outbox.put("b")
    outbox.close()
    with pytest.raises(OutboxClosed):
        outbox.put("c")
    await settle(send, outbox)
    assert send.sent == [
        text("a"),
        text("b"),
        {"type": "websocket.close", "code": 1000, "reason": ""},
    ]


async def test_drain_gives_up_after_the_timeout_and_drops_the_queue() -> None:
    outbox, send, _ = make()
    send.gate.clear()
    outbox.put("a")
    outbox.put("bb")
    outbox.put("ccc")
    await outbox.drain(timeout=0.01)  # the client never reads: give up
    assert send.sent == []
    assert send.waiting == 0  # the blocked send was cancelled, not left hanging
    assert outbox.queued_bytes == 0
    assert outbox.closed
    with pytest.raises(OutboxClosed):
        outbox.put("d")
    send.gate.set()
    await asyncio.sleep(0)
    assert send.sent == []


async def test_drain_of_an_idle_outbox_returns_at_once() -> None:
    outbox, send, _ = make()
    outbox.put("a")
    await outbox.drain(timeout=0)
    assert send.texts() == ["a"]


async def test_a_send_returning_a_plain_awaitable_is_driven_by_a_task() -> None:
    loop = asyncio.get_running_loop()
    sent: list[Any] = []
    pending: list[asyncio.Future[None]] = []

    def send(message: Any) -> asyncio.Future[None]:
        sent.append(message)
        future = loop.create_future()
        pending.append(future)
        return future

    outbox = Outbox(send, max_bytes=100, policy="close", on_overflow=lambda: None)  # type: ignore[arg-type]
    outbox.put("a")
    outbox.put("b")  # queued behind the writer
    assert outbox.queued_bytes == 1
    while len(sent) < 2 or not all(f.done() for f in pending):
        for future in pending:
            if not future.done():
                future.set_result(None)
        await asyncio.sleep(0)
    await outbox.drain(timeout=10)
    assert [m["text"] for m in sent] == ["a", "b"]
