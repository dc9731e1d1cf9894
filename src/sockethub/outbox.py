"""Outbox: a connection's bounded outbound queue.

Every frame to one socket goes through its outbox, so frames leave in the order they
were produced (replies, errors and broadcasts alike).  ``put`` only queues: the frames a
socket receives during one turn of the event loop are written together right after it
(one ``call_soon`` per socket and turn, no task), calling the server's ``send`` directly
while it completes without waiting, which is the common case (uvicorn only waits when
the client's TCP buffer is full).  Writing per socket rather than per publish means a
burst of publishes reaches each client back to back, which costs the server (and the
client) less than interleaving every socket for every message.  Only when a send has to
wait does the outbox start a writer task for the rest and let the producer (the bus
fan-out, another connection's callback) go on.  The queue is bounded in bytes; past the
bound the overflow policy applies:

* ``"close"`` (default): drop what is queued, close the socket with 1013 (Try Again
  Later) and end its session;
* ``"drop_oldest"``: discard the oldest queued frames until the new one fits.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
from types import CoroutineType
from typing import Any, Literal

from starlette.types import Send

__all__ = ["Outbox", "OutboxClosed", "OverflowPolicy"]

logger = logging.getLogger(__name__)

OverflowPolicy = Literal["close", "drop_oldest"]


class OutboxClosed(Exception):
    """The socket is closed or closing: nothing more can be sent to it."""


async def _await(awaitable: Awaitable[None]) -> None:
    await awaitable


class _Resume:
    """Await a coroutine that was already started by hand and suspended on ``yielded``.

    This is ``yield from`` picked up half way: the task awaiting it sees exactly what the
    coroutine yields, so asyncio's future protocol (and cancellation) works unchanged.
    """

    __slots__ = ("_coro", "_yielded")

    def __init__(self, coro: Coroutine[Any, Any, None], yielded: Any) -> None:
        self._coro = coro
        self._yielded = yielded

    def __await__(self) -> Generator[Any, Any, None]:
        coro, yielded = self._coro, self._yielded
        while True:
            try:
                value = yield yielded
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:
                try:
                    yielded = coro.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    yielded = coro.send(value)
                except StopIteration:
                    return


class Outbox:
    """The outbound queue of one connection.  See the module docstring."""

    __slots__ = (
        "_bytes",
        "_close_message",
        "_closed",
        "_failed",
        "_flush_handle",
        "_on_overflow",
        "_queue",
        "_send",
        "_writer",
        "dropped",
        "max_bytes",
        "policy",
    )

    def __init__(
        self,
        send: Send,
        *,
        max_bytes: int,
        policy: OverflowPolicy,
        on_overflow: Callable[[], None],
    ) -> None:
        self._send = send
        self.max_bytes = max_bytes
        self.policy = policy
        self._on_overflow = on_overflow
        self._queue: deque[str | bytes] = deque()
        self._bytes = 0
        # Invariant: while frames (or the close message) wait, either a flush is scheduled
        # or the writer task runs, never both.
        self._flush_handle: asyncio.Handle | None = None
        self._writer: asyncio.Task[None] | None = None
        self._closed = False
        self._failed = False
        self._close_message: dict[str, Any] | None = None
        self.dropped = 0
        """Frames discarded by the ``drop_oldest`` policy."""

    @property
    def closed(self) -> bool:
        """True once a close was requested, the queue overflowed, or a send failed."""
        return self._closed

    @property
    def failed(self) -> bool:
        """True if a send raised (the client is gone)."""
        return self._failed

    @property
    def queued_bytes(self) -> int:
        return self._bytes

    def put(self, frame: str | bytes) -> None:
        """Queue ``frame`` (it is written at the end of this turn of the event loop);
        raise :class:`OutboxClosed` if closed.  Never blocks, never raises a send error.

        The bound applies to what is queued: a single frame larger than ``max_bytes`` is
        still accepted into an empty queue."""
        if self._closed:
            raise OutboxClosed
        queue = self._queue
        size = len(frame)
        if queue and self._bytes + size > self.max_bytes and not self._make_room(size):
            return
        queue.append(frame)
        self._bytes += size
        if self._writer is None and self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_soon(self._flush)

    def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Send a close frame after everything already queued; no more frames after it."""
        if self._closed:
            return
        self._closed = True
        self._close_message = {"type": "websocket.close", "code": code, "reason": reason or ""}
        if self._writer is None and self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_soon(self._flush)

    async def drain(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for queued frames to leave, then drop them."""
        handle = self._flush_handle
        if handle is not None:
            handle.cancel()
            self._flush()
        writer = self._writer
        if writer is None:
            return
        await asyncio.wait((writer,), timeout=timeout)
        if not writer.done():
            writer.cancel()
            await asyncio.wait((writer,))
            # Given up: free the queue, and refuse frames for a connection that is ending.
            self._closed = True
            if self._queue:
                self._queue.clear()
            self._bytes = 0
            self._close_message = None

    # -- internals ----------------------------------------------------------------------

    def _make_room(self, size: int) -> bool:
        """Apply the overflow policy; True if the new frame may be queued."""
        queue = self._queue
        assert queue is not None
        if self.policy == "drop_oldest" and size <= self.max_bytes:
            while queue and self._bytes + size > self.max_bytes:
                self._bytes -= len(queue.popleft())
                self.dropped += 1
            return True
        logger.warning(
            "closing a slow WebSocket client: %d bytes queued (limit %d)",
            self._bytes + size,
            self.max_bytes,
        )
        queue.clear()
        self._bytes = 0
        self._closed = True
        self._close_message = {"type": "websocket.close", "code": 1013, "reason": "Too slow"}
        self._on_overflow()
        return False

    def _message(self, item: Any) -> Any:
        if isinstance(item, str):
            return {"type": "websocket.send", "text": item}
        if isinstance(item, bytes):
            return {"type": "websocket.send", "bytes": item}
        return item

    def _flush(self) -> None:
        """Write what is queued by running the server's send right here, frame after
        frame; hand the rest to a writer task as soon as one send has to wait."""
        self._flush_handle = None
        queue = self._queue
        send = self._send
        while True:
            if queue:
                item = queue.popleft()
                self._bytes -= len(item)
                if type(item) is str:
                    message: Any = {"type": "websocket.send", "text": item}
                else:
                    message = {"type": "websocket.send", "bytes": item}
            elif self._close_message is not None:
                message, self._close_message = self._close_message, None
            else:
                return
            coro = send(message)
            if type(coro) is not CoroutineType and not isinstance(coro, Coroutine):
                # An awaitable object: let a task drive it.
                self._writer = asyncio.get_running_loop().create_task(
                    self._write(_await(coro), None)
                )
                return
            try:
                yielded = coro.send(None)
            except StopIteration:
                continue
            except Exception as exc:
                self._fail(exc)
                return
            self._writer = asyncio.get_running_loop().create_task(self._write(coro, yielded))
            return

    async def _write(self, coro: Coroutine[Any, Any, None], yielded: Any) -> None:
        try:
            await _Resume(coro, yielded)
            while True:
                queue = self._queue
                item: Any
                if queue:
                    item = queue.popleft()
                    self._bytes -= len(item)
                elif self._close_message is not None:
                    item, self._close_message = self._close_message, None
                else:
                    break
                await self._send(self._message(item))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._fail(exc)
        finally:
            self._writer = None

    def _fail(self, exc: BaseException) -> None:
        if not self._failed:
            logger.debug("WebSocket send failed, dropping the outbox: %r", exc)
        self._failed = True
        self._closed = True
        if self._queue:
            self._queue.clear()
        self._bytes = 0
        self._close_message = None
