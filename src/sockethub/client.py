"""An asyncio client for sockethub servers, for services, bots and tests.

::

    async with Client("ws://127.0.0.1:8000/ws", protocol="phoenix") as client:
        room = client.channel("room:lobby", params={"nick": "bot"})
        await room.join()
        print(await room.push("echo", {"hello": 1}))    # the reply's response
        async for message in room:                      # broadcasts and pushes
            print(message.event, message.payload)

Both wire protocols (``"envelope"``: sockethub's 0.1 envelope with refs; ``"phoenix"``:
Phoenix Channels V2).  Every push carries a ref and returns the reply (an error reply
raises :class:`PushError`, no reply in time :class:`ReplyTimeout`).  When the connection
drops the client reconnects with exponential backoff (:class:`Backoff`) and rejoins the
topics it had joined, evaluating callable join params again at each rejoin; with Phoenix
it sends heartbeats and treats a missing heartbeat reply as a dead connection.

Needs the ``websockets`` package: ``pip install "sockethub[client]"``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import inspect
import itertools
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias
from urllib.parse import urlencode, urlsplit, urlunsplit

try:
    from websockets.asyncio.client import ClientConnection, connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.typing import Subprotocol
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        'sockethub.client needs the websockets package: pip install "sockethub[client]"'
    ) from exc

from .frames import (
    ConnectRefused,
    Frame,
    JoinError,
    ProtocolName,
    PushError,
    Reply,
    ReplyTimeout,
    wire_for,
)

__all__ = [
    "Backoff",
    "Channel",
    "Client",
    "ConnectRefused",
    "Disconnected",
    "Frame",
    "JoinError",
    "PushError",
    "ReplyTimeout",
]

logger = logging.getLogger(__name__)

Params: TypeAlias = Any | Callable[[], Any]
"""A value, or a function returning it, evaluated at every (re)connect or (re)join."""
Callback: TypeAlias = Callable[[Frame], Awaitable[None] | None]
"""A function (sync or async) called with each :class:`Frame` of an event."""


class Disconnected(ConnectionError):
    """The connection dropped (or the client was closed) before a reply arrived."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """How long to wait before each reconnect attempt.

    Attempt ``n`` (from 0) waits ``min(maximum, initial * factor**n)``, then spread by
    ``± jitter`` (a fraction: 0.2 is ±20 %) so that many clients do not reconnect in step.
    ``attempts=None`` retries for ever; otherwise the client gives up after that many
    failed attempts in a row (:meth:`Client.wait_closed` then returns).
    """

    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 15.0
    jitter: float = 0.2
    attempts: int | None = None

    def __post_init__(self) -> None:
        if self.initial < 0 or self.maximum < self.initial or self.factor < 1:
            raise ValueError(f"Backoff needs 0 <= initial <= maximum and factor >= 1: {self}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"Backoff.jitter is a fraction in [0, 1], got {self.jitter}")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before attempt ``attempt`` (0 for the first retry)."""
        base = min(self.maximum, self.initial * self.factor ** min(attempt, 64))
        spread = base * self.jitter * (2 * (rng or random).random() - 1)
        return max(0.0, min(self.maximum, base + spread))


def _evaluate(params: Params) -> Any:
    return params() if callable(params) else params


