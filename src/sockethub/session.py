"""Session: one managed connection of a SocketHub, from handshake to clean-up.

The session's loop reads frames and handles each inline (no task per message), and
sends everything through its :class:`~sockethub.outbox.Outbox`.  While a callback runs
for long (more than ``WATCH_AFTER`` seconds), a watcher task reads ahead (at most
``AHEAD_MAX`` frames): it answers heartbeats at once, hands other topics' messages to a
worker task per busy topic (``ordering="topic"``), keeps the rest in order for the loop,
and sees the end of the connection: a callback still running ``HubLimits.cancel_grace``
seconds after its client left is cancelled and the clean-up hooks run, as a Phoenix
channel dies with its socket.  Joined topics live in a dict keyed by topic string: a
message on a joined topic costs one lookup, whatever the number of channels.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from types import CoroutineType
from typing import TYPE_CHECKING, Any, Literal

from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketState

from .bus.base import BusMessage, BusUnavailable, MessageError, PubSubMessage
from .channel import Channel
from .codec import Codec
from .codes import (
    ALREADY_JOINED,
    CLOSE_IDLE,
    CLOSE_INTERNAL,
    EVENT_NOT_FOUND,
    INVALID_TOPIC,
    SERVICE_UNAVAILABLE,
    TOO_MANY_TOPICS,
    TOPIC_NOT_FOUND,
)
from .eager import Resume
from .errors import EncodeError, FrameError, JoinRefused, ReplyError
from .failure import ENVELOPE_MODEL, FailureModel, failure_model
from .handshake import admit, turned_away
from .history.base import StreamPosition
from .history.catchup import (
    Catchup,
    JoinPositionError,
    check_join_result,
    join_response,
    requested_position,
)
from .limits import InboundGuard
from .outbox import Outbox, OutboxClosed
from .presence.gate import StateGate
from .presence.tracker import STATE_EVENT
from .protocols.base import Inbound, Kind, WireProtocol
from .socket import ChannelSocket, ISocket

if TYPE_CHECKING:
    from .hub import SocketHub

__all__ = ["ErrorPolicy", "Session"]

logger = logging.getLogger(__name__)

ErrorPolicy = Literal["reply", "close", "raise"]


#: A callback running this long gets a watcher that reads ahead for the connection's end.
WATCH_AFTER = 0.05
#: Frames the watcher reads ahead at most; past that, reading waits for the callback.
AHEAD_MAX = 32

_UNSET: Any = object()


class CallbackCancelled(Exception):
    """A callback raised ``CancelledError`` although its connection was not cancelled
    (it awaited something that got cancelled); handled like any callback failure."""


def _first_step(awaitable: Awaitable[Any]) -> tuple[bool, Any]:
    """Run a coroutine's first step now: ``(True, result)`` if it returned, else
    ``(False, the rest to await)``.  A cancellation the callback raised itself is
    :class:`CallbackCancelled`, as it is after an ``await``."""
    if type(awaitable) is not CoroutineType:
        return False, awaitable
    try:
        yielded = awaitable.send(None)
    except StopIteration as done:
        return True, done.value
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # this connection is being cancelled: not the callback's doing
        raise CallbackCancelled("the callback was cancelled") from None
    return False, Resume(awaitable, yielded)


class _ConnectionEnded(BaseException):
    """Raised through a callback's caller once the callback was cancelled because its
    connection ended: nothing is left to answer, the session goes to its clean-up."""


class _Reader:
    """The connection's ASGI ``receive``, with what a watcher read ahead served first.

    Everything reads through :meth:`receive` (the loop, Starlette's ``accept``, a
    callback's own ``sock.receive_text()``), so no message is lost or reordered by the
    watcher.  It holds no reference to its session, so a socket kept somewhere (a log
    record's arguments) does not keep an ended session alive.
    """

    __slots__ = ("ahead", "raw", "watcher")

    def __init__(self, raw: Receive) -> None:
        self.raw = raw
        self.ahead: collections.deque[Message] = collections.deque()
        self.watcher: asyncio.Task[None] | None = None

    async def receive(self) -> Message:
        if self.watcher is not None:
            await self.stop_watching()  # a callback reads the socket itself
        if self.ahead:
            return self.ahead.popleft()
        return await self.raw()

    async def stop_watching(self) -> None:
        watcher, self.watcher = self.watcher, None
        if watcher is not None and not watcher.done():
            watcher.cancel()
            await asyncio.wait({watcher})


class _Joined:
    """A topic this connection joined: its channel, params and bus callback (and, on a
    presence channel, what resends it the whole state)."""

    __slots__ = ("channel", "deliver", "join_ref", "params", "sock", "state_listener")

    def __init__(
        self,
        channel: Channel,
        params: dict[str, str],
        join_ref: str | None,
        deliver: Callable[[PubSubMessage], None],
        sock: ISocket,
    ) -> None:
        self.channel = channel
        self.params = params
        self.join_ref = join_ref
        self.deliver = deliver
        self.sock = sock
        self.state_listener: Callable[[Any], None] | None = None


def subscriber(outbox: Outbox, protocol: WireProtocol) -> Callable[[PubSubMessage], None]:
    """The bus callback of one joined topic: encode (once per publish) and enqueue.

    It never awaits, so the bus serves every subscriber of a topic in one pass; it raises
    :class:`OutboxClosed` once the socket is gone, so the bus drops it.
    """
    put = outbox.put
    encode = protocol.broadcast

    def deliver(message: PubSubMessage) -> None:
        try:
            if type(message) is BusMessage:
                frame = message.encoded(protocol, encode)
            else:
                frame = encode(message)
        except Exception as exc:
            raise MessageError(f"cannot encode a message to {message.topic!r}: {exc}") from exc
        put(frame)

    return deliver


class Session:
    """The managed loop of one connection.  Created and run by :class:`SocketHub`."""

    __slots__ = (
        "__weakref__",
        "_abandoning",
        "_busy",
        "_dog",
        "_failure",
        "_guard",
        "_idle_handle",
        "_in_call",
        "_joining",
        "_kicked",
        "_main_topic",
        "_model",
        "_on_command",
        "_queued",
        "_raw_send",
        "_reader",
        "_reading",
        "_task",
        "_workers",
        "hub",
        "joined",
        "outbox",
        "protocol",
        "sock",
    )

    def __init__(self, hub: SocketHub, scope: Scope, receive: Receive, send: Send) -> None:
        self.hub = hub
        self._reader = _Reader(receive)
        self._raw_send = send  # the outbox writes to the ASGI send itself
        self._in_call = False  # the loop's own task is awaiting a callback
        self._dog: _Watchdog | None = None  # this event loop's, once serving
        self._abandoning = False
        # ordering="topic": topics whose worker task is busy, with what waits behind it.
        self._busy: dict[str, collections.deque[Inbound]] = {}
        self._workers: set[asyncio.Task[None]] = set()
        self._queued = 0
        self._main_topic: str | None = None
        self._joining: dict[str, StateGate] = {}  # presence topics whose on_join runs
        self._on_command: Callable[[PubSubMessage], None] | None = None
        self.sock = ISocket(WebSocket(scope, self._reader.receive, send))
        self.joined: dict[str, _Joined] = {}
        self.protocol: WireProtocol = hub.default_protocol
        self._model: FailureModel = ENVELOPE_MODEL
        self.outbox: Outbox | None = None
        self._task: asyncio.Task[Any] | None = None
        self._reading = False
        self._kicked: int | None = None
        self._failure: BaseException | None = None
        self._guard: InboundGuard | None = None
        self._idle_handle: asyncio.TimerHandle | None = None

    # -- the connection, start to end -------------------------------------------------------

    async def run(self) -> None:
        hub = self.hub
        sock = self.sock
        if await turned_away(hub, sock.websocket):
            return
        hub.held += 1  # from here, counted against max_connections (handshakes included)
        try:
            self.protocol = hub._select_protocol(sock)
            self._model = failure_model(self.protocol)
            if await admit(hub, sock, self.protocol):
                await self._serve()
        finally:
            hub.held -= 1

    async def _serve(self) -> None:
        """Serve an accepted connection: its loop, then its clean-up, however it ends."""
        hub = self.hub
        sock = self.sock
        limits = hub.limits
        self.outbox = Outbox(
            self._raw_send,
            max_bytes=limits.outbox_bytes,
            policy=limits.overflow,
            on_overflow=self._overflowed,
        )
        sock._session = self
        self._on_command = await hub.control.add(self)
        self._task = asyncio.current_task()
        self._dog = _watchdog()
        hub.stats.connections += 1
        hub.stats.total_connections += 1
        cancelled: asyncio.CancelledError | None = None
        try:
            await self._loop()
        except asyncio.CancelledError as exc:
            cancelled = exc
        except _ConnectionEnded:
            pass
        finally:
            await _run_to_end(self._cleanup())
        if cancelled is not None:
            # The original exception: anyio (TestClient, task groups) recognises its own
            # cancellation by its message; a fresh CancelledError would escape its scope.
            raise cancelled
        if self._failure is not None and hub.error_policy == "raise":
            raise self._failure

    async def _loop(self) -> None:
        outbox = self.outbox
        assert outbox is not None
        limits = self.hub.limits
        idle = limits.idle_timeout or self._model.idle_timeout
        guard = self._guard = InboundGuard(limits, idle)
        if idle is not None:
            self._arm_idle(idle)
        protocol = self.protocol
        reader = self._reader
        raw = reader.raw
        handled = 0
        while not outbox.closed:
            handled += 1
            if not handled & 63:
                # uvicorn hands over every frame of a TCP read at once; give the other
                # connections a turn during a flood.
                await asyncio.sleep(0)
                if outbox.closed:
                    return
            self._reading = True
            try:
                if reader.watcher is None and not reader.ahead:
                    message = await raw()  # nothing read ahead: straight from the server
                else:
                    message = await reader.receive()
            except asyncio.CancelledError:
                if self._kicked is not None and self._task is not None:
                    self._task.uncancel()
                    return
                raise
            finally:
                self._reading = False
            kind = message["type"]
            if kind == "websocket.disconnect":
                return
            if kind != "websocket.receive":
                continue
            frame = message.get("text")
            if frame is None:
                frame = message.get("bytes")
                if frame is None:
                    continue
            if len(frame) > guard.always_fits and not self._admit(frame):
                return
            try:
                inbound = protocol.decode(frame)
            except FrameError as exc:
                logger.info("malformed frame on %s: %s", self.sock, exc.reason)
                self._put(protocol.error(exc.code, exc.reason, Inbound("", "", None, exc.ref)))
                continue
            if self._busy:
                queue = self._busy.get(inbound.topic)
                if queue is not None:  # its topic's worker is busy: wait behind it
                    queue.append(inbound)
                    self._queued += 1
                    continue
            self._main_topic = inbound.topic
            step = self._handle(inbound)
            if step is not None:
                await step

    def _admit(self, frame: str | bytes) -> bool:
        """Apply the inbound limits to one frame; past them, close and return False."""
        guard = self._guard
        assert guard is not None
        assert self.outbox is not None
        violation = guard.admit(frame)
        if violation is None:
            return True
        logger.info("closing %s: %s", self.sock, violation.reason)
        self.outbox.close(*violation)
        return False

    # -- one message --------------------------------------------------------------------------

    def _handle(self, inbound: Inbound) -> Coroutine[Any, Any, None] | None:
        """One inbound message, one clause per situation (as Phoenix's ``handle_in``).

        What is answered at once (a heartbeat, a message for a topic not joined) is done
        here; for a join, a leave or a message the coroutine to await is returned (one
        coroutine less per message than awaiting it here)."""
        kind = inbound.kind
        if kind is Kind.HEARTBEAT:
            self._heartbeat(inbound)
            return None
        joined = self.joined.get(inbound.topic)
        if kind is Kind.JOIN:
            return self._join(inbound, joined)  # a fresh join, or a rejoin or duplicate
        if joined is None:
            self._not_joined(inbound)
            return None
        if inbound.join_ref is not None and inbound.join_ref != joined.join_ref:
            return None  # a message for a stale join (Phoenix) is ignored
        if kind is Kind.LEAVE:
            return self._leave(inbound, joined)
        return self._receive(inbound, joined)

    def _heartbeat(self, inbound: Inbound) -> None:
        """A heartbeat is acknowledged at once."""
        frame = self.protocol.reply(inbound, "ok", None)
        if frame is not None:
            self._reply(frame)

    def _not_joined(self, inbound: Inbound) -> None:
        """A leave or a message for a topic this connection has not joined: an error, but
        a leave is acknowledged ok where the failure model says so (Phoenix)."""
        protocol = self.protocol
        frame: str | bytes | None
        if inbound.kind is Kind.LEAVE and self._model.leave_unknown_ok:
            frame = protocol.reply(inbound, "ok", None)
        else:
            frame = protocol.error(*TOPIC_NOT_FOUND, inbound)
        if frame is not None:
            self._put(frame)

    async def _receive(self, inbound: Inbound, joined: _Joined) -> None:
        """A message for a joined topic: its ``on_receive`` callback, then the reply."""
        protocol = self.protocol
        topic = inbound.topic
        event = inbound.event
        callback = joined.channel.events.get(event)
        if callback is None:
            self._put(protocol.error(*EVENT_NOT_FOUND, inbound))
            return
        sock = self._channel_sock(joined.sock, topic, joined.params, inbound)
        frame: str | bytes | None
        try:
            # A callback that returns without waiting (an echo, a lookup) is done here.
            finished, result = _first_step(callback(inbound.payload, sock))
            if not finished:
                result = await self._await_rest(result)
            # Encoded here, inside the error handling: a result that cannot be sent is
            # the callback's failure, answered like any other.
            frame = None if inbound.ref is None else protocol.reply(inbound, "ok", result)
        except ReplyError as exc:
            try:
                frame = protocol.request_failed(inbound, exc.reason, exc.response)
            except EncodeError as failure:
                self._callback_failed(failure, inbound, f"on_receive({event!r})", joined.join_ref)
                return
        except Exception as exc:
            self._callback_failed(exc, inbound, f"on_receive({event!r})", joined.join_ref)
            if self._model.crash_leaves and self.joined.get(topic) is joined:
                # The crashed channel is gone at once (its crash frame was sent); the
                # client's rejoin is a fresh join.
                await self._leave(inbound, joined, quiet=True)
            return
        if frame is not None:
            self._reply(frame)

    def _channel_sock(
        self, sock: ISocket, topic: str, params: dict[str, str], inbound: Inbound
    ) -> ISocket:
        """The socket a channel callback gets, with ``message`` set to ``inbound``; in
        shared mode (the 0.1 facade) the connection's, retargeted at ``topic``."""
        if sock is self.sock:
            sock.topic = topic
            sock.params = params
        sock.message = inbound
        return sock

    async def _join(self, inbound: Inbound, joined: _Joined | None) -> None:
        protocol = self.protocol
        topic = inbound.topic
        if joined is not None:
            if inbound.join_ref is None or inbound.join_ref == joined.join_ref:
                self._put(protocol.error(*ALREADY_JOINED, inbound))
                return
            await self._leave(inbound, joined, quiet=True)  # a rejoin replaces the old join
        if len(topic) > self.hub.limits.max_topic_length or not topic.isprintable():
            self._put(protocol.error(*INVALID_TOPIC, inbound))
            return
        resolved = self.hub.resolve(topic)
        if resolved is None:
            self._put(protocol.error(*TOPIC_NOT_FOUND, inbound))
            return
        if len(self.joined) >= self.hub.limits.max_topics:
            self._put(protocol.error(*TOO_MANY_TOPICS, inbound))
            return
        channel, params = resolved
        history = channel.history
        since: StreamPosition | None = None
        if history is not None:
            try:
                since = requested_position(inbound.payload)
            except JoinPositionError as exc:
                logger.info("join of %r on %s refused: %s", topic, self.sock, exc)
                self._put(protocol.error(exc.code, exc.reason, inbound))
                return
        sock: ISocket
        if self.hub.per_join_sockets:
            sock = self.sock.channel_view(topic, params, inbound)
        else:
            sock = self._channel_sock(self.sock, topic, params, inbound)
        gate = None
        if channel.presence:
            # Created before on_join: the diffs of what on_join tracks skip this socket,
            # whose state will hold them.
            assert self.outbox is not None
            gate = self._joining[topic] = StateGate(subscriber(self.outbox, protocol))
        try:
            result = await self._call(channel.on_join_callback(params, sock))
            # on_join's return value is the join reply's payload (Phoenix's
            # {:ok, reply, socket}); encoded here, so that one that cannot be sent is the
            # callback's failure.
            frame = protocol.reply(inbound, "ok", result)
            if history is not None:
                check_join_result(result)
        except JoinRefused as exc:
            _end_view(sock)
            await self._untrack(topic)
            try:
                self._put(protocol.join_refused(inbound, exc.reason, exc.response))
            except EncodeError as failure:
                self._callback_failed(failure, inbound, "on_join", inbound.join_ref)
            return
        except Exception as exc:
            _end_view(sock)
            await self._untrack(topic)
            self._callback_failed(exc, inbound, "on_join", inbound.join_ref)
            return
        finally:
            if gate is not None:
                self._joining.pop(topic, None)
        outbox = self.outbox
        assert outbox is not None
        if outbox.closed:
            _end_view(sock)
            await self._untrack(topic)
            return
        if (
            gate is not None
            and callable(channel.presence)
            and not self._wants_presence(channel, sock)
        ):
            gate = None  # this join declined presence: a plain subscriber, no state
        catchup = Catchup(outbox, protocol) if history is not None else None
        deliver: Callable[[PubSubMessage], None]
        if gate is not None:
            if catchup is not None:
                gate.deliver = catchup  # what the gate held goes through the catch-up
            deliver = gate
        else:
            deliver = catchup if catchup is not None else subscriber(outbox, protocol)
        entry = _Joined(channel, params, inbound.join_ref, deliver, sock)
        self.joined[topic] = entry
        try:
            await self.hub.bus.subscribe(topic, deliver)
            if history is not None:
                page = await self.hub.history_store.read(topic, history, since=since)
        except Exception as exc:
            if isinstance(exc, BusUnavailable):
                logger.warning("join of %r undone: %s", topic, exc)
            else:
                logger.exception("bus.subscribe(%r) or its history failed; join undone", topic)
            if self.joined.get(topic) is entry:
                del self.joined[topic]
            await self._unsubscribe(topic, entry)
            await self._run_exit(topic, entry)
            self._put(protocol.error(*SERVICE_UNAVAILABLE, inbound))
            return
        if catchup is not None:
            frame = protocol.reply(inbound, "ok", join_response(result, page, since))
        if frame is not None:
            self._put(frame)
        if gate is not None:
            # The state, then what the gate held: into the catch-up's buffer if there is
            # one, which the release below sends after the recovered publications.
            await self._send_presence_state(topic, entry, gate)
        if catchup is not None:
            # From the reply (or the state) to the last buffered message, without
            # suspending: the seam.
            try:
                catchup.release(topic, page, since)
            except OutboxClosed:
                pass
            except MessageError as exc:
                logger.error("recovering %r on %s stopped: %s", topic, self.sock, exc)

    def _wants_presence(self, channel: Channel, sock: ISocket) -> bool:
        choice = channel.presence
        assert callable(choice)
        try:
            return bool(choice(sock))
        except Exception:
            logger.exception("the presence choice of %r raised; no presence state", channel)
            return False

    async def _send_presence_state(self, topic: str, joined: _Joined, gate: StateGate) -> None:
        """Send the joiner the topic's whole presence state, then what the gate held; and
        again whenever the presence store recovers from an outage."""
        protocol = self.protocol
        join_ref = joined.join_ref

        def send_state(state: Any) -> None:
            self._put(protocol.push(topic, STATE_EVENT, state, join_ref))

        presence = self.hub.presence
        try:
            send_state(await presence.list(topic))
        except Exception:
            logger.warning("presence: no state for %r on %s", topic, self.sock, exc_info=True)
        gate.open()
        if self.joined.get(topic) is joined:
            joined.state_listener = send_state
            presence.listen(topic, send_state)

    async def remove_from(self, topic: str) -> None:
        """Leave ``topic`` because server code said so (``hub.remove``): as a leave, then
        the protocol's close of the channel (Phoenix's ``phx_close``)."""
        joined = self.joined.get(topic)
        if joined is None or self.closing:
            return
        # No frame asked for this leave: on_exit sees a leave without an event.
        inbound = Inbound(topic, "", None, None, joined.join_ref, Kind.LEAVE)
        await self._leave(inbound, joined, quiet=True)
        self._put(self.protocol.left(topic, joined.join_ref))

    async def _leave(self, inbound: Inbound, joined: _Joined, *, quiet: bool = False) -> None:
        topic = inbound.topic
        del self.joined[topic]
        await self._unsubscribe(topic, joined)
        joined.sock.message = inbound
        await self._run_exit(topic, joined, inbound)
        if quiet:
            return
        protocol = self.protocol
        frame = protocol.reply(inbound, "ok", None)
        if frame is not None:
            self._put(frame)
        if self._model.close_after_leave:
            self._put(protocol.left(topic, joined.join_ref))

    async def _run_exit(self, topic: str, joined: _Joined, inbound: Inbound | None = None) -> None:
        """Run ``on_exit`` for ``topic``; an error is logged (and applies the error policy
        while the connection is live)."""
        sock = joined.sock
        if sock is self.sock:
            sock.topic = topic
            sock.params = joined.params
        timeout = _UNSET if inbound is not None else self._ended_timeout()
        try:
            await self._call(joined.channel.on_exit_callback(sock), timeout)
        except Exception as exc:
            if inbound is None:
                self.hub.stats.callback_errors += 1
                if isinstance(exc, TimeoutError):
                    logger.error(
                        "on_exit for topic %r on %s did not finish within %ss of the "
                        "connection's end; cancelled",
                        topic,
                        sock,
                        timeout,
                    )
                else:
                    logger.exception("on_exit raised for topic %r", topic)
            else:
                self._callback_failed(exc, inbound, "on_exit", None)
        finally:
            _end_view(sock)

    async def _unsubscribe(self, topic: str, joined: _Joined) -> None:
        try:
            await self.hub.bus.unsubscribe(topic, joined.deliver)
        except Exception:
            logger.exception("bus.unsubscribe(%r) failed", topic)
        presence = self.hub.presence
        if joined.state_listener is not None:
            presence.unlisten(topic, joined.state_listener)
        if presence.owns(self.sock.connection_id):
            await self._untrack(topic)

    async def _untrack(self, topic: str | None = None) -> None:
        """Untrack this connection's presences (on ``topic``, or all of them)."""
        try:
            await self.hub.presence.untrack_owner(self.sock.connection_id, topic)
        except Exception:
            logger.exception("presence: untracking %s failed", self.sock)

    # -- presence (the SocketSession protocol) ----------------------------------------------

    async def track(self, topic: str, key: str, meta: dict[str, Any] | None) -> str:
        self._check_open("track")
        sock = self.sock
        return await self.hub.presence.track(
            topic,
            key,
            meta,
            owner=sock.connection_id,
            identity=sock.identity,
            exclude=self._joining.get(topic),
        )

    async def update(self, topic: str, key: str, meta: dict[str, Any]) -> str:
        self._check_open("update")
        return await self.hub.presence.update(topic, key, meta, owner=self.sock.connection_id)

    async def untrack(self, topic: str, key: str) -> None:
        await self.hub.presence.untrack(topic, key, owner=self.sock.connection_id)

    def _check_open(self, what: str) -> None:
        if self.sock._session is None:
            raise RuntimeError(f"sock.{what}(): the connection has ended")

    # -- helpers for ISocket (the SocketSession protocol) ----------------------------------

    async def send_frame(self, frame: str | bytes) -> None:
        self._put(frame)

    @property
    def codec(self) -> Codec:
        return self.hub.codec

    async def push(self, topic: str | None, event: str, payload: Any) -> None:
        joined = self.joined.get(topic) if topic is not None else None
        self._put(self.protocol.push(topic, event, payload, joined.join_ref if joined else None))

    async def publish(
        self, topic: str, event: str, payload: Any, *, exclude_self: bool
    ) -> StreamPosition | None:
        exclude = None
        if exclude_self:
            joined = self.joined.get(topic)
            exclude = joined.deliver if joined is not None else None
        return await self.hub._publish(topic, event, payload, exclude)

    @property
    def closing(self) -> bool:
        """True once the connection is closing or closed (a close was queued, or the
        client is gone): ``sock.application_state`` then reads ``DISCONNECTED``."""
        outbox = self.outbox
        return outbox is not None and outbox.closed

    async def close(self, code: int, reason: str | None) -> None:
        outbox = self.outbox
        if outbox is not None:
            outbox.close(code, reason)
            self._kick(code)

    def _put(self, frame: str | bytes) -> None:
        outbox = self.outbox
        assert outbox is not None
        try:
            outbox.put(frame)
        except OutboxClosed:
            pass

    def _reply(self, frame: str | bytes) -> None:
        """Send the reply to a request now, not at the end of the turn (see
        :meth:`Outbox.put_now`): round trips do not wait for the other connections."""
        outbox = self.outbox
        assert outbox is not None
        try:
            outbox.put_now(frame)
        except OutboxClosed:
            pass

    # -- failures, limits, the end ------------------------------------------------------

    async def _call(
        self,
        awaitable: Coroutine[Any, Any, Any] | Awaitable[Any],
        timeout: float | None = _UNSET,
    ) -> Any:
        """Await one callback under ``timeout`` (default: ``callback_timeout``).

        On the session's own task, a callback that runs long is watched: if the
        connection ends meanwhile, it is cancelled after ``cancel_grace`` seconds and
        :class:`_ConnectionEnded` is raised.

        A coroutine's first step runs at once: one that returns without waiting (most
        callbacks) needs neither the timeout nor the watch.  One that waits is awaited
        from where it stopped, under both.
        """
        finished, awaitable = _first_step(awaitable)
        if finished:
            return awaitable
        return await self._await_rest(awaitable, timeout)

    async def _await_rest(self, awaitable: Awaitable[Any], timeout: float | None = _UNSET) -> Any:
        """The waiting part of :meth:`_call`: await what is left of a callback (after its
        first step, see :func:`_first_step`) under the timeout and the watch."""
        if timeout is _UNSET:
            timeout = self.hub.limits.callback_timeout
        task = asyncio.current_task()
        reader = self._reader
        dog = self._dog
        watched = (
            task is self._task and dog is not None and not self._in_call and reader.watcher is None
        )
        if watched:
            assert dog is not None
            self._in_call = True
            dog.enter(self)
        try:
            if timeout is None:
                return await awaitable
            async with asyncio.timeout(timeout):
                return await awaitable
        except asyncio.CancelledError:
            if self._abandoning and task is self._task and task is not None:
                self._abandoning = False
                task.uncancel()
                raise _ConnectionEnded from None
            if task is not None and task.cancelling():
                raise  # this connection is being cancelled: not the callback's doing
            raise CallbackCancelled("the callback was cancelled") from None
        finally:
            if watched:
                self._in_call = False
                assert dog is not None
                dog.calls.pop(self, None)
                if reader.watcher is not None:
                    await reader.stop_watching()

    async def _watch(self) -> None:
        """Read ahead while a callback runs; cancel it once the connection has ended."""
        ahead = self._reader.ahead
        receive = self._reader.raw
        while True:
            if len(ahead) + self._queued >= AHEAD_MAX:
                return  # backpressure: the client waits for the callbacks, as it would
            message = await receive()
            if self._dispatched(message):
                continue
            ahead.append(message)
            kind = message["type"]
            if kind == "websocket.disconnect":
                break
            if kind == "websocket.receive" and self.outbox is not None and self.outbox.closed:
                return
        grace = self.hub.limits.cancel_grace
        await asyncio.sleep(grace)
        task = self._task
        if task is None or task.done():
            return
        logger.warning(
            "%s: a callback was still running %ss after its connection ended; cancelling it",
            self.sock,
            grace,
        )
        self.hub.stats.abandoned_callbacks += 1
        self._abandoning = True
        task.cancel()

    def _dispatched(self, message: Message) -> bool:
        """Handle now a message read while the loop's callback runs, when it need not wait
        for that callback; False to leave it to the loop, in order.

        Heartbeats are answered at once, so that the client does not time the connection
        out.  With ``ordering="topic"``, a message for another
        topic than the running callback's is handed to that topic's worker task (started
        for it, or queued behind what it is doing), so topics do not wait for each other
        while each keeps its own order.
        """
        if message["type"] != "websocket.receive":
            return False
        frame = message.get("text")
        if frame is None:
            frame = message.get("bytes")
            if frame is None:
                return False
        if len(frame) > self.hub.limits.max_frame_bytes:
            return False  # the loop closes the connection, in order
        try:
            inbound = self.protocol.decode(frame)
        except FrameError:
            return False
        heartbeat = inbound.kind is Kind.HEARTBEAT
        if not heartbeat and (self.hub.ordering != "topic" or inbound.topic == self._main_topic):
            return False
        if not self._admit(frame):
            return True  # closed: nothing more to do with it
        if heartbeat:
            self._heartbeat(inbound)
        else:
            self._route(inbound)
        return True

    def _route(self, inbound: Inbound) -> None:
        """Queue ``inbound`` behind its topic's worker, or start one for it."""
        topic = inbound.topic
        queue = self._busy.get(topic)
        if queue is not None:
            queue.append(inbound)
            self._queued += 1
            return
        self._busy[topic] = collections.deque()
        task = asyncio.get_running_loop().create_task(self._work(topic, inbound))
        self._workers.add(task)
        task.add_done_callback(self._workers.discard)

    async def _work(self, topic: str, inbound: Inbound) -> None:
        """Handle ``inbound``, then what was queued for ``topic`` meanwhile, in order."""
        queue = self._busy[topic]
        outbox = self.outbox
        assert outbox is not None
        try:
            while not outbox.closed:
                try:
                    step = self._handle(inbound)
                    if step is not None:
                        await step
                except Exception:
                    logger.exception("handling a message to %r on %s failed", topic, self.sock)
                if not queue:
                    return
                inbound = queue.popleft()
                self._queued -= 1
        finally:
            self._queued -= len(queue)
            if self._busy.get(topic) is queue:
                del self._busy[topic]

    async def _end_workers(self) -> None:
        """Give the topic workers still running ``cancel_grace`` to finish; cancel the rest."""
        workers = set(self._workers)
        if not workers:
            return
        grace = self.hub.limits.cancel_grace
        _, pending = await asyncio.wait(workers, timeout=grace)
        if pending:
            self.hub.stats.abandoned_callbacks += len(pending)
            logger.warning(
                "%s: %d callbacks still running %ss after the connection ended; cancelling them",
                self.sock,
                len(pending),
                grace,
            )
            for task in pending:
                task.cancel()
            await asyncio.wait(pending)

    def _ended_timeout(self) -> float:
        """The bound of a clean-up hook: ``cancel_grace``, or ``callback_timeout`` if less."""
        limits = self.hub.limits
        if limits.callback_timeout is None:
            return limits.cancel_grace
        return min(limits.callback_timeout, limits.cancel_grace)

    def _callback_failed(
        self, exc: Exception, inbound: Inbound, what: str, join_ref: str | None
    ) -> None:
        hub = self.hub
        if isinstance(exc, BusUnavailable):
            # Not a bug of the app's: the broker is away.  The client may retry later.
            logger.warning("%s on topic %r: bus unavailable: %s", what, inbound.topic, exc)
            self._put(self.protocol.error(*SERVICE_UNAVAILABLE, inbound))
            return
        hub.stats.callback_errors += 1
        if isinstance(exc, TimeoutError):
            logger.error("%s timed out for topic %r on %s", what, inbound.topic, self.sock)
        elif isinstance(exc, EncodeError):
            logger.error(
                "%s for topic %r on %s: its answer cannot be sent: %s",
                what,
                inbound.topic,
                self.sock,
                exc,
            )
        else:
            logger.error(
                "%s raised for topic %r on %s", what, inbound.topic, self.sock, exc_info=exc
            )
        if hub.error_policy == "reply":
            protocol = self.protocol
            if inbound.kind is Kind.JOIN and self._model.join_crash_refuses:
                self._put(protocol.join_refused(inbound, "join crashed", None))
            else:
                self._put(protocol.channel_crashed(inbound, join_ref))
            return
        self._failure = exc
        assert self.outbox is not None
        self.outbox.close(*CLOSE_INTERNAL)

    def _overflowed(self) -> None:
        self.hub.stats.slow_closes += 1
        self._kick(1013)

    def _kick(self, code: int) -> None:
        """End the read loop from outside it (overflow, idle timeout, close from a callback)."""
        if self._kicked is None:
            self._kicked = code
            if (
                self._reading
                and self._task is not None
                and self._task is not asyncio.current_task()
            ):
                self._task.cancel()

    def _arm_idle(self, idle: float) -> None:
        loop = asyncio.get_running_loop()

        def check() -> None:
            guard = self._guard
            assert guard is not None
            remaining = guard.last_seen + idle - time.monotonic()
            if remaining > 0:
                self._idle_handle = loop.call_later(remaining, check)
                return
            self._idle_handle = None
            logger.info("closing %s: idle for %ss", self.sock, idle)
            assert self.outbox is not None
            self.outbox.close(*CLOSE_IDLE)
            self._kick(1000)

        self._idle_handle = loop.call_later(idle, check)

    async def _cleanup(self) -> None:
        """Leave every joined topic (unsubscribe, then ``on_exit``), then ``on_disconnect``.

        Runs however the connection ended; nothing raised here escapes.
        """
        hub = self.hub
        if self._idle_handle is not None:
            self._idle_handle.cancel()
            self._idle_handle = None
        await self._end_workers()
        sock = self.sock
        while self.joined:
            topic, joined = next(iter(self.joined.items()))
            del self.joined[topic]
            await self._unsubscribe(topic, joined)
            await self._run_exit(topic, joined)
        if hub.on_disconnect_callback is not None:
            timeout = self._ended_timeout()
            try:
                async with asyncio.timeout(timeout):
                    await hub.on_disconnect_callback(sock)
            except TimeoutError:
                hub.stats.callback_errors += 1
                logger.error(
                    "on_disconnect for %s did not finish within %ss; cancelled", sock, timeout
                )
            except Exception:
                hub.stats.callback_errors += 1
                logger.exception("on_disconnect raised for %s", sock)
        if hub.presence.owns(sock.connection_id):
            await self._untrack()  # what on_exit / on_disconnect tracked, or a late track
        await hub.control.discard(self, self._on_command)
        outbox = self.outbox
        assert outbox is not None
        if self._kicked is not None and not outbox.closed:
            outbox.close(self._kicked)
        hub.stats.dropped_frames += outbox.dropped
        await outbox.drain(hub.limits.close_timeout)
        hub.stats.connections -= 1
        # The outbox wrote the close to the ASGI send itself, past Starlette's bookkeeping.
        sock.websocket.application_state = WebSocketState.DISCONNECTED
        sock._session = None


def _end_view(sock: ISocket) -> None:
    """Mark a join's socket view as ended: sending through it raises from now on."""
    if isinstance(sock, ChannelSocket):
        sock.left = True


class _Watchdog:
    """Starts the watcher of every session whose callback has run ``WATCH_AFTER``.

    One per event loop, with one timer while callbacks run (not one per callback): a
    callback costs a dict insert and a pop; the timer ticks every ``WATCH_AFTER / 2``
    while some callback is running, so a watcher starts 50 to 75 ms into a callback.
    """

    __slots__ = ("calls", "handle", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.calls: dict[Session, float] = {}
        self.handle: asyncio.TimerHandle | None = None

    def enter(self, session: Session) -> None:
        self.calls[session] = self.loop.time()
        if self.handle is None:
            self.handle = self.loop.call_later(WATCH_AFTER / 2, self.tick)

    def tick(self) -> None:
        self.handle = None
        calls = self.calls
        if not calls:
            return
        due = self.loop.time() - WATCH_AFTER
        for session, started in list(calls.items()):
            if started <= due:
                del calls[session]
                if session._in_call and session._reader.watcher is None:
                    session._reader.watcher = self.loop.create_task(session._watch())
        if calls:
            self.handle = self.loop.call_later(WATCH_AFTER / 2, self.tick)


_watchdogs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Watchdog] = (
    weakref.WeakKeyDictionary()
)


def _watchdog() -> _Watchdog:
    loop = asyncio.get_running_loop()
    dog = _watchdogs.get(loop)
    if dog is None:
        dog = _watchdogs[loop] = _Watchdog(loop)
    return dog


async def _run_to_end(coro: Coroutine[Any, Any, None]) -> None:
    """Run ``coro`` to completion even if this task is cancelled meanwhile.

    Clean-up must finish: Starlette's TestClient (anyio) cancels a finished session's
    task and re-delivers that cancellation on every loop turn.  Each one is absorbed and
    un-counted (``uncancel``) so the canceller's bookkeeping stays right; the task then
    simply ends.
    """
    task = asyncio.ensure_future(coro)
    current = asyncio.current_task()
    while True:
        try:
            await asyncio.shield(task)
            return
        except asyncio.CancelledError:
            if current is not None:
                current.uncancel()
            if not task.done():
                continue
        except Exception:
            pass
        if not task.cancelled() and task.exception() is not None:
            logger.error("clean-up failed", exc_info=task.exception())
        return
