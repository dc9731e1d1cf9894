"""SocketHub: the high-level route with channels, hooks, composition and a pub/sub bus."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from starlette import routing as starlette_routing
from starlette.types import Receive, Scope, Send

from .bus.base import BusCallback, BusMessage, SocketBus
from .bus.memory import InMemorySocketBus
from .callbacks import ConnectionHook, HookT
from .channel import Channel, PresenceChoice
from .codec import DEFAULT_CODEC, Codec
from .control import HubControl
from .handshake import OriginPolicy
from .history import store_for
from .history.base import History, HistoryPage, HistoryStore, StreamPosition
from .hooks import ConnectionHooks
from .limits import HubLimits
from .presence import PresenceStore, PresenceTracker, default_store
from .protocols.base import WireProtocol
from .protocols.envelope import EnvelopeProtocol
from .protocols.phoenix import VSN as PHOENIX_VSN
from .protocols.phoenix import PhoenixProtocol
from .routing import MiddlewareLike, RouteBase, RouteEndpoint
from .session import ErrorPolicy, Session
from .socket import ISocket
from .topics import TopicTable

Ordering = Literal["topic", "connection"]
"""How a connection's messages wait for each other: per topic, or all in one line."""

__all__ = ["HubStats", "SocketHub"]

logger = logging.getLogger(__name__)

ProtocolChoice = WireProtocol | Callable[[ISocket], WireProtocol]

ENVELOPE = EnvelopeProtocol()
PHOENIX = PhoenixProtocol()


def by_vsn(sock: ISocket) -> WireProtocol:
    """The default protocol choice: Phoenix V2 when the client connects with
    ``?vsn=2.0.0`` (as phoenix.js does), else the 0.1 envelope."""
    return PHOENIX if sock.query_params.get("vsn") == PHOENIX_VSN else ENVELOPE


@dataclass(slots=True)
class HubStats:
    """Counters an operator can read (``hub.stats``)."""

    connections: int = 0
    """Connections open now (accepted, not yet cleaned up)."""
    total_connections: int = 0
    """Connections accepted since start."""
    refused: int = 0
    """Handshakes refused (origin, ``allow_if``, ``on_connect`` closing)."""
    callback_errors: int = 0
    """Callbacks that raised or timed out."""
    slow_closes: int = 0
    """Connections closed with 1013 because their outbound queue overflowed."""
    dropped_frames: int = 0
    """Frames discarded by the ``drop_oldest`` overflow policy (counted at disconnect)."""
    abandoned_callbacks: int = 0
    """Callbacks cancelled because their connection ended while they ran (after
    ``HubLimits.cancel_grace``)."""


