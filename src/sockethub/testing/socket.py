"""The test socket: one connection's joins, pushes, expectations and absence checks.

:class:`AsyncTestSocket` speaks either wire protocol over a transport its subclasses
provide: in-process ASGI (:mod:`sockethub.testing.asgi`, what ``AsyncHubClient`` and
``HubClient`` open) or a network connection (:mod:`sockethub.testing.served`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any, Final

from starlette.websockets import WebSocketDisconnect

from ..frames import ClientWire, Frame, JoinError, PushError, Reply, loads

__all__ = ["ANY", "DEFAULT_TIMEOUT", "PROBE_TOPIC", "AsyncTestSocket", "Disconnected"]

DEFAULT_TIMEOUT: Final = 10.0
"""Seconds to wait for an expected frame before failing (a deadlock guard: every wait ends
as soon as the frame arrives, so a passing test never waits this long)."""

PROBE_TOPIC: Final = "sockethub.testing:probe"
"""The topic the 0.1 envelope's absence probe writes to; never join it."""


class _Any:
    def __repr__(self) -> str:
        return "ANY"


ANY: Final[Any] = _Any()
"""Matches any value in :meth:`AsyncTestSocket.expect` (the default for ``payload``)."""


class Disconnected(WebSocketDisconnect):
    """The server closed the connection (``code``, ``reason``: its close frame).

    A Starlette ``WebSocketDisconnect``, as ``TestClient``'s sessions raise.
    """

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(code, reason)
        self.reason: str = reason

    def __str__(self) -> str:
        return f"the server closed the connection: {self.code} {self.reason!r}"


