"""RedisSocketBus: fan-out across processes and hosts through Redis pub/sub.

Install the extra (``pip install "sockethub[redis]"``) and hand the bus to the hub; the
hub's lifespan starts and closes it::

    bus = RedisSocketBus("redis://127.0.0.1:6379/0", prefix="myapp:")
    hub = SocketHub("/ws/{room}", bus=bus)
    app = Starlette(routes=[hub], lifespan=hub.lifespan)

Every process (uvicorn worker, host) runs one bus.  Its sockets joined to a topic are
local subscribers, fanned out by an :class:`~sockethub.bus.memory.InMemorySocketBus`
(so the hub's encode-once frame cache and slow-client policy apply unchanged); towards
Redis the process holds **one** ``SUBSCRIBE`` per topic, on one dedicated pub/sub
connection read by one listener task, and ``UNSUBSCRIBE``\\ s when the last local
subscriber of the topic leaves.  The Redis channel is ``prefix + topic``, so several apps
(or test runs) can share one Redis by using different prefixes.

Contract, where it differs from or sharpens the in-memory reference:

Lifecycle
    ``start()`` creates the clients, starts the listener and waits (at most about
    ``connect_timeout``) for the first connection.  If Redis is unreachable then, the bus
    still starts, logs an error, reports itself unhealthy and keeps reconnecting in the
    background.  Calling ``subscribe``/``publish`` before ``start()`` (or after
    ``close()``) raises :class:`RuntimeError`: there is no lazy start, because a listener
    started lazily lands on whatever event loop happens to be running (a test client's
    throwaway loop, say) and dies with it.  ``unsubscribe`` never raises.  ``close()``
    cancels the listener, closes every connection it opened (a ``client`` you passed in
    is left open) and forgets all subscriptions; ``start()`` may be called again later.

Payloads
    Messages cross Redis as JSON: ``{"e": event, "p": payload}``, plus ``"o":
    "<bus id>:<n>"`` when the publisher excluded one of its local callbacks.  Payloads must
    be strict JSON (no ``NaN``/``Infinity``, no lone surrogates); anything else raises
    :class:`~sockethub.EncodeError` (a :class:`TypeError`) in the publisher, before
    anything is sent.  A message on a bus channel that cannot be decoded the same way
    (another publisher's garbage, nesting too deep to parse) is logged and dropped; the
    subscriptions stay as they are.  Subscribers receive what JSON round-trips: tuples arrive as lists,
    non-string dict keys as strings.

Delivery
    Asynchronous: ``await publish(...)`` returns once Redis accepted the message; local
    subscribers of the publishing process get it when it comes back from Redis, like
    everyone else's.  ``await subscribe(...)`` returns once Redis confirmed the
    subscription (bounded by ``subscribe_timeout``), so a publish that starts after
    ``subscribe`` returned reaches the new subscriber, outage aside.  Messages that
    arrived together are delivered back to back in one turn of the event loop, so the
    hub's per-socket outboxes can write them in one go.

Ordering
    Redis executes the ``PUBLISH``\\ es of a channel one at a time and pushes them to every
    subscribed connection in that order; each bus delivers what its connection reads, one
    message at a time, in read order.  Therefore **every subscriber of a topic, in every
    process, sees the topic's messages in the same order**, and in particular the
    messages of one publisher (one task awaiting its publishes one after the other) in
    publish order.  Publishes that overlap in time (two tasks, two processes) are ordered
    by whichever reached Redis first.  There is no order across topics beyond that, and
    an outage loses messages but never reorders or duplicates them.

Sender exclusion
    ``publish(..., exclude=cb)`` skips ``cb`` in the publishing process only; every other
    subscriber in every process, including other callbacks of the publishing process,
    receives the message.  The publisher remembers the exclusion under a sequence number
    carried in the message (``"o"``) and applies it when the message comes back.  It is
    exact unless the message takes longer than a minute to come back (the remembered
    exclusion is then discarded) or more than 100,000 excluding publishes are in flight.

Failures and at-most-once delivery
    When Redis is unreachable, ``publish`` raises :class:`BusUnavailable` at once (it does
    not queue and never retries, since a retried ``PUBLISH`` could be delivered twice):
    the hub surfaces it to the code that called ``sock.publish``/``hub.publish``.  Local
    subscriptions are kept.  A burst is not an outage: publishes share a bounded pool of
    ``max_publish_connections`` connections and, when all are busy, wait their turn (up
    to ``publish_wait`` seconds, then :class:`BusUnavailable`) instead of failing or
    opening a connection each.  The listener reconnects with capped, jittered exponential
    backoff (``reconnect_initial`` .. ``reconnect_max`` seconds) on a *fresh* connection
    (never a cached one), resubscribes every topic that has local subscribers, and only
    then reports healthy again.  **Delivery is at-most-once across an outage**: messages
    published while a process's subscription connection is down are not delivered to
    that process, nor replayed later.  Redis also disconnects a subscriber whose output
    buffer overflows (``client-output-buffer-limit pubsub``); that is handled as an
    outage.

Health and supervision
    ``bus.healthy`` is True while the subscription connection is up and every topic is
    subscribed; ``await bus.health()`` also pings Redis and returns a
    :class:`RedisBusHealth`.  State changes are logged (``sockethub.bus.redis``).  The
    listener reads with short explicit timeouts on a connection whose
    ``socket_timeout`` is ``None`` (redis-py's default ``socket_timeout`` would otherwise
    kill an idle subscriber), and pings Redis when nothing has arrived for
    ``health_check_interval`` seconds; no reply within another interval counts as a lost
    connection (a half-open TCP connection is detected this way).  Any unexpected
    exception inside the listener is logged with its traceback and the listener
    reconnects; if the listener task itself dies of an exception, it is restarted.  If
    something outside cancels it (an event loop shutting down without ``close()``), the
    bus logs an error and reports itself down rather than start a task on a dying loop.
    Subscriber callbacks run on the listener task: a coroutine callback
    delays every topic of its process while it runs (the hub's callbacks never suspend).
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

from .._extras import extra_required
from ..codec import DEFAULT_CODEC, Codec, json_string
from ..errors import EncodeError
from ..history.base import PositionedMessage
from .base import BusCallback, BusMessage, BusUnavailable, MessageError, SocketBus
from .memory import BusObserver, InMemorySocketBus

with extra_required("redis", feature="sockethub.bus.redis (RedisSocketBus)"):
    from redis.asyncio import BlockingConnectionPool, Redis
    from redis.asyncio.connection import AbstractConnection, Connection, parse_url
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import RedisError

__all__ = ["BusUnavailable", "RedisBusHealth", "RedisSocketBus"]

logger = logging.getLogger(__name__)

BusState = Literal["stopped", "connecting", "up", "down", "closed"]

# A remembered exclusion is dropped after this long or beyond this many (oldest first).
_EXCLUDE_TTL = 60.0
_EXCLUDE_MAX = 100_000


T = TypeVar("T")


async def _plain_publish(client: Redis, channel: str, body: str, origin: str) -> None:
    if origin:
        body = f'{{"o":"{origin}",{body[1:]}'
    await client.publish(channel, body)


def _positioned(topic: str, event: str, payload: Any, position: Any) -> BusMessage:
    """The message of a topic with history: ``"h": [offset, epoch]`` (see history.redis)."""
    offset, epoch = position
    if isinstance(offset, bool) or not isinstance(offset, int) or not isinstance(epoch, str):
        raise TypeError("bad position")
    return PositionedMessage(topic, event, payload, offset, epoch)


@dataclass(frozen=True, slots=True)
class RedisBusHealth:
    """A snapshot of a :class:`RedisSocketBus`'s health, from :meth:`~RedisSocketBus.health`.

    ``healthy`` is True when the subscription connection is up with every topic
    subscribed and (if it was checked) Redis answered ``PING``.  ``state`` is one of
    ``"stopped"`` (never started), ``"connecting"`` (connecting or resubscribing),
    ``"up"``, ``"down"`` (waiting to reconnect) and ``"closed"``.  ``down_for`` is how many
    seconds the bus has been unhealthy since it last was healthy (None while up).
    ``reconnects`` counts recoveries since ``start()``.  ``ping_ok`` is None when Redis
    was not pinged (the bus is not running).
    """

    healthy: bool
    state: BusState
    topics: int
    subscriptions: int
    reconnects: int
    last_error: str | None
    down_for: float | None
    ping_ok: bool | None


class RedisSocketBus(SocketBus):
    """A :class:`~sockethub.bus.base.SocketBus` that fans out across processes via Redis.

    ``url`` is a redis-py URL (``redis://``, ``rediss://``, ``unix://``), ignored when
    ``client`` (a ``redis.asyncio.Redis`` you own and close) is given; the subscription
    connection then copies that client's connection settings.  ``prefix`` is prepended
    to every topic to form the Redis channel.  ``observer`` receives the local fan-out
    events, as for the in-memory bus.  ``codec`` (default: the default codec) encodes
    what ``publish`` is given and decodes what comes from Redis; a hub's publishes arrive
    already encoded by the hub's codec.  Timeouts are in seconds: ``connect_timeout`` for
    opening connections, ``command_timeout`` for a ``PUBLISH``/``PING`` reply,
    ``subscribe_timeout`` for the confirmation ``subscribe`` waits for,
    ``health_check_interval`` for the idle-connection probe described in the module
    docstring.  Publishing uses at most ``max_publish_connections`` connections (unless
    ``client`` is given: its own pool is used); a publish that finds them all busy waits
    up to ``publish_wait`` seconds for one.  See the module docstring for the full
    contract.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "sockethub:",
        client: Redis | None = None,
        observer: BusObserver | None = None,
        codec: Codec | None = None,
        connect_timeout: float = 2.0,
        command_timeout: float = 5.0,
        subscribe_timeout: float = 5.0,
        health_check_interval: float = 15.0,
        reconnect_initial: float = 0.1,
        reconnect_max: float = 5.0,
        max_publish_connections: int = 16,
        publish_wait: float = 5.0,
    ) -> None:
        if not isinstance(max_publish_connections, int) or max_publish_connections < 1:
            raise ValueError(
                "RedisSocketBus: max_publish_connections must be an int >= 1, "
                f"got {max_publish_connections!r}"
            )
        for name, value in (
            ("connect_timeout", connect_timeout),
            ("command_timeout", command_timeout),
            ("subscribe_timeout", subscribe_timeout),
            ("health_check_interval", health_check_interval),
            ("reconnect_initial", reconnect_initial),
            ("reconnect_max", reconnect_max),
            ("publish_wait", publish_wait),
        ):
            if not value > 0:
                raise ValueError(f"RedisSocketBus: {name} must be > 0, got {value!r}")
        if not isinstance(prefix, str):
            raise TypeError(f"RedisSocketBus: prefix must be a str, got {prefix!r}")
        self._url = url
        self._codec = DEFAULT_CODEC if codec is None else codec
        self._prefix = prefix
        self._client_arg = client
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._subscribe_timeout = subscribe_timeout
        self._health_check_interval = health_check_interval
        self._reconnect_initial = reconnect_initial
        self._reconnect_max = reconnect_max
        self._max_publish_connections = max_publish_connections
        self._publish_wait = publish_wait
        self._local = InMemorySocketBus(observer=observer)
        self.id: str = uuid.uuid4().hex
        """Process-unique id of this bus, carried by messages that exclude a callback."""

        self._state: BusState = "stopped"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Redis | None = None
        self._listener: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None
        # The subscription connection while it is connected (set before resubscribing).
        self._conn: AbstractConnection | None = None
        # Topics SUBSCRIBEd on the current connection (what we asked for, not yet what
        # Redis confirmed); topics of the reconnect batch still unconfirmed; per topic,
        # the confirmations awaited by subscribe() calls, oldest first.
        self._redis_topics: set[str] = set()
        self._resubscribing: set[str] = set()
        self._confirm: dict[str, collections.deque[asyncio.Future[None]]] = {}
        self._excludes: dict[int, tuple[BusCallback, float]] = {}
        # How to open a subscription connection; settled by start().
        self._conn_class: type[AbstractConnection] = Connection
        self._conn_kwargs: dict[str, Any] = {}
        self._seq = itertools.count(1)
        self._last_error: str | None = None
        self._down_since: float | None = None
        self.reconnects = 0
        """How many times the bus recovered from a lost connection since ``start()``."""

    # -- the SocketBus protocol ---------------------------------------------------------

    async def subscribe(self, topic: str, callback: BusCallback) -> None:
        """Subscribe ``callback`` to ``topic`` (a no-op if it already is).

        The local subscription is immediate and survives outages.  The first local
        subscriber of a topic makes the process ``SUBSCRIBE`` to ``prefix + topic``;
        this call returns once Redis confirmed it, after ``subscribe_timeout`` (logged),
        or at once while Redis is down (the topic is subscribed on reconnect).
        """
        self._check_running("subscribe")
        self._local.add(topic, callback)
        await self._sync_topic(topic)
        pending = self._confirm.get(topic)
        if pending and asyncio.current_task() is not self._listener:
            # (A callback running on the listener must not wait for the listener.)
            waiter = pending[-1]
            done, _ = await asyncio.wait({waiter}, timeout=self._subscribe_timeout)
            if not done:
                logger.warning(
                    "redis bus: no confirmation of SUBSCRIBE %r after %ss; "
                    "the subscription is kept and may miss messages meanwhile",
                    self._prefix + topic,
                    self._subscribe_timeout,
                )

    async def unsubscribe(self, topic: str, callback: BusCallback) -> None:
        """Remove ``callback`` from ``topic``; it receives nothing more from it.

        When it was the topic's last local subscriber the process ``UNSUBSCRIBE``\\ s
        (without waiting for the confirmation).  Unknown pairs are ignored; never raises.
        """
        self._local.remove(topic, callback)
        if self._state not in ("stopped", "closed"):
            await self._sync_topic(topic)

    async def publish(
        self, topic: str, event: str, payload: Any, *, exclude: BusCallback | None = None
    ) -> None:
        """Publish to every subscriber of ``topic`` in every process, except ``exclude``.

        Returns once Redis accepted the message; delivery (local included) follows
        asynchronously.  Raises :class:`~sockethub.EncodeError` (a ``TypeError``) if
        ``payload`` is not strict JSON (nothing was sent) and :class:`BusUnavailable` if
        Redis is unreachable, the bus is reconnecting, or no publishing connection came
        free within ``publish_wait`` (nothing was published, unless the connection broke
        while the ``PUBLISH`` was in flight).
        """
        self._check_running("publish")
        await self._publish_encoded(self._encode(topic, event, payload), exclude, _plain_publish)

    async def publish_message(
        self, message: BusMessage, *, exclude: BusCallback | None = None
    ) -> None:
        """:meth:`publish` for a message whose payload the publisher encoded already
        (the hub's way): its JSON text goes into the Redis message as it is."""
        self._check_running("publish")
        await self._publish_encoded(message, exclude, _plain_publish)

    async def publish_via(
        self,
        topic: str,
        event: str,
        payload: Any,
        exclude: BusCallback | None,
        send: Callable[[Redis, str, str, str], Awaitable[T]],
        *,
        payload_json: str | None = None,
    ) -> T:
        """Publish through ``send(client, channel, body, origin)`` instead of ``PUBLISH``.

        For stores that must publish and write in one atomic step (history's script):
        the checks, the encoding, the sender exclusion and the errors are those of
        :meth:`publish`.  ``body`` is the message's JSON (``{"e": ..., "p": ...}``) and
        ``origin`` the exclusion tag the message must carry as ``"o"`` (``""`` for none);
        ``send`` must deliver a message the listener understands on ``channel``.
        ``payload_json`` is the payload already encoded (by the hub's codec), if it was.
        """
        self._check_running("publish")
        if payload_json is None:
            message = self._encode(topic, event, payload)
        else:
            message = BusMessage(topic, event, payload, payload_json)
        return await self._publish_encoded(message, exclude, send)

    def _encode(self, topic: str, event: str, payload: Any) -> BusMessage:
        try:
            return BusMessage.encode(self._codec, topic, event, payload)
        except EncodeError as exc:
            raise EncodeError(
                f"RedisSocketBus: the payload published to topic {topic!r} (event "
                f"{event!r}) is not JSON-serialisable: {exc}"
            ) from exc

    async def _publish_encoded(
        self,
        message: BusMessage,
        exclude: BusCallback | None,
        send: Callable[[Redis, str, str, str], Awaitable[T]],
    ) -> T:
        topic = message.topic
        payload_json = message.payload_json
        if payload_json is None:
            try:
                payload_json = self._codec.encode(message.payload)
            except EncodeError as exc:
                raise EncodeError(
                    f"RedisSocketBus: the payload published to topic {topic!r} (event "
                    f"{message.event!r}) is not JSON-serialisable: {exc}"
                ) from exc
        seq = 0
        origin = ""
        if exclude is not None and self._local.subscriber_count(topic):
            seq = next(self._seq)
            origin = f"{self.id}:{seq}"
        data = f'{{"e":{json_string(message.event)},"p":{payload_json}}}'
        if self._state != "up":
            raise BusUnavailable(
                f"Redis bus is {self._state} ({self._last_error or 'no connection yet'}); "
                f"message to topic {topic!r} not published"
            )
        client = self._client
        assert client is not None
        if seq and exclude is not None:
            self._remember_exclusion(seq, exclude)
        try:
            return await send(client, self._prefix + topic, data, origin)
        except (RedisError, OSError) as exc:
            if seq:
                self._excludes.pop(seq, None)
            raise BusUnavailable(
                f"Redis bus: publishing to {self._prefix + topic!r} failed "
                f"({type(exc).__name__}: {exc}); message not published"
            ) from exc

    async def start(self) -> None:
        """Connect and start the listener; wait at most about ``connect_timeout``.

        Idempotent while running.  Does not raise when Redis is unreachable: the bus
        starts unhealthy, logs an error, and keeps reconnecting.
        """
        if self._state not in ("stopped", "closed"):
            return
        loop = asyncio.get_running_loop()
        self._loop = loop
        if self._client_arg is not None:
            self._client = self._client_arg
            pool = self._client_arg.connection_pool
            conn_class: type[AbstractConnection] = pool.connection_class
            # Copy the connection settings, not the pool's own machinery (redis-py 6+
            # puts maintenance-notification handlers and bookkeeping in there).
            conn_kwargs: dict[str, Any] = {
                key: value
                for key, value in pool.connection_kwargs.items()
                if not key.startswith(("maint", "orig_", "himport", "event_dispatcher"))
            }
        else:
            # Bounded and blocking: under a burst, publishes queue for a connection
            # rather than fail (redis-py's default pool refuses the 101st) or open one
            # connection each.
            pool = BlockingConnectionPool.from_url(
                self._url,
                max_connections=self._max_publish_connections,
                timeout=self._publish_wait,
                retry=Retry(NoBackoff(), 0),  # a retried PUBLISH may be delivered twice
                socket_connect_timeout=self._connect_timeout,
                socket_timeout=self._command_timeout,
            )
            self._client = Redis.from_pool(pool)
            conn_kwargs = dict(parse_url(self._url))
            conn_class = conn_kwargs.pop("connection_class", Connection)
        conn_kwargs.update(
            # No socket_timeout: an idle subscriber is healthy; reads pass explicit
            # timeouts instead.  No retries: reconnecting is the listener's job.
            socket_timeout=None,
            socket_connect_timeout=self._connect_timeout,
            retry=Retry(NoBackoff(), 0),
            retry_on_timeout=False,
            retry_on_error=[],
            health_check_interval=0,
            protocol=2,
            decode_responses=False,
        )
        self._conn_class = conn_class
        self._conn_kwargs = conn_kwargs
        self.reconnects = 0
        self._last_error = None
        self._down_since = time.monotonic()
        self._ready = loop.create_future()
        self._state = "connecting"
        self._spawn_listener()
        await asyncio.wait({self._ready}, timeout=self._connect_timeout + 1.0)
        if not self.healthy:
            logger.error(
                "redis bus: could not connect to %s at start (%s); retrying in the "
                "background, publishes fail until then",
                self._where(),
                self._last_error or "timed out",
            )

    async def close(self) -> None:
        """Stop the listener, close the connections the bus opened, forget subscriptions.

        Leaves no task behind.  A ``client`` passed to the constructor stays open.
        """
        if self._state in ("stopped", "closed"):
            await self._local.close()
            return
        self._set_state("closed")
        task, self._listener = self._listener, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task})
            if not task.cancelled() and task.exception() is not None:
                logger.debug("redis bus: listener ended with %r", task.exception())
        await self._drop_connection(self._conn)
        client, self._client = self._client, None
        if client is not None and self._client_arg is None:
            await client.aclose()
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(None)
        self._excludes.clear()
        await self._local.close()

    # -- health and what an operator can read -------------------------------------------

    @property
    def healthy(self) -> bool:
        """True while the subscription connection is up and every topic is subscribed."""
        return self._state == "up"

    @property
    def state(self) -> BusState:
        """``stopped``, ``connecting``, ``up``, ``down`` or ``closed``."""
        return self._state

    @property
    def client(self) -> Redis | None:
        """The command client (publishing pool) while the bus runs, else None."""
        return self._client

    @property
    def prefix(self) -> str:
        """The channel prefix: the Redis channel of ``topic`` is ``prefix + topic``."""
        return self._prefix

    async def health(self) -> RedisBusHealth:
        """Report the bus's state; while running, also ``PING`` Redis (bounded)."""
        ping_ok: bool | None = None
        client = self._client
        if client is not None and self._state not in ("stopped", "closed"):
            try:
                await asyncio.wait_for(client.ping(), self._command_timeout)
                ping_ok = True
            except (RedisError, OSError):
                ping_ok = False
        down_since = self._down_since
        return RedisBusHealth(
            healthy=self._state == "up" and ping_ok is not False,
            state=self._state,
            topics=len(self._local.topics()),
            subscriptions=self._local.subscription_count,
            reconnects=self.reconnects,
            last_error=self._last_error,
            down_for=None if down_since is None else time.monotonic() - down_since,
            ping_ok=ping_ok,
        )

    def subscriber_count(self, topic: str) -> int:
        """Live local subscriptions of ``topic`` (this process only)."""
        return self._local.subscriber_count(topic)

    def topics(self) -> dict[str, int]:
        """Every topic with a local subscriber, and how many it has (this process)."""
        return self._local.topics()

    @property
    def subscription_count(self) -> int:
        """All live local subscriptions, over every topic (this process)."""
        return self._local.subscription_count

    @property
    def dropped_subscribers(self) -> int:
        """Local callbacks removed because they raised during delivery."""
        return self._local.dropped_subscribers

    # -- subscriptions towards Redis ----------------------------------------------------

    async def _sync_topic(self, topic: str) -> None:
        """Make Redis's subscription to ``topic`` match whether it has local subscribers.

        The bookkeeping and the write of the command happen without suspending, so
        commands reach Redis in the order the decisions were made.
        """
        conn = self._conn
        if conn is None:
            return  # down: the next connection subscribes every local topic
        wanted = self._local.subscriber_count(topic) > 0
        if wanted == (topic in self._redis_topics):
            return
        if wanted:
            self._redis_topics.add(topic)
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._confirm.setdefault(topic, collections.deque()).append(waiter)
            await self._send(conn, "SUBSCRIBE", self._prefix + topic)
        else:
            self._redis_topics.discard(topic)
            await self._send(conn, "UNSUBSCRIBE", self._prefix + topic)

    async def _send(self, conn: AbstractConnection, *args: str) -> None:
        """Write a command on the subscription connection, if it is still the live one.

        Never reconnects (redis-py would, silently, on a disconnected connection) and
        never raises: a broken connection is the listener's to notice and replace.
        """
        if conn is not self._conn or not conn.is_connected:
            return
        try:
            await conn.send_command(*args, check_health=False)
        except (RedisError, OSError) as exc:
            logger.debug("redis bus: could not send %s: %r", args[0], exc)

    def _confirmed(self, topic: str) -> None:
        if topic in self._resubscribing:
            self._resubscribing.discard(topic)
            if not self._resubscribing and self._state == "connecting":
                self._set_up()
            return
        pending = self._confirm.get(topic)
        if pending:
            waiter = pending.popleft()
            if not waiter.done():
                waiter.set_result(None)
            if not pending:
                del self._confirm[topic]

    def _remember_exclusion(self, seq: int, callback: BusCallback) -> None:
        now = time.monotonic()
        excludes = self._excludes
        while excludes:
            oldest = next(iter(excludes))
            if len(excludes) < _EXCLUDE_MAX and now - excludes[oldest][1] < _EXCLUDE_TTL:
                break
            del excludes[oldest]
        excludes[seq] = (callback, now)

    # -- the listener -------------------------------------------------------------------

    def _spawn_listener(self) -> None:
        assert self._loop is not None
        task = self._loop.create_task(self._listen_forever(), name="sockethub-redis-listener")
        task.add_done_callback(self._listener_done)
        self._listener = task

    def _listener_done(self, task: asyncio.Task[None]) -> None:
        """Supervise the listener task: it must only ever end through ``close()``."""
        if task is not self._listener or self._state == "closed":
            return
        if task.cancelled():
            # Cancelled by someone else (event loop shutdown without close(), say).
            # Restarting here could leave a task pending on a dying loop.
            self._mark_down(RuntimeError("listener task was cancelled"))
            logger.error(
                "redis bus: the listener task was cancelled without close(); the bus "
                "stays down until close() and start() are called"
            )
            self._listener = None
            return
        exc = task.exception()
        logger.error("redis bus: listener task died (%r); restarting it", exc, exc_info=exc)
        self._mark_down(exc or RuntimeError("listener task returned"))
        self._spawn_listener()

    async def _listen_forever(self) -> None:
        attempt = 0
        while True:
            conn: AbstractConnection | None = None
            try:
                conn = self._conn_class(**self._conn_kwargs)  # fresh, never a cached one
                self._set_state("connecting")
                await conn.connect()  # type: ignore[no-untyped-call]
                await self._resubscribe(conn)
                attempt = 0
                await self._read_loop(conn)
            except (RedisError, OSError) as exc:  # OSError covers TimeoutError
                self._mark_down(exc)
            except Exception as exc:
                logger.exception("redis bus: unexpected error in the listener; reconnecting")
                self._mark_down(exc)
            finally:
                await self._drop_connection(conn)
            delay = min(self._reconnect_max, self._reconnect_initial * 2**attempt)
            delay = random.uniform(delay / 2, delay)
            attempt = min(attempt + 1, 30)
            logger.debug("redis bus: reconnecting in %.2fs", delay)
            await asyncio.sleep(delay)

    async def _resubscribe(self, conn: AbstractConnection) -> None:
        """Adopt a fresh connection and subscribe every topic with local subscribers."""
        self._conn = conn
        topics = set(self._local.topics())
        self._redis_topics = set(topics)
        self._resubscribing = set(topics)
        if topics:
            await self._send(conn, "SUBSCRIBE", *(self._prefix + t for t in topics))
        else:
            self._set_up()

    async def _read_loop(self, conn: AbstractConnection) -> None:
        """Read and dispatch until the connection fails (raises; never returns)."""
        loop = asyncio.get_running_loop()
        interval = self._health_check_interval
        poll = min(1.0, interval)
        last_rx = loop.time()
        ping_sent: float | None = None
        while True:
            response = await conn.read_response(timeout=poll, disconnect_on_error=False)
            now = loop.time()
            if response is None:  # read timed out: probe an idle connection
                if ping_sent is not None:
                    if now - ping_sent > interval:
                        raise RedisConnectionError(
                            f"no reply to PING within {interval}s on the subscription connection"
                        )
                elif now - last_rx >= interval:
                    ping_sent = now
                    await self._send(conn, "PING")
                continue
            last_rx = now
            ping_sent = None
            await self._handle(response)

    async def _handle(self, response: Any) -> None:
        if isinstance(response, list) and response:
            kind = response[0]
            if kind == b"message" and len(response) == 3:
                await self._dispatch(response[1], response[2])
                return
            if kind == b"subscribe" and len(response) == 3:
                self._confirmed(self._topic_of(response[1]))
                return
            if kind in (b"unsubscribe", b"pong"):
                return
        elif response == b"PONG":
            return
        logger.debug("redis bus: ignoring unexpected reply %r", response)

    def _topic_of(self, channel: bytes) -> str:
        return channel.decode("utf-8", "surrogateescape")[len(self._prefix) :]

    async def _dispatch(self, channel: bytes, data: bytes) -> None:
        """Deliver one message from Redis to the local subscribers of its topic."""
        topic = self._topic_of(channel)
        try:
            # Strict, like a client frame: what is delivered must be sendable again.
            body = self._codec.decode(data)
            event = body["e"]
            payload = body["p"]
            origin = body.get("o")
            position = body.get("h")
            if not isinstance(event, str) or not isinstance(origin, str | None):
                raise TypeError("bad field types")
            if position is None:
                message = BusMessage(topic, event, payload)
            else:
                message = _positioned(topic, event, payload, position)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            logger.warning(
                "redis bus: dropping a malformed message on channel %r (%s): %.200r",
                channel,
                exc,
                data,
            )
            return
        exclude: BusCallback | None = None
        if origin is not None:
            bus_id, _, seq = origin.partition(":")
            if bus_id == self.id and seq.isdigit():
                entry = self._excludes.pop(int(seq), None)
                if entry is not None:
                    exclude = entry[0]
        try:
            await self._local.deliver(message, exclude=exclude)
        except MessageError as exc:
            # The in-memory bus re-raises this to the publisher; here the publisher has
            # returned long ago (and may live in another process), so log it instead.
            logger.warning(
                "redis bus: a message to topic %r (event %r) could not be delivered here: %s",
                topic,
                event,
                exc,
            )
        if topic in self._redis_topics and not self._local.subscriber_count(topic):
            await self._sync_topic(topic)  # its last subscribers were dropped

    # -- state ----------------------------------------------------------------------------

    async def _drop_connection(self, conn: AbstractConnection | None) -> None:
        """Forget ``conn`` and everything that was only true on it; disconnect it."""
        if conn is None:
            return
        if self._conn is conn:
            self._conn = None
            self._redis_topics.clear()
            self._resubscribing.clear()
            self._excludes.clear()  # whatever was in flight will not come back
            for pending in self._confirm.values():
                for waiter in pending:
                    if not waiter.done():
                        waiter.set_result(None)
            self._confirm.clear()
        try:
            await conn.disconnect(nowait=True)
        except (RedisError, OSError) as exc:
            logger.debug("redis bus: error while disconnecting: %r", exc)

    def _set_state(self, state: BusState) -> None:
        if self._state != "closed":  # only start() reopens a closed bus
            self._state = state

    def _set_up(self) -> None:
        recovered = self._last_error is not None
        self._set_state("up")
        if self._state != "up":
            return
        self._down_since = None
        if recovered:
            self.reconnects += 1
            logger.warning(
                "redis bus: reconnected to %s; resubscribed %d topic(s) (messages "
                "published meanwhile were not delivered here)",
                self._where(),
                len(self._redis_topics),
            )
        else:
            logger.info("redis bus: connected to %s", self._where())
        self._last_error = None
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(None)

    def _mark_down(self, exc: BaseException) -> None:
        if self._state == "closed":
            return
        error = f"{type(exc).__name__}: {exc}"
        if self._state == "up":
            self._down_since = time.monotonic()
            logger.warning("redis bus: lost the connection to %s: %s", self._where(), error)
        else:
            logger.debug("redis bus: connecting to %s failed: %s", self._where(), error)
        self._last_error = error
        self._set_state("down")
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(None)

    def _check_running(self, what: str) -> None:
        if self._state in ("stopped", "closed"):
            raise RuntimeError(
                f"RedisSocketBus.{what}() called while the bus is {self._state}: call "
                "`await bus.start()` first (SocketHub.lifespan does it: "
                "Starlette(routes=[hub], lifespan=hub.lifespan))"
            )
        if asyncio.get_running_loop() is not self._loop:
            raise RuntimeError(
                f"RedisSocketBus.{what}() called from another event loop than the one "
                "start() ran on"
            )

    def _where(self) -> str:
        if self._client_arg is not None:
            kwargs = self._client_arg.connection_pool.connection_kwargs
            return f"{kwargs.get('host', kwargs.get('path', '?'))}:{kwargs.get('port', '')}"
        parts = urlsplit(self._url)
        if parts.password is not None:
            netloc = parts.netloc.rpartition("@")[2]
            user = f"{parts.username}:***@" if parts.username else ":***@"
            parts = parts._replace(netloc=user + netloc)
        return urlunsplit(parts)

    def __repr__(self) -> str:
        return f"RedisSocketBus({self._where()!r}, prefix={self._prefix!r}, state={self._state!r})"