class Channel:
    """One topic of a :class:`Client` (made by :meth:`Client.channel`).

    Frames for the topic (broadcasts, server pushes) go to the callbacks registered with
    :meth:`on` and to the channel's queue, read with ``async for frame in channel`` or
    :meth:`receive`.  The queue keeps at most ``backlog`` frames; when it is full the
    oldest is dropped (and logged).
    """

    def __init__(self, client: Client, topic: str, params: Params, backlog: int) -> None:
        self.client = client
        self.topic = topic
        """The topic."""
        self.params = params
        """The join params, or a function returning them (called at every join)."""
        self.join_ref: str | None = None
        """The ref of the current join (``None``: not joined right now)."""
        self.joined = False
        """Whether the client wants this topic joined (it is rejoined after a reconnect)."""
        self._callbacks: dict[str | None, list[Callback]] = {}
        self._join_callbacks: list[Callable[[Any], Awaitable[None] | None]] = []
        self._queue: asyncio.Queue[Frame] = asyncio.Queue()
        self._backlog = backlog

    def on(self, event: str | None, callback: Callback) -> Callback:
        """Call ``callback(frame)`` for each frame of ``event`` (``None``: every event)."""
        self._callbacks.setdefault(event, []).append(callback)
        return callback

    def on_join(self, callback: Callable[[Any], Awaitable[None] | None]) -> None:
        """Call ``callback(response)`` after every successful join and rejoin."""
        self._join_callbacks.append(callback)

    async def join(self, *, timeout: float | None = None) -> Any:
        """Join the topic; return the join reply's response.  A refusal raises
        :class:`JoinError` (and the topic is not rejoined after reconnects)."""
        self.joined = True
        try:
            return await self._join(timeout)
        except JoinError:
            self.joined = False
            raise

    async def _join(self, timeout: float | None) -> Any:
        wire = self.client.wire
        ref = self.client._next_ref()
        self.join_ref = ref
        params = _evaluate(self.params)
        if params is None and wire.name == "phoenix":
            params = {}  # as phoenix.js sends join params
        reply = await self.client._request(self.topic, wire.join_event, params, ref, ref, timeout)
        if not reply.ok:
            self.join_ref = None
            raise JoinError(self.topic, wire.join_event, reply)
        for callback in self._join_callbacks:
            result = callback(reply.response)
            if inspect.isawaitable(result):
                await result
        return reply.response

    async def push(self, event: str, payload: Any = None, *, timeout: float | None = None) -> Any:
        """Send ``event`` and return the reply's response.

        Raises :class:`PushError` for an error reply, :class:`ReplyTimeout` when no reply
        comes within ``timeout`` (default: the client's ``reply_timeout``), and
        :class:`Disconnected` when the connection drops first.
        """
        ref = self.client._next_ref()
        reply = await self.client._request(self.topic, event, payload, ref, self.join_ref, timeout)
        if not reply.ok:
            raise PushError(self.topic, event, reply)
        return reply.response

    async def send(self, event: str, payload: Any = None) -> None:
        """Send ``event`` without a ref: no reply is asked for, none is awaited.

        Raises :class:`Disconnected` if the client is not connected right now.
        """
        await self.client._send(self.topic, event, payload, self.join_ref)

    async def leave(self, *, timeout: float | None = None) -> None:
        """Leave the topic (it is no longer rejoined)."""
        self.joined = False
        join_ref, self.join_ref = self.join_ref, None
        if self.client.connected:
            ref = self.client._next_ref()
            await self.client._request(
                self.topic, self.client.wire.leave_event, None, ref, join_ref, timeout
            )

    async def receive(self, timeout: float | None = None) -> Frame:
        """The next frame for this topic; :class:`ReplyTimeout` if none comes in time."""
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            raise ReplyTimeout(f"no frame on {self.topic!r} within {timeout}s") from None

    def __aiter__(self) -> AsyncIterator[Frame]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Frame]:
        while True:
            yield await self._queue.get()

    async def _deliver(self, frame: Frame) -> None:
        if self._queue.qsize() >= self._backlog:
            dropped = self._queue.get_nowait()
            logger.warning("channel %r backlog full: dropped %r", self.topic, dropped.event)
        self._queue.put_nowait(frame)
        for callback in (*self._callbacks.get(frame.event, ()), *self._callbacks.get(None, ())):
            try:
                result = callback(frame)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("callback for %r on %r failed", frame.event, self.topic)