class AsyncTestSocket:
    """One WebSocket connection under test, in either wire protocol.

    Every method that waits takes ``timeout`` (default: the socket's); a wait that runs out
    raises :class:`~sockethub.frames.ReplyTimeout` naming what it waited for.  Frames that
    arrive while a method waits for a reply are kept, in order, for :meth:`receive` and
    :meth:`expect`.  Subclasses provide the transport: :meth:`send_text`,
    :meth:`send_bytes`, :meth:`close`, :meth:`abort` and reading the next frame.
    """

    def __init__(self, wire: ClientWire, timeout: float) -> None:
        self.wire = wire
        """The protocol this socket speaks."""
        self.timeout = timeout
        """The default timeout of every wait, in seconds."""
        self.accepted_subprotocol: str | None = None
        """The subprotocol the server accepted with."""
        self.joined: dict[str, str] = {}
        """Topic -> join ref of every topic this socket joined and has not left."""
        self.close_code: int | None = None
        """The close code the server sent, once it closed the connection."""
        self.close_reason: str = ""
        """The reason the server gave with :attr:`close_code`."""
        self._kept: list[Frame] = []
        self._refs = itertools.count(1)

    # -- the transport (subclasses) ---------------------------------------------------------

    async def send_text(self, data: str) -> None:
        """Send one text frame as it is."""
        raise NotImplementedError

    async def send_bytes(self, data: bytes) -> None:
        """Send one binary frame as it is."""
        raise NotImplementedError

    async def _raw(self, timeout: float | None, what: str) -> str | bytes:
        """The next frame from the server; :class:`Disconnected` once it closed."""
        raise NotImplementedError

    async def close(self, code: int = 1000, *, timeout: float | None = None) -> None:
        """Disconnect as a client would, and wait for the server to be done with it."""
        raise NotImplementedError

    async def abort(self, code: int = 1006) -> None:
        """End the connection at once, with no closing handshake to wait for."""
        raise NotImplementedError

    # -- frames -----------------------------------------------------------------------------

    async def receive_raw(self, timeout: float | None = None) -> str | bytes:
        """The next frame as the server sent it (text or bytes), kept frames first.

        Raises :class:`Disconnected` if the server closed the connection instead.
        """
        if self._kept:
            return self._kept.pop(0).raw
        return await self._raw(timeout, "frame")

    async def receive_text(self, timeout: float | None = None) -> str:
        """The next frame, which must be a text frame, as its text."""
        data = await self.receive_raw(timeout)
        if not isinstance(data, str):
            raise AssertionError(f"expected a text frame, got bytes {data!r}")
        return data

    async def receive_bytes(self, timeout: float | None = None) -> bytes:
        """The next frame, which must be a binary frame, as its bytes."""
        data = await self.receive_raw(timeout)
        if not isinstance(data, bytes):
            raise AssertionError(f"expected a binary frame, got text {data!r}")
        return data

    async def receive_json(self, timeout: float | None = None) -> Any:
        """The next text frame, parsed as strict JSON (what a browser's ``JSON.parse``
        accepts: no ``NaN``/``Infinity``, valid UTF-8); anything else fails the test."""
        text = await self.receive_text(timeout)
        try:
            return loads(text)
        except ValueError as exc:
            raise AssertionError(f"the server sent a frame browsers refuse: {exc}") from None

    async def send_json(self, value: Any) -> None:
        """Send ``value`` as one compact JSON text frame (as Starlette's ``send_json``)."""
        await self.send_text(json.dumps(value, separators=(",", ":"), ensure_ascii=False))

    async def _frame(self, timeout: float | None, what: str) -> Frame:
        data = await self._raw(timeout, what)
        try:
            return self.wire.decode(data)
        except (ValueError, IndexError) as exc:
            raise AssertionError(f"not a {self.wire.name} frame: {data!r}") from exc

    async def receive(self, timeout: float | None = None) -> Frame:
        """The next frame, decoded (kept frames first)."""
        if self._kept:
            return self._kept.pop(0)
        return await self._frame(timeout, "frame")

    # -- messages ---------------------------------------------------------------------------

    def next_ref(self) -> str:
        """A ref no earlier message of this socket used."""
        return str(next(self._refs))

    async def send(
        self,
        topic: str,
        event: str,
        payload: Any = None,
        *,
        ref: str | None = None,
        join_ref: str | None = None,
    ) -> None:
        """Send ``event`` to ``topic`` without waiting (no ``ref``: no reply is asked for).

        With Phoenix the message carries ``join_ref``, by default the topic's join ref.
        """
        join_ref = self.joined.get(topic) if join_ref is None else join_ref
        await self.send_text(self.wire.encode(topic, event, payload, ref, join_ref))

    async def request(
        self,
        topic: str,
        event: str,
        payload: Any = None,
        *,
        timeout: float | None = None,
        join_ref: str | None = None,
    ) -> Reply:
        """Send ``event`` with a fresh ref and return the server's reply, ok or error.

        Frames that arrive before the reply are kept for :meth:`receive`/:meth:`expect`.
        """
        ref = self.next_ref()
        join_ref = self.joined.get(topic) if join_ref is None else join_ref
        await self.send_text(self.wire.encode(topic, event, payload, ref, join_ref))
        what = f"reply to {event!r} on {topic!r} (ref {ref})"
        return await self._reply(topic, ref, join_ref, timeout, what)

    async def _reply(
        self, topic: str, ref: str, join_ref: str | None, timeout: float | None, what: str
    ) -> Reply:
        loop = asyncio.get_running_loop()
        wait = self.timeout if timeout is None else timeout
        deadline = loop.time() + wait
        while True:
            frame = await self._frame(max(0.0, deadline - loop.time()), what)
            reply = self.wire.reply(frame)
            if reply is not None and frame.ref == ref:
                if self.wire.name == "phoenix" and frame.join_ref != join_ref:
                    raise AssertionError(f"the {what} carries join_ref {frame.join_ref!r}")
                if frame.topic is not None and frame.topic != topic:
                    raise AssertionError(f"the {what} is for the topic {frame.topic!r}")
                return reply
            self._kept.append(frame)

    async def push(
        self, topic: str, event: str, payload: Any = None, *, timeout: float | None = None
    ) -> Any:
        """Send ``event`` and return the reply's response; raise
        :class:`~sockethub.frames.PushError` for an error reply."""
        reply = await self.request(topic, event, payload, timeout=timeout)
        if not reply.ok:
            raise PushError(topic, event, reply)
        return reply.response

    async def join(
        self,
        topic: str,
        payload: Any = None,
        *,
        ref: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Join ``topic`` (join params ``payload``) and return the join reply's response
        (what ``on_join`` returned; Phoenix sends ``{}`` for ``None``).  A refused join
        raises :class:`~sockethub.frames.JoinError` carrying the server's answer.
        ``ref``: the join's ref (and Phoenix join ref), by default a fresh one."""
        ref = self.next_ref() if ref is None else ref
        if payload is None and self.wire.name == "phoenix":
            payload = {}  # as phoenix.js sends join params
        frame = self.wire.encode(topic, self.wire.join_event, payload, ref, ref)
        await self.send_text(frame)
        reply = await self._reply(topic, ref, ref, timeout, f"join reply for {topic!r} (ref {ref})")
        if not reply.ok:
            raise JoinError(topic, self.wire.join_event, reply)
        self.joined[topic] = ref
        return reply.response

    async def leave(self, topic: str, *, timeout: float | None = None) -> Any:
        """Leave ``topic`` and return the reply's response.  With Phoenix the
        ``phx_close`` that follows the reply of a joined topic is awaited too."""
        join_ref = self.joined.pop(topic, None)
        reply = await self.request(
            topic, self.wire.leave_event, None, timeout=timeout, join_ref=join_ref
        )
        if not reply.ok:
            raise PushError(topic, self.wire.leave_event, reply)
        if self.wire.name == "phoenix" and join_ref is not None:
            await self.expect(topic, "phx_close", {}, timeout=timeout)
        return reply.response

    async def expect(
        self,
        topic: str | None = ANY,
        event: str = ANY,
        payload: Any = ANY,
        *,
        timeout: float | None = None,
    ) -> Frame:
        """Return the next frame, failing (``AssertionError``) unless it has this
        ``topic``, ``event`` and ``payload`` (each :data:`ANY` unless given).

        The *next* frame must match: a broadcast that arrives out of order fails the test.
        """
        want = f"topic={topic!r} event={event!r} payload={payload!r}"
        frame = self._kept.pop(0) if self._kept else await self._frame(timeout, f"frame {want}")
        for name, expected, actual in (
            ("topic", topic, frame.topic),
            ("event", event, frame.event),
            ("payload", payload, frame.payload),
        ):
            if expected is not ANY and expected != actual:
                raise AssertionError(f"expected a frame with {want}; {name} differs in {frame}")
        return frame

    async def expect_error(self, code: int | None = None, *, timeout: float | None = None) -> Reply:
        """Return the next frame as an error (the envelope's ``{"code", "reason"}`` frame,
        or Phoenix's error ``phx_reply``), failing unless it is one (with ``code``)."""
        frame = await self.receive(timeout)
        reply = self.wire.reply(frame) if frame.ref is not None else None
        if reply is None and frame.event == "error":
            reply = Reply(frame.topic, "error", frame.payload, frame)
        if reply is None and frame.event == "phx_reply" and isinstance(frame.payload, dict):
            reply = Reply(
                frame.topic, str(frame.payload.get("status")), frame.payload.get("response"), frame
            )
        if reply is None or reply.ok:
            raise AssertionError(f"expected an error frame, got {frame}")
        got = reply.response.get("code") if isinstance(reply.response, dict) else None
        if code is not None and got != code:
            raise AssertionError(f"expected error code {code}, got {frame}")
        return reply

    async def assert_nothing_pending(self, *, timeout: float | None = None) -> None:
        """Fail unless no frame is waiting for this socket, proven by a round trip.

        Frames to one socket leave in the order they were produced, and the server answers
        the probe (Phoenix: a heartbeat; the 0.1 envelope: a ref'd message to
        :data:`PROBE_TOPIC`, answered "Topic not found") at once, so its answer must be
        the very next frame.  Frames found before it fail the check and stay for
        :meth:`receive`/:meth:`expect`.  It says nothing of frames a callback still running
        will produce later.
        """
        if self._kept:
            raise AssertionError(f"frames pending: {self._kept}")
        ref = f"probe-{self.next_ref()}"
        beat = self.wire.heartbeat(ref)
        if beat is None:
            beat = self.wire.encode(PROBE_TOPIC, "probe", None, ref)
        await self.send_text(beat)
        while True:
            frame = await self._frame(timeout, "answer to the absence probe")
            if frame.ref == ref:
                break
            self._kept.append(frame)
        if self._kept:
            # They stay for receive()/expect(), in order.
            raise AssertionError(f"a frame was pending: {self._kept}")
        expected = (
            {"status": "ok", "response": {}}
            if self.wire.name == "phoenix"
            else {"code": 4404, "reason": "Topic not found"}
        )
        if frame.payload != expected:
            raise AssertionError(f"the absence probe was answered with {frame}")

    # -- the end ----------------------------------------------------------------------------

    async def wait_closed(self, timeout: float | None = None) -> tuple[int, str]:
        """Wait until the server closes the connection; return ``(code, reason)``.

        Fails if a frame arrives first.
        """
        if self._kept:
            raise AssertionError(f"expected the close, frames pending: {self._kept}")
        try:
            data = await self._raw(timeout, "close from the server")
        except Disconnected as closed:
            return closed.code, closed.reason
        raise AssertionError(f"expected the close, got the frame {data!r}")

    async def __aenter__(self) -> AsyncTestSocket:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
