"""SocketHub: the high-level route with channels, hooks, composition and a pub/sub bus."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from starlette import routing as starlette_routing
from starlette.types import Receive, Scope, Send

from .bus.base import SocketBus
from .bus.memory import InMemorySocketBus
from .channel import Channel
from .handshake import OriginPolicy
from .hooks import ConnectionHooks
from .limits import HubLimits
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

HookF = TypeVar("HookF", bound=Callable[..., Awaitable[None]])
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

    * ``ordering``: ``"topic"`` (default): each joined topic handles its own messages in
      order, and topics do not wait for each other: while a callback of one topic runs
      long, the messages of other topics are handled meanwhile (each topic's in order, a
      task per busy topic, none while topics are idle).  ``"connection"``: one message of
      the connection at a time, as 0.1 did (the facade uses it).  Either way, control
      frames (Phoenix heartbeats) are answered while a callback runs, and frames to the
      client leave in the order they were produced.

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
    ) -> None:
        super().__init__(path, name=name, middlewares=middlewares)
        self.endpoint = RouteEndpoint(self)
        """The ASGI app serving this hub where another route matched the connection."""
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
        self.on_connect_callback: Callable[[ISocket], Awaitable[None]] | None = None
        self.on_disconnect_callback: Callable[[ISocket], Awaitable[None]] | None = None
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

    # -- registration ---------------------------------------------------------------------

    def channel(self, pattern: str) -> Channel:
        """Register and return a channel for ``pattern`` (``"room:{room_id}"``).

        The pattern is validated now: a bad placeholder, unbalanced braces, a repeated
        name, or a pattern that duplicates (or has the same shape as) one already on this
        hub raises ``ValueError``.
        """
        channel = Channel(pattern)
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
        trial: TopicTable[Channel] = TopicTable()
        for channel in (*self._channels, *additions):
            trial.add(channel.pattern, channel)
        for channel in additions:
            self._add(channel)

    def _add(self, channel: Channel) -> None:
        self._table.add(channel.pattern, channel)
        self._channels.append(channel)

    def on_connect(self, func: HookF) -> HookF:
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

    def on_disconnect(self, func: HookF) -> HookF:
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

    async def publish(self, topic: str, event: str, payload: Any) -> None:
        """Send ``{topic, event, payload}`` to every socket joined to ``topic``, from
        anywhere in the app (an HTTP endpoint, a background task).  No-op if nobody joined."""
        await self.bus.publish(topic, event, payload)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: object = None) -> AsyncIterator[None]:
        """Start the bus, and close it at shutdown.

        Pass it as ``Starlette(lifespan=hub.lifespan)``, or enter it from your own
        lifespan: ``async with hub.lifespan(app): yield``.
        """
        # A bus written to the protocol without subclassing it may lack the no-op defaults.
        start = getattr(self.bus, "start", None)
        close = getattr(self.bus, "close", None)
        if start is not None:
            await start()
        try:
            yield
        finally:
            if close is not None:
                await close()

    # -- serving ------------------------------------------------------------------------------

    @property
    def default_protocol(self) -> WireProtocol:
        choice = self._protocol_choice
        return choice if isinstance(choice, WireProtocol) else ENVELOPE

    def _select_protocol(self, sock: ISocket) -> WireProtocol:
        choice = self._protocol_choice
        return choice if isinstance(choice, WireProtocol) else choice(sock)

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await Session(self, scope, receive, send).run()
        finally:
            if self._hooks.dependencies is not None:  # in the task that entered them
                await self._hooks.release(scope)
