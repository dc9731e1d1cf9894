"""Outbox: a connection's bounded outbound queue.

Every frame to one socket goes through its outbox, so frames leave in the order they
were produced (replies, errors and broadcasts alike).  ``put`` queues: the frames a socket
receives during one turn of the event loop are written together right after it (one
callback per turn for all the sockets of the loop, no task), or at once when they add up
to a large backlog, by calling the server's ``send`` directly while it completes without
waiting, which is the common case (uvicorn only waits when the client's TCP buffer is
full).  Writing per socket rather than per publish means a burst of publishes reaches
each client back to back, which costs the server (and the client) less than
interleaving every socket for every message.  Only when a send has to wait does the
outbox start a writer task for the rest and let the producer (the bus fan-out, another
connection's callback) go on.  A reply to a request (``put_now``) is written at once
when nothing waits before it, so a round trip does not wait for the end of the turn.
The queue is bounded in bytes; past the bound the overflow policy applies:

* ``"close"`` (default): drop what is queued, close the socket with 1013 (Try Again
  Later) and end its session;
* ``"drop_oldest"``: discard the oldest queued frames until the new one fits.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from types import CoroutineType
from typing import Any, Literal

from starlette.types import Send

from .bus.base import SubscriberGone
from .codes import CLOSE_SLOW
from .eager import Resume

__all__ = ["Outbox", "OutboxClosed", "OverflowPolicy"]

logger = logging.getLogger(__name__)

OverflowPolicy = Literal["close", "drop_oldest"]


class OutboxClosed(SubscriberGone):
    """The socket is closed or closing: nothing more can be sent to it.  (A bus that
    delivers to a closed socket's callback drops it quietly.)"""


class Outbox:
    """The outbound queue of one connection.  See the module docstring."""

    __slots__ = (
        "_bytes",
        "_close_message",
        "_closed",
        "_dirty",
        "_eager",
        "_failed",
        "_flusher",
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
        # Invariant: while frames (or the close message) wait, either a flush is due
        # (``_dirty``: this outbox is in its loop's flusher) or the writer task runs.
        self._dirty = False
        self._flusher: _Flusher | None = None
        # A backlog this large is written at once rather than at the end of the turn, so
        # a long burst from a publisher that never yields reaches a healthy client
        # instead of counting against the bound.
        self._eager = min(max_bytes // 2, 64 * 1024)
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
        """Queue ``frame`` (it is written at the end of this turn of the event loop, or
        now if the backlog is large); raise :class:`OutboxClosed` if closed.  Never
        blocks, never raises a send error.

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
        if self._writer is None:
            if not self._dirty:
                self._dirty = True
                (self._flusher or self._bind()).add(self)
            if self._bytes >= self._eager:
                self._flush()

    def put_now(self, frame: str | bytes) -> None:
        """Like :meth:`put`, but when nothing is waiting to be written, write ``frame``
        at once instead of at the end of the turn: a reply then leaves inside the turn
        that handled its request, as a hand-written ``await websocket.send_text()``
        would, instead of waiting behind every other connection served in that turn.
        Frames already waiting keep their place: ``frame`` goes after them."""
        if self._dirty or self._writer is not None or self._closed:
            self.put(frame)
            return
        message: dict[str, Any]
        if type(frame) is str:
            message = {"type": "websocket.send", "text": frame}
        else:
            message = {"type": "websocket.send", "bytes": frame}
        send = self._send(message)
        if type(send) is not CoroutineType:
            self._writer = asyncio.get_running_loop().create_task(self._finish(send))
            return
        try:
            yielded = send.send(None)
        except StopIteration:
            return  # sent without waiting: the common case
        except UnicodeEncodeError as exc:
            _bad_text(exc)
            return
        except Exception as exc:
            self._fail(exc)
            return
        self._writer = asyncio.get_running_loop().create_task(self._finish(Resume(send, yielded)))

    def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Send a close frame after everything already queued; no more frames after it."""
        if self._closed:
            return
        self._closed = True
        self._close_message = {"type": "websocket.close", "code": code, "reason": reason or ""}
        if self._writer is None and not self._dirty:
            self._dirty = True
            (self._flusher or self._bind()).add(self)

    async def drain(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for queued frames to leave, then drop them."""
        self._flush()  # what this turn queued: now, not at the end of the turn
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
        code, reason = CLOSE_SLOW
        self._close_message = {"type": "websocket.close", "code": code, "reason": reason}
        self._on_overflow()
        return False

    def _bind(self) -> _Flusher:
        flusher = self._flusher = _Flusher.current()
        return flusher

    def _flush(self) -> None:
        """Write what is queued by running the writing coroutine right here; if one send
        has to wait, a writer task takes the coroutine over from where it stopped.  Does
        nothing unless a flush is due (the flusher may call it after ``drain`` did)."""
        if not self._dirty:
            return
        self._dirty = False
        coro = self._write_all()
        try:
            yielded = coro.send(None)
        except StopIteration:
            return  # everything went out without waiting: the common case
        self._writer = asyncio.get_running_loop().create_task(self._resume(coro, yielded))

    async def _write_all(self) -> None:
        """Send queued frames, then the close message, until none is left.  One coroutine
        for the whole queue: a send that completes at once costs no exception."""
        queue = self._queue
        send = self._send
        message: Any
        try:
            while True:
                if queue:
                    item = queue.popleft()
                    self._bytes -= len(item)
                    if type(item) is str:
                        message = {"type": "websocket.send", "text": item}
                    else:
                        message = {"type": "websocket.send", "bytes": item}
                elif self._close_message is not None:
                    if asyncio.current_task() is None:
                        # Closing may wait on timers that need a task (uvicorn's
                        # ``websockets`` implementation closes under ``asyncio.timeout``):
                        # hand the rest over to the writer task first.
                        await asyncio.sleep(0)
                    message, self._close_message = self._close_message, None
                else:
                    return
                try:
                    await send(message)
                except UnicodeEncodeError as exc:
                    _bad_text(exc)
        except Exception as exc:
            self._fail(exc)

    async def _finish(self, send: Awaitable[None]) -> None:
        """The rest of a send that had to wait, then what was queued meanwhile."""
        try:
            try:
                await send
            except UnicodeEncodeError as exc:
                _bad_text(exc)
            except Exception as exc:
                self._fail(exc)
                return
            await self._write_all()
        finally:
            self._writer = None

    async def _resume(self, coro: Coroutine[Any, Any, None], yielded: Any) -> None:
        try:
            await Resume(coro, yielded)
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


def _bad_text(exc: UnicodeEncodeError) -> None:
    """The frame, not the client, is at fault (a text frame from ``sock.send_text``
    holding a lone surrogate): it is dropped, and the outbox goes on."""
    logger.warning("dropping a text frame that is not valid UTF-8: %s", exc)


class _Flusher:
    """Flushes, once per turn of one event loop, every outbox that got frames during it.

    One ``call_soon`` per turn for all of them instead of one per outbox: a fan-out to N
    sockets costs a list append per socket, then a pass over the list.
    """

    __slots__ = ("_loop", "_pending", "_scheduled")

    _local = threading.local()

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._pending: list[Outbox] = []
        self._scheduled = False

    @classmethod
    def current(cls) -> _Flusher:
        """The flusher of the running loop (one per loop; loops are per thread)."""
        loop = asyncio.get_running_loop()
        flusher: _Flusher | None = getattr(cls._local, "flusher", None)
        if flusher is None or flusher._loop is not loop:
            flusher = cls._local.flusher = cls(loop)
        return flusher

    def add(self, outbox: Outbox) -> None:
        self._pending.append(outbox)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._run)

    def _run(self) -> None:
        self._scheduled = False
        pending, self._pending = self._pending, []
        for outbox in pending:
            try:
                outbox._flush()
            except Exception:  # pragma: no cover - _flush handles send errors itself
                logger.exception("outbox flush failed")
