"""Outbox: the per-connection bounded outbound queue, driven by a hand-written ASGI ``send``.

``GatedSend`` stands for the server's ``send``: while its gate is closed every call waits
(a client whose TCP buffer is full), and it can be told to fail (a client that is gone).
Nothing here sleeps or measures time: ``await asyncio.sleep(0)`` lets the event loop turn
once (which is when an outbox writes what was queued during the turn), and a test opens
the gate and waits for the writer.
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

    def texts(self) -> list[Any]:
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


async def test_frames_of_one_turn_are_written_right_after_it() -> None:
    outbox, send, _ = make()
    outbox.put("a")
    outbox.put(b"\x00\x01")
    assert send.sent == []  # put only queues
    assert outbox.queued_bytes == 3
    await asyncio.sleep(0)
    assert send.sent == [text("a"), {"type": "websocket.send", "bytes": b"\x00\x01"}]
    assert send.calls == 2
    assert outbox.queued_bytes == 0
    assert not outbox.closed


async def test_each_outbox_writes_its_frames_back_to_back() -> None:
    """Frames produced interleaved over two sockets leave socket by socket: a burst of
    publishes reaches each client as one run of frames."""
    log: list[tuple[str, str]] = []

    def recorder(name: str) -> Any:
        async def send(message: Any) -> None:
            log.append((name, message["text"]))

        return send

    a = Outbox(recorder("a"), max_bytes=100, policy="close", on_overflow=lambda: None)
    b = Outbox(recorder("b"), max_bytes=100, policy="close", on_overflow=lambda: None)
    for i in range(3):
        a.put(f"m{i}")
        b.put(f"m{i}")
    await asyncio.sleep(0)
    assert log == [("a", "m0"), ("a", "m1"), ("a", "m2"), ("b", "m0"), ("b", "m1"), ("b", "m2")]


async def test_a_burst_beyond_the_bound_in_one_turn_reaches_a_client_that_takes_it() -> None:
    """A publisher that never yields: once the backlog is half the bound, frames are
    written at once instead of waiting for the end of the turn (and overflowing)."""
    outbox, send, overflows = make(max_bytes=100)
    for i in range(100):
        outbox.put(f"{i:09d}")  # 1,000 bytes in one turn
        assert outbox.queued_bytes <= 50
    await asyncio.sleep(0)
    assert send.texts() == [f"{i:09d}" for i in range(100)]
    assert overflows.count == 0
    assert not outbox.closed


async def test_a_frame_larger_than_the_bound_is_accepted_into_an_empty_queue() -> None:
    outbox, send, overflows = make(max_bytes=4)
    outbox.put("x" * 10)
    await asyncio.sleep(0)
    assert send.texts() == ["x" * 10]
    assert overflows.count == 0
    assert not outbox.closed


async def test_blocked_send_queues_and_the_writer_drains_in_order() -> None:
    outbox, send, _ = make()
    send.gate.clear()
    outbox.put("first")
    await asyncio.sleep(0)  # the flush starts the send, which waits
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


async def test_after_the_writer_finishes_frames_go_out_by_turn_again() -> None:
    outbox, send, _ = make()
    send.gate.clear()
    outbox.put("a")
    outbox.put("b")
    await asyncio.sleep(0)
    await settle(send, outbox)
    calls = send.calls
    outbox.put("c")
    await asyncio.sleep(0)
    assert send.texts() == ["a", "b", "c"]
    assert send.calls == calls + 1


async def test_queued_bytes_never_exceed_the_bound() -> None:
    outbox, send, _ = make(max_bytes=100, policy="drop_oldest")
    send.gate.clear()
    outbox.put("in flight")  # the frame being sent does not count against the bound
    await asyncio.sleep(0)
    for i in range(500):
        outbox.put("x" * (i % 37 + 1))
        assert outbox.queued_bytes <= 100
    assert outbox.dropped > 0


async def test_close_policy_closes_with_1013_and_frees_the_queue() -> None:
    outbox, send, overflows = make(max_bytes=10, policy="close")
    send.gate.clear()
    outbox.put("first")
    await asyncio.sleep(0)  # "first" is being sent: it is no longer queued
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
    await asyncio.sleep(0)
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
    await asyncio.sleep(0)
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
    outbox.put("b")
    await asyncio.sleep(0)
    assert outbox.failed
    assert outbox.queued_bytes == 0
    assert outbox.closed
    with pytest.raises(OutboxClosed):
        outbox.put("c")
    assert overflows.count == 0


async def test_a_send_that_fails_in_the_writer_fails_and_frees_the_outbox() -> None:
    outbox, send, _ = make()
    send.gate.clear()
    outbox.put("a")
    await asyncio.sleep(0)
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


async def test_close_when_idle_sends_the_close_frame_after_the_turn() -> None:
    outbox, send, _ = make()
    outbox.close(4000, "bye")
    assert outbox.closed
    with pytest.raises(OutboxClosed):
        outbox.put("a")
    outbox.close(1000)  # a second close is ignored
    await asyncio.sleep(0)
    assert send.sent == []  # the close goes out from the writer task, a turn later
    await settle(send, outbox)
    assert send.sent == [{"type": "websocket.close", "code": 4000, "reason": "bye"}]


async def test_the_close_frame_is_sent_from_a_task() -> None:
    """Frames are written from an event-loop callback, but the close message is sent from
    a task: uvicorn's ``websockets`` implementation closes under ``asyncio.timeout()``,
    which raises outside a task (the client would see 1006 instead of the code)."""
    tasks: list[asyncio.Task[Any] | None] = []

    async def send(message: Any) -> None:
        if message["type"] == "websocket.close":
            tasks.append(asyncio.current_task())
            async with asyncio.timeout(1):
                await asyncio.sleep(0)

    outbox = Outbox(send, max_bytes=1 << 20, policy="close", on_overflow=lambda: None)
    outbox.put("a")
    outbox.close(4000, "bye")
    await asyncio.sleep(0)  # the flusher runs: an event-loop callback, not a task
    await outbox.drain(timeout=10)
    assert len(tasks) == 1 and tasks[0] is not None
    assert not outbox.failed


async def test_a_frame_that_is_not_utf8_is_dropped_not_the_client() -> None:
    sent: list[Any] = []

    async def send(message: Any) -> None:
        if "text" in message:
            message["text"].encode("utf-8")  # what a server does before writing
        sent.append(message)

    outbox = Outbox(send, max_bytes=1 << 20, policy="close", on_overflow=lambda: None)
    outbox.put("\ud800")
    outbox.put("ok")
    await outbox.drain(timeout=10)
    assert not outbox.failed and not outbox.closed
    assert sent == [{"type": "websocket.send", "text": "ok"}]


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


async def test_drain_writes_what_this_turn_queued() -> None:
    outbox, send, _ = make()
    outbox.put("a")
    outbox.close()
    await outbox.drain(timeout=0)
    assert send.sent == [text("a"), {"type": "websocket.close", "code": 1000, "reason": ""}]


async def test_a_frame_flushed_by_drain_is_not_sent_again_at_the_end_of_the_turn() -> None:
    outbox, send, _ = make()
    outbox.put("a")
    await outbox.drain(timeout=0)  # flushes now; the loop's pass is still due
    outbox.put("b")
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert send.texts() == ["a", "b"]


async def test_drain_of_an_idle_outbox_returns_at_once() -> None:
    outbox, send, _ = make()
    await outbox.drain(timeout=0)
    assert send.sent == []


async def test_a_send_returning_a_plain_awaitable_is_driven_by_a_task() -> None:
    loop = asyncio.get_running_loop()
    sent: list[Any] = []
    pending: list[asyncio.Future[None]] = []

    def send(message: Any) -> asyncio.Future[None]:
        sent.append(message)
        future = loop.create_future()
        pending.append(future)
        return future

    outbox = Outbox(send, max_bytes=100, policy="close", on_overflow=lambda: None)
    outbox.put("a")
    outbox.put("b")
    await asyncio.sleep(0)  # "a" is with the writer task, "b" queued behind it
    assert outbox.queued_bytes == 1
    while len(sent) < 2 or not all(f.done() for f in pending):
        for future in pending:
            if not future.done():
                future.set_result(None)
        await asyncio.sleep(0)
    await outbox.drain(timeout=10)
    assert [m["text"] for m in sent] == ["a", "b"]


# -- put_now: a reply written inside the turn that produced it ------------------------------


async def test_put_now_writes_at_once_when_nothing_waits() -> None:
    outbox, send, _ = make()
    outbox.put_now("reply")
    outbox.put_now(b"\x01")
    assert send.texts() == ["reply", b"\x01"]  # before the turn ends: no flusher hop
    assert outbox.queued_bytes == 0


async def test_put_now_goes_behind_frames_already_queued() -> None:
    outbox, send, _ = make()
    outbox.put("pushed first")
    outbox.put_now("reply")
    assert send.sent == []  # it waits its turn with the frame before it
    await asyncio.sleep(0)
    assert send.texts() == ["pushed first", "reply"]


async def test_put_now_whose_send_waits_hands_over_to_a_writer_in_order() -> None:
    outbox, send, _ = make()
    send.gate.clear()
    outbox.put_now("reply")  # the send blocks: a writer task finishes it
    outbox.put("next")
    outbox.put_now("after")
    outbox.close(4000)
    await asyncio.sleep(0)
    assert send.waiting == 1 and send.sent == []
    await settle(send, outbox)
    assert send.texts() == ["reply", "next", "after"]
    assert send.sent[-1] == {"type": "websocket.close", "code": 4000, "reason": ""}


async def test_put_now_send_failure_closes_the_outbox() -> None:
    outbox, send, _ = make()
    send.fail = ConnectionResetError("gone")
    outbox.put_now("reply")
    assert outbox.failed and outbox.closed
    with pytest.raises(OutboxClosed):
        outbox.put_now("more")


async def test_put_now_drops_a_text_frame_that_is_not_utf8_and_goes_on() -> None:
    outbox, send, _ = make()
    send.fail = UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
    outbox.put_now("\ud800")
    assert not outbox.closed
    send.fail = None
    outbox.put_now("fine")
    assert send.texts() == ["fine"]