class SocketHub(RouteBase, starlette_routing.WebSocketRoute):
    """A WebSocket route driven by channels: no handler function to write.

    ::

        hub = SocketHub("/ws")
        room = hub.channel("room:{room_id}")

        @room.on_receive("say")
        async def say(payload, sock):
            await sock.publish(payload, event="said", exclude_self=True)

        app = Starlette(routes=[hub], lifespan=hub.lifespan)

    A connection runs ``on_connect`` (before the handshake is accepted), then handles the
    client's messages, each topic's in order (see ``ordering``): ``join`` / ``leave`` /
    any other event on a joined topic, each dispatched to the channel whose pattern
    matches the topic; when it ends,
    however it ends, ``on_exit`` runs for every joined topic and then ``on_disconnect``.

    Arguments:

    * ``path``, ``name``, ``middlewares``: as for any sockethub route.
    * ``bus``: the pub/sub backend (default: a new :class:`InMemorySocketBus`).
    * ``limits``: :class:`HubLimits` (frame size, topics per connection, rate, timeouts,
      outbound queue bound and slow-client policy).
    * ``allowed_origins``: if given, browser handshakes whose ``Origin`` is not listed are
      refused with HTTP 403 (cross-site WebSocket hijacking).  ``"*"`` allows any.
      ``allow_missing_origin`` (default True) admits clients that send no ``Origin``:
      browsers always send it, so only non-browser clients are let in that way.
    * ``error_policy``: what an unexpected exception in a channel callback does:
      ``"reply"`` (default: log it, send the client a generic error frame, keep the
      connection), ``"close"`` (close with 1011), ``"raise"`` (close with 1011 and re-raise
      to the server after clean-up, as 0.1 did).
    * ``protocol``: the wire protocol, or a function ``sock -> protocol`` choosing one per
      connection.  Default: per connection, :class:`~sockethub.protocols.PhoenixProtocol`
      when the query string has ``vsn=2.0.0`` (phoenix.js sends it), else the 0.1 envelope.
      ``protocol=EnvelopeProtocol()`` (or ``PhoenixProtocol()``) fixes one for every
      connection.
    * ``per_join_sockets`` (default True): each join's callbacks get their own
      :class:`~sockethub.ChannelSocket`, bound to the joined topic for as long as the join
      lives (equal to the connection's socket).  False gives every callback the
      connection's one socket, its ``topic``/``params`` set before each callback, as 0.1
      did (the deprecated facade uses this).
    * ``codec``: encodes and decodes the JSON of every frame, for both protocols
      (default: :class:`~sockethub.codec.JSONCodec`, Python's ``json``;
      :class:`~sockethub.codec.OrjsonCodec` is faster).  Both are strict, and convert
      datetimes, UUIDs, decimals, enums, dataclasses and pydantic models the same way
      (:func:`~sockethub.codec.encode_default`).

    * ``ordering``: ``"topic"`` (default): each joined topic handles its own messages in
      order, and topics do not wait for each other: while a callback of one topic runs
      long, the messages of other topics are handled meanwhile (each topic's in order, a
      task per busy topic, none while topics are idle).  ``"connection"``: one message of
      the connection at a time, as 0.1 did (the facade uses it).  Either way, control
      frames (Phoenix heartbeats) are answered while a callback runs, and frames to the
      client leave in the order they were produced.
    * ``history_store``: where channels registered with ``history=`` keep their streams
      (default: the store that goes with ``bus``, see :func:`sockethub.history.store_for`).
    * ``presence``: where presences live (a :class:`~sockethub.presence.PresenceStore`);
      default: :class:`~sockethub.presence.RedisPresence` on a Redis bus (same server and
      prefix), else :class:`~sockethub.presence.InMemoryPresence`.

    Joins: ``on_join``'s return value is the join reply's ``response`` (Phoenix's
    ``{:ok, reply, socket}``; in the 0.1 envelope, sent when the join carried a ``ref``).
    On a Phoenix connection a channel whose callback raised is left at once, as in
    Phoenix: the client gets ``phx_error``, ``on_exit`` runs, the topic is unsubscribed,
    and the client's rejoin is a fresh join.

    Hosting: a hub is a Starlette ``WebSocketRoute`` whose ``endpoint`` (an ASGI app,
    :class:`~sockethub.routing.RouteEndpoint`) serves it, so it goes in
    ``Starlette(routes=[...])``, ``Mount``, ``app.router.routes`` and an ``APIRouter``
    (``router.routes.append(hub)``) that FastAPI's ``include_router(router,
    prefix=...)`` copies under its prefix, path parameters of the prefix included.
    """

    # Starlette's WebSocketRoute compares routes by path and endpoint; a hub is itself.
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __init__(
        self,
        path: str = "",
        *,
        middlewares: Sequence[MiddlewareLike] | None = None,
        bus: SocketBus | None = None,
        name: str | None = None,
        limits: HubLimits | None = None,
        allowed_origins: Iterable[str] | None = None,
        allow_missing_origin: bool = True,
        error_policy: ErrorPolicy = "reply",
        protocol: ProtocolChoice | None = None,
        per_join_sockets: bool = True,
        ordering: Ordering = "topic",
        codec: Codec | None = None,
        history_store: HistoryStore | None = None,
        presence: PresenceStore | None = None,
    ) -> None:
        super().__init__(path, name=name, middlewares=middlewares)
        self.endpoint = RouteEndpoint(self)
        """The ASGI app serving this hub where another route matched the connection."""
        self.codec: Codec = DEFAULT_CODEC if codec is None else codec
        self._bound: dict[int, tuple[WireProtocol, WireProtocol]] = {}
        if error_policy not in ("reply", "close", "raise"):
            raise ValueError(
                f"error_policy must be 'reply', 'close' or 'raise', got {error_policy!r}"
            )
        self.bus: SocketBus = bus if bus is not None else InMemorySocketBus()
        self.limits = limits if limits is not None else HubLimits()
        self.error_policy: ErrorPolicy = error_policy
        self.stats = HubStats()
        self.held = 0
        """Connections of this hub in this process, from handshake to clean-up."""
        self.on_connect_callback: ConnectionHook | None = None
        self.on_disconnect_callback: ConnectionHook | None = None
        self._hooks = ConnectionHooks()
        self._table: TopicTable[Channel] = TopicTable()
        self._channels: list[Channel] = []
        self._origin_policy = OriginPolicy(allowed_origins, allow_missing_origin)
        self._protocol_choice: ProtocolChoice = protocol if protocol is not None else by_vsn
        if ordering not in ("topic", "connection"):
            raise ValueError(f"ordering must be 'topic' or 'connection', got {ordering!r}")
        if ordering == "topic" and not per_join_sockets:
            raise ValueError(
                "ordering='topic' runs callbacks of several topics at once and needs "
                "per_join_sockets=True; pass ordering='connection' with one shared socket"
            )
        self.per_join_sockets = per_join_sockets
        self.ordering: Ordering = ordering
        self._history_store: HistoryStore | None = history_store
        self._with_history = False
        self.presence = PresenceTracker(
            presence if presence is not None else default_store(self.bus), self.bus
        )
        """Who is on each topic (``hub.presence.list(topic)``); see :mod:`sockethub.presence`."""
        self.control = HubControl(self)

    # -- registration ---------------------------------------------------------------------

    def channel(
        self,
        pattern: str,
        *,
        history: History | None = None,
        presence: PresenceChoice = False,
    ) -> Channel:
        """Register and return a channel for ``pattern`` (``"room:{room_id}"``).

        ``presence=True``: a socket that joins one of its topics receives the topic's
        whole presence state (``presence_state``) right after its join reply, and then
        every ``presence_diff``, as a Phoenix channel that pushes ``Presence.list``.
        ``presence=lambda sock: ...`` decides per join, once ``on_join`` returned (a join
        payload flag, say): a join it declines gets the channel's frames as without it.

        The pattern is validated now: a bad placeholder, unbalanced braces, a repeated
        name, or a pattern that duplicates (or has the same shape as) one already on this
        hub raises ``ValueError``.  ``history=History(size=..., ttl=...)`` makes its topics
        keep their latest publications, each with a position, for clients that rejoin
        (see ``docs/history.md``); a hub whose bus has no matching history store (and no
        ``history_store``) raises ``TypeError`` here.
        """
        channel = Channel(pattern, history=history, presence=presence)
        if history is not None:
            self.history_store  # noqa: B018 (fails now, not at the first publish)
        self._add(channel)
        return channel

    def include(self, *hubs: SocketHub, parent_prefix: str = "") -> None:
        """Add the channels of other hubs to this one, topic patterns prefixed.

        ``hub.include(rooms, parent_prefix="chat:")`` makes ``rooms``' channel
        ``"room:{id}"`` reachable as ``"chat:room:{id}"`` here, with its callbacks.  Only
        channels are taken, as they are at the time of the call: the included hubs' path,
        hooks, middlewares, limits and bus are not used.  A resulting pattern that clashes
        with one already here raises ``ValueError`` and adds nothing.
        """
        additions = [ch.prefixed(parent_prefix) for hub in hubs for ch in hub.channels]
        if any(ch.history is not None for ch in additions):
            self.history_store  # noqa: B018 (a TypeError now if the bus has no store)
        trial: TopicTable[Channel] = TopicTable()
        for channel in (*self._channels, *additions):
            trial.add(channel.pattern, channel)
        for channel in additions:
            self._add(channel)

    def _add(self, channel: Channel) -> None:
        self._table.add(channel.pattern, channel)
        self._channels.append(channel)
        if channel.history is not None:
            self._with_history = True

    def on_connect(self, func: HookT) -> HookT:
        """Register ``async def on_connect(sock, **connection_params) -> None``.

        Runs for each new connection before the handshake is accepted; path parameters
        are in ``sock.path_params``, the query string in ``sock.query_params``.
        ``await sock.allow_if(condition, code, reason)`` refuses the connection (closed
        with ``code``; servers such as uvicorn answer a close before accept with HTTP 403).
        The hook may fill ``sock.assigns``.  Any other exception refuses the connection
        (HTTP 500 where the server supports denial responses, else close 1011) and is
        logged with its traceback.  A refused connection never reaches ``on_disconnect``.

        Connection parameters: after the socket, the hook may declare parameters filled
        as the low-level ``WebSocketRoute`` fills its endpoint's, from the path
        parameters, else the query string, converted to the annotation (``str``, ``int``,
        ``float``, ``bool``, ``X | None``; a default makes one optional)::

            @hub.on_connect
            async def connect(sock: ISocket, room: str, limit: int = 10) -> None: ...

        The parameters of both hooks are parsed before the handshake (also those only
        ``on_disconnect`` declares): one missing or not convertible refuses the connection
        with HTTP 400 (close 1008 where the server cannot send a response) and a reason
        naming it, before this hook runs.  ``**kwargs`` receives the parameters that only
        the other hook declares.  A sync function, an unsupported annotation, or a name
        that the two hooks declare with different types raises ``TypeError`` here.

        FastAPI parameters (``Annotated[User, Depends(current_user)]``, ``Security``,
        ``Query``, ``Header``, ``Cookie``, ``Path``) are resolved by FastAPI's dependency
        machinery before the handshake, ``app.dependency_overrides`` honoured and
        ``yield`` dependencies closed when the connection ends; a validation error closes
        with 1008 before accept, as FastAPI does.  ``raise WebSocketException(code,
        reason)`` (Starlette's or FastAPI's) refuses with that close code and reason;
        ``HTTPException`` with an HTTP response of its status (the security schemes'
        401).  Neither is logged as an error.
        """
        self._hooks.set_connect(func)
        self.on_connect_callback = self._hooks.connect
        return func

    def on_disconnect(self, func: HookT) -> HookT:
        """Register ``async def on_disconnect(sock, **connection_params) -> None``.

        Runs once when an accepted connection ends, however it ends (client close,
        network drop, server shutdown, error, cancellation), after ``on_exit`` ran for
        every joined topic; ``sock.assigns`` and ``sock.path_params`` are still there.
        It does not run for a connection that ``on_connect`` refused.  An exception is
        logged with its traceback and goes no further.

        It may declare connection parameters as ``on_connect`` does; they are parsed and
        validated before the handshake (a bad one refuses the connection, even when no
        ``on_connect`` is registered), and it gets the values parsed then.
        """
        self._hooks.set_disconnect(func)
        self.on_disconnect_callback = self._hooks.disconnect
        if self._hooks.needs_connect:
            self.on_connect_callback = self._hooks.connect
        return func

    @property
    def channels(self) -> list[Channel]:
        """The channels of this hub, in registration order."""
        return list(self._channels)

    def resolve(self, topic: str) -> tuple[Channel, dict[str, str]] | None:
        """The channel serving ``topic`` and its placeholder values, by precedence: most
        literal characters, then most placeholders, then first registered."""
        return self._table.resolve(topic)

    # -- publishing and lifecycle ----------------------------------------------------------

    async def publish(self, topic: str, event: str, payload: Any) -> StreamPosition | None:
        """Send ``{topic, event, payload}`` to every socket joined to ``topic``, from
        anywhere in the app (an HTTP endpoint, a background task).  No-op if nobody joined,
        unless the topic's channel keeps history: then the publication is stored, and its
        position is returned (None for topics without history).

        The payload is encoded now, by the hub's codec, once for every subscriber and
        protocol: one that cannot be sent raises :class:`~sockethub.EncodeError` (a
        ``TypeError``) on every bus, whether or not anybody joined the topic.
        """
        return await self._publish(topic, event, payload, None)

    async def _publish(
        self, topic: str, event: str, payload: Any, exclude: BusCallback | None
    ) -> StreamPosition | None:
        """:meth:`publish`, skipping the bus callback ``exclude`` (``sock.publish``'s
        ``exclude_self``)."""
        message = BusMessage.encode(self.codec, topic, event, payload)
        history = self.history_of(topic)
        if history is not None:
            return await self.history_store.publish(
                topic, event, payload, history, exclude=exclude, payload_json=message.payload_json
            )
        bus = self.bus
        publish_message = getattr(bus, "publish_message", None)
        if publish_message is not None:
            await publish_message(message, exclude=exclude)
        else:  # a bus written to the protocol without subclassing it
            await bus.publish(topic, event, payload, exclude=exclude)
        return None

    # -- history ----------------------------------------------------------------------------

    @property
    def history_store(self) -> HistoryStore:
        """Where this hub's topics with history keep their streams: the store passed as
        ``history_store``, else the one that goes with the bus (memory or Redis)."""
        store = self._history_store
        if store is None:
            store = self._history_store = store_for(self.bus)
        return store

    def history_of(self, topic: str) -> History | None:
        """The :class:`History` of the channel serving ``topic``, or None."""
        if not self._with_history:
            return None
        resolved = self._table.resolve(topic)
        return None if resolved is None else resolved[0].history

    async def history(
        self, topic: str, *, since: StreamPosition | None = None, limit: int | None = None
    ) -> HistoryPage:
        """The stored publications of ``topic`` after ``since`` (all kept ones by
        default), oldest first, at most ``limit``, with the stream's current position.

        ``page.complete`` is False when ``since`` is from another epoch or older than what
        is kept (``page.publications`` is then empty).  ``ValueError`` if ``topic``'s
        channel keeps no history; :class:`~sockethub.BusUnavailable` if Redis is away.
        """
        history = self.history_of(topic)
        if history is None:
            raise ValueError(f"topic {topic!r} has no channel with history on this hub")
        return await self.history_store.read(topic, history, since=since, limit=limit)

    async def disconnect(
        self, identity: str | None = None, *, connection_id: str | None = None
    ) -> None:
        """Close connections, in whichever process on the bus they are.

        ``identity``: every connection whose ``sock.identity`` it is, as Phoenix's
        ``Endpoint.broadcast(socket_id, "disconnect")`` (the identity must have been set
        in ``on_connect``); ``connection_id=``: that one connection (``sock.connection_id``,
        or the ``owner`` of a ``hub.presence.members`` entry), whatever its process.
        They are closed with code 1000, reason ``"Disconnected"``, after the frames
        already queued for them; their topics are left and their presences untracked as
        for any disconnect (phoenix.js then reconnects: refuse it in ``on_connect`` if it
        must not come back).  A connection id no live connection has is a no-op.
        Returns once the command is sent (not applied); ``TypeError`` unless exactly one
        of the two is given; on Redis, :class:`~sockethub.BusUnavailable` while it is away.
        """
        await self.control.send({"op": "disconnect"}, identity, connection_id, "disconnect")

    async def remove(
        self, topic: str, *, identity: str | None = None, connection_id: str | None = None
    ) -> None:
        """Make connections leave ``topic``, in whichever process on the bus they are;
        they stay open.

        ``identity=``: every connection with that identity; ``connection_id=``: that one
        connection (``sock.connection_id``, or the ``owner`` of a
        ``hub.presence.members(topic)`` entry), whatever its process.  As for a leave,
        ``on_exit`` runs and the presences of that topic are untracked.  Phoenix clients
        get ``phx_close`` for the channel (what Phoenix sends when a channel stops on the
        server; phoenix.js does not rejoin it); envelope clients get
        ``{"topic": topic, "event": "phx_close", "payload": {}}``.  A connection not
        joined to ``topic`` (it left, or never joined) and a connection id no live
        connection has are no-ops.  Returns once the command is sent (not applied);
        ``TypeError`` unless exactly one of the two is given; on Redis,
        :class:`~sockethub.BusUnavailable` while it is away.
        """
        await self.control.send({"op": "remove", "topic": topic}, identity, connection_id, "remove")

    @contextlib.asynccontextmanager
    async def lifespan(self, app: object = None) -> AsyncIterator[None]:
        """Start the bus (then presence), and close them at shutdown.

        Pass it as ``Starlette(lifespan=hub.lifespan)``, or enter it from your own
        lifespan: ``async with hub.lifespan(app): yield``.
        """
        # A bus written to the protocol without subclassing it may lack the no-op defaults.
        start = getattr(self.bus, "start", None)
        close = getattr(self.bus, "close", None)
        if start is not None:
            await start()
        try:
            await self.presence.start()
            try:
                yield
            finally:
                await self.control.close()
                await self.presence.close()
        finally:
            if close is not None:
                await close()

    # -- serving ------------------------------------------------------------------------------

    @property
    def default_protocol(self) -> WireProtocol:
        choice = self._protocol_choice
        return self._bind(choice if isinstance(choice, WireProtocol) else ENVELOPE)

    def _select_protocol(self, sock: ISocket) -> WireProtocol:
        choice = self._protocol_choice
        return self._bind(choice if isinstance(choice, WireProtocol) else choice(sock))

    def _bind(self, protocol: WireProtocol) -> WireProtocol:
        """``protocol`` speaking this hub's codec (one copy per protocol object)."""
        if protocol.codec is self.codec:
            return protocol
        bound = self._bound.get(id(protocol))
        if bound is None or bound[0] is not protocol:
            bound = self._bound[id(protocol)] = (protocol, protocol.with_codec(self.codec))
        return bound[1]

    def serve(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        session = Session(self, scope, receive, send).run()
        if self._hooks.dependencies is None:
            return session  # awaited as is: no frame of its own around every message
        return self._serve_releasing(session, scope)

    async def _serve_releasing(self, session: Awaitable[None], scope: Scope) -> None:
        try:
            await session
        finally:
            await self._hooks.release(scope)  # in the task that entered the dependencies