class Client:
    """A connection to a sockethub (or Phoenix) server that survives drops.

    ``url``: ``ws://`` or ``wss://``; with ``protocol="phoenix"`` ``vsn=2.0.0`` is added
    to its query.  ``params``: query parameters (or a function returning them, evaluated
    at every connect).  ``headers`` and ``subprotocols`` go into every handshake;
    ``auth_token`` is sent as phoenix.js's ``authToken`` (``sock.auth_token`` on the hub).
    ``reconnect``: the :class:`Backoff` between attempts, or ``None`` to stay closed after
    a drop.  ``heartbeat_interval`` (Phoenix only): seconds between heartbeats; a
    heartbeat not answered before the next one is due closes the connection, which then
    reconnects.  ``reply_timeout``: the default wait for replies.  ``ping_interval``:
    WebSocket pings of the ``websockets`` library (``None`` turns them off).
    """

    def __init__(
        self,
        url: str,
        *,
        protocol: ProtocolName = "envelope",
        params: Params = None,
        headers: Mapping[str, str] | None = None,
        subprotocols: list[str] | None = None,
        auth_token: str | None = None,
        reconnect: Backoff | None = Backoff(),
        heartbeat_interval: float = 30.0,
        reply_timeout: float = 10.0,
        open_timeout: float = 10.0,
        ping_interval: float | None = 20.0,
        backlog: int = 1000,
    ) -> None:
        self.url = url
        self.wire = wire_for(protocol)
        """The wire protocol spoken."""
        self.params = params
        self.headers = dict(headers or {})
        self.subprotocols = list(subprotocols or [])
        if auth_token is not None:
            # As phoenix.js's authToken: base64url without padding, in a subprotocol.
            encoded = base64.urlsafe_b64encode(auth_token.encode("latin-1")).decode()
            self.subprotocols = [
                *(self.subprotocols or ["phoenix"]),
                f"base64url.bearer.phx.{encoded.rstrip('=')}",
            ]
        self.reconnect = reconnect
        self.heartbeat_interval = heartbeat_interval
        self.reply_timeout = reply_timeout
        self.open_timeout = open_timeout
        self.ping_interval = ping_interval
        self.backlog = backlog
        self.connects = 0
        """How many times a connection was opened (1 after the first connect)."""
        self._channels: dict[str, Channel] = {}
        self._pending: dict[str, asyncio.Future[Reply]] = {}
        self._refs = itertools.count(1)
        self._ws: ClientConnection | None = None
        self._runner: asyncio.Task[None] | None = None
        self._closing = False
        self._open_callbacks: list[Callable[[], Awaitable[None] | None]] = []
        self._close_callbacks: list[Callable[[], Awaitable[None] | None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- public API -----------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether a connection is open right now."""
        return self._ws is not None

    def channel(self, topic: str, params: Params = None) -> Channel:
        """The :class:`Channel` for ``topic`` (made once; ``params`` are its join params,
        or a function returning them, evaluated at every join and rejoin)."""
        channel = self._channels.get(topic)
        if channel is None:
            channel = self._channels[topic] = Channel(self, topic, params, self.backlog)
        elif params is not None:
            channel.params = params
        return channel

    def on_open(self, callback: Callable[[], Awaitable[None] | None]) -> None:
        """Call ``callback()`` after every connect, once the joined topics are rejoined."""
        self._open_callbacks.append(callback)

    def on_close(self, callback: Callable[[], Awaitable[None] | None]) -> None:
        """Call ``callback()`` every time the connection drops (or is closed)."""
        self._close_callbacks.append(callback)

    async def connect(self) -> None:
        """Open the first connection; from then on the client keeps reconnecting.

        Raises :class:`ConnectRefused` if the server refuses the handshake, ``OSError``
        if nothing answers (the first connection is not retried).
        """
        if self._runner is not None:
            raise RuntimeError("this Client is already connected")
        ws = await self._open()
        self._ws = ws
        self._runner = asyncio.get_running_loop().create_task(self._run(ws))

    async def close(self) -> None:
        """Close the connection and stop reconnecting; pending pushes raise
        :class:`Disconnected`."""
        self._closing = True
        ws = self._ws
        if ws is not None:
            await ws.close()
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        if ws is not None:
            ws.transport.abort()  # if the runner never ran, nobody else closes it
        for task in list(self._tasks):
            task.cancel()
        self._fail_pending("the client was closed")

    async def wait_closed(self) -> None:
        """Wait until the client stops for good (closed, or out of reconnect attempts)."""
        runner = self._runner
        if runner is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(runner)

    async def __aenter__(self) -> Client:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- the connection -------------------------------------------------------------------

    def _next_ref(self) -> str:
        return str(next(self._refs))

    def _target(self) -> str:
        split = urlsplit(self.url)
        query = [q for q in split.query.split("&") if q]
        extra = {**self.wire.query, **dict(_evaluate(self.params) or {})}
        if extra:
            query.append(urlencode(extra))
        return urlunsplit(split._replace(query="&".join(query)))

    async def _open(self) -> ClientConnection:
        try:
            ws = await connect(
                self._target(),
                additional_headers=self.headers or None,
                subprotocols=[Subprotocol(s) for s in self.subprotocols] or None,
                open_timeout=self.open_timeout,
                ping_interval=self.ping_interval,
                close_timeout=min(self.open_timeout, 5.0),
            )
        except InvalidStatus as exc:
            body = exc.response.body.decode("utf-8", "replace") if exc.response.body else ""
            raise ConnectRefused(None, body, status=exc.response.status_code) from exc
        self.connects += 1
        return ws

    async def _run(self, ws: ClientConnection | None) -> None:
        attempt = 0
        while not self._closing:
            if ws is None:
                try:
                    ws = await self._open()
                except (OSError, ConnectRefused, TimeoutError) as exc:
                    backoff = self.reconnect
                    if backoff is None or (
                        backoff.attempts is not None and attempt >= backoff.attempts
                    ):
                        logger.warning("giving up reconnecting to %s: %s", self.url, exc)
                        return
                    delay = backoff.delay(attempt)
                    attempt += 1
                    logger.info("reconnecting to %s in %.2fs (%s)", self.url, delay, exc)
                    await asyncio.sleep(delay)
                    continue
                except Exception:
                    logger.exception("cannot reconnect to %s", self.url)
                    return
            attempt = 0
            await self._serve(ws)
            ws = None
            if self.reconnect is None:
                return
            if not self._closing:
                await asyncio.sleep(self.reconnect.delay(0))

    async def _serve(self, ws: ClientConnection) -> None:
        """Run one connection to its end: rejoin, read, heartbeat."""
        self._ws = ws
        reader = asyncio.get_running_loop().create_task(self._read(ws))
        beats = None
        if self.wire.heartbeat("0") is not None and self.heartbeat_interval > 0:
            beats = asyncio.get_running_loop().create_task(self._heartbeat(ws))
        self._spawn(self._reopened())
        try:
            await reader
        finally:
            self._ws = None
            if beats is not None:
                beats.cancel()
            reader.cancel()
            self._fail_pending("the connection dropped")
            for channel in self._channels.values():
                channel.join_ref = None
            await self._fire(self._close_callbacks)
            with contextlib.suppress(Exception):
                await ws.close()

    async def _reopened(self) -> None:
        for channel in list(self._channels.values()):
            if channel.joined and channel.join_ref is None:
                try:
                    await channel._join(None)
                except (JoinError, ReplyTimeout, Disconnected) as exc:
                    logger.warning("rejoining %r failed (retrying): %s", channel.topic, exc)
                    self._spawn(self._rejoin(channel))
        await self._fire(self._open_callbacks)

    async def _fire(self, callbacks: list[Callable[[], Awaitable[None] | None]]) -> None:
        for callback in callbacks:
            try:
                result = callback()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("connection callback failed")

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _heartbeat(self, ws: ClientConnection) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            if any(ref.startswith("hb") for ref in self._pending):
                logger.warning("heartbeat timeout on %s: reconnecting", self.url)
                ws.transport.abort()
                return
            ref = f"hb{self._next_ref()}"
            beat = self.wire.heartbeat(ref)
            assert beat is not None
            self._pending[ref] = asyncio.get_running_loop().create_future()
            with contextlib.suppress(ConnectionClosed):
                await ws.send(beat)

    async def _read(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for data in ws:
                try:
                    frame = self.wire.decode(data)
                except (ValueError, IndexError):
                    logger.warning("ignoring a frame that is not %s: %r", self.wire.name, data)
                    continue
                await self._dispatch(frame)

    async def _dispatch(self, frame: Frame) -> None:
        reply = self.wire.reply(frame) if frame.ref is not None else None
        if reply is not None:
            future = self._pending.pop(frame.ref or "", None)
            if future is not None and not future.done():
                future.set_result(reply)
            return
        if frame.topic is None:
            logger.warning("error from %s: %r", self.url, frame.payload)
            return
        channel = self._channels.get(frame.topic)
        if channel is None:
            return
        if frame.join_ref is not None and frame.join_ref != channel.join_ref:
            return  # a frame of an earlier join
        if frame.event == "phx_error" and channel.joined:
            channel.join_ref = None
            self._spawn(self._rejoin(channel))
            return
        if frame.event == "phx_close":
            channel.join_ref = None
            return
        await channel._deliver(frame)

    async def _rejoin(self, channel: Channel) -> None:
        """Rejoin ``channel`` with backoff until it is joined, left, or the connection
        drops (the next connection rejoins it then), as phoenix.js does."""
        attempt = 0
        while True:
            backoff = self.reconnect or Backoff()
            await asyncio.sleep(backoff.delay(attempt))
            attempt += 1
            if not (channel.joined and channel.join_ref is None and self.connected):
                return
            try:
                await channel._join(None)
                return
            except (JoinError, ReplyTimeout, Disconnected) as exc:
                logger.warning("rejoining %r failed: %s", channel.topic, exc)

    async def _request(
        self,
        topic: str,
        event: str,
        payload: Any,
        ref: str,
        join_ref: str | None,
        timeout: float | None,
    ) -> Reply:
        ws = self._ws
        if ws is None:
            raise Disconnected(f"not connected to {self.url}")
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending[ref] = future
        wait = self.reply_timeout if timeout is None else timeout
        try:
            await ws.send(self.wire.encode(topic, event, payload, ref, join_ref))
            return await asyncio.wait_for(asyncio.shield(future), wait)
        except ConnectionClosed:
            raise Disconnected(f"the connection to {self.url} dropped") from None
        except TimeoutError:
            raise ReplyTimeout(f"no reply to {event!r} on {topic!r} within {wait}s") from None
        finally:
            self._pending.pop(ref, None)

    async def _send(self, topic: str, event: str, payload: Any, join_ref: str | None) -> None:
        ws = self._ws
        if ws is None:
            raise Disconnected(f"not connected to {self.url}")
        try:
            await ws.send(self.wire.encode(topic, event, payload, None, join_ref))
        except ConnectionClosed:
            raise Disconnected(f"the connection to {self.url} dropped") from None

    def _fail_pending(self, why: str) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(Disconnected(why))
                future.exception()  # retrieved: nobody may be waiting (heartbeats)
