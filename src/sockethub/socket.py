"""ISocket: the socket object every callback receives."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from starlette.datastructures import URL, Headers, QueryParams, State
from starlette.types import Scope
from starlette.websockets import WebSocket, WebSocketState

from .codec import DEFAULT_CODEC, Codec
from .errors import RejectError
from .ids import connection_id

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .history.base import StreamPosition

__all__ = ["ChannelSocket", "ISocket", "SocketSession"]


class SocketSession(Protocol):
    """What a managed connection (a hub session) provides to its ISocket."""

    async def send_frame(self, frame: str | bytes) -> None: ...
    @property
    def codec(self) -> Codec: ...
    async def push(self, topic: str | None, event: str, payload: Any) -> None: ...
    async def publish(
        self, topic: str, event: str, payload: Any, *, exclude_self: bool
    ) -> StreamPosition | None: ...
    async def close(self, code: int, reason: str | None) -> None: ...
    @property
    def closing(self) -> bool: ...
    async def track(self, topic: str, key: str, meta: dict[str, Any] | None) -> str: ...
    async def update(self, topic: str, key: str, meta: dict[str, Any]) -> str: ...
    async def untrack(self, topic: str, key: str) -> None: ...


class ISocket:
    """A WebSocket connection as sockethub callbacks see it.

    It wraps Starlette's :class:`~starlette.websockets.WebSocket` (``sock.websocket``) and
    adds the per-connection state of a channel app:

    * ``topic`` / ``params``: the topic of the message being handled and the placeholders
      its channel pattern matched (set by the hub before each callback).
    * ``assigns``: a dict for the app's own per-connection state (user id, ...).

    Inside a :class:`~sockethub.SocketHub` every send goes through the connection's
    outbound queue, so frames leave in the order they were produced, replies and
    broadcasts alike, and a slow client never blocks the code that sends to it.

    A hub gives each join its own :class:`ChannelSocket`, a view of this connection bound
    to the joined topic.  Views of one connection compare equal to it (and to each
    other), so a set of sockets holds a connection once, however many views reach it.
    """

    __slots__ = (
        "_session",
        "assigns",
        "connection_id",
        "identity",
        "message",
        "params",
        "topic",
        "websocket",
    )

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.connection_id: str = connection_id()
        """This connection's id, unique across processes: ``"<node id>.<n>"``, naming
        the process that serves it, so ``hub.remove(topic, connection_id=...)`` and
        ``hub.disconnect(connection_id=...)`` reach it from any process on the bus
        (``PresenceEntry.owner`` is this id)."""
        self.identity: str | None = None
        """Who this connection is to the app (Phoenix's socket ``id``, e.g.
        ``"user:42"``); set it in ``on_connect``.  ``hub.disconnect(identity)`` ends
        every connection with it, in every process; presences carry it."""
        self.topic: str | None = None
        self.params: dict[str, str] = {}
        self.assigns: dict[str, Any] = {}
        self.message: Any = None
        """The inbound message being handled (``topic``, ``event``, ``payload``, ``ref``):
        in ``on_join``, ``sock.message.payload`` is the join payload (a token, ...)."""
        self._session: SocketSession | None = None

    # -- connection facts -----------------------------------------------------------

    @property
    def scope(self) -> Scope:
        return self.websocket.scope

    @property
    def state(self) -> State:
        """Starlette's per-connection ``scope["state"]`` namespace."""
        return self.websocket.state

    @property
    def headers(self) -> Headers:
        return self.websocket.headers

    @property
    def query_params(self) -> QueryParams:
        return self.websocket.query_params

    @property
    def path_params(self) -> dict[str, Any]:
        """Path parameters of the route, converted by their convertors (``{id:int}``)."""
        return self.websocket.path_params

    @property
    def url(self) -> URL:
        return self.websocket.url

    @property
    def auth_token(self) -> str | None:
        """The bearer token the client sent as a ``base64url.bearer.phx.<token>``
        subprotocol (phoenix.js's ``authToken`` option), decoded; ``None`` if absent.

        Readable in ``on_connect``: keeps tokens out of URLs and access logs.
        """
        from .protocols.phoenix import auth_token_from_subprotocols

        return auth_token_from_subprotocols(self.scope.get("subprotocols") or ())

    @property
    def application_state(self) -> WebSocketState:
        """Starlette's state of the app's side; in a hub ``DISCONNECTED`` from the moment
        the connection is closing (``sock.close()``, a limit, the client gone)."""
        session = self._connection()._session
        if session is not None and session.closing:
            return WebSocketState.DISCONNECTED
        return self.websocket.application_state

    @property
    def client_state(self) -> WebSocketState:
        return self.websocket.client_state

    # -- handshake ------------------------------------------------------------------

    async def accept(
        self, subprotocol: str | None = None, headers: Iterable[tuple[bytes, bytes]] | None = None
    ) -> None:
        """Accept the handshake (the hub does this itself after ``on_connect``)."""
        await self.websocket.accept(subprotocol=subprotocol, headers=headers)

    async def allow_if(
        self, condition: object, code: int = 4403, reason: str = "Forbidden"
    ) -> None:
        """Refuse the connection unless ``condition`` is true.

        Meant for ``on_connect``: a false condition closes the socket with ``code`` and
        ``reason`` and raises :class:`RejectError`, which ends the connection quietly.
        """
        if not condition:
            await self.close(code=code, reason=reason)
            raise RejectError(reason)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the socket.  In a hub, frames queued before the close are sent first."""
        session = self._session
        if session is not None and self.websocket.application_state is WebSocketState.CONNECTED:
            await session.close(code, reason)
        elif self.websocket.application_state is not WebSocketState.DISCONNECTED:
            await self.websocket.close(code=code, reason=reason)

    # -- sending ----------------------------------------------------------------------

    async def send_text(self, data: str) -> None:
        if self._session is not None:
            await self._session.send_frame(data)
        else:
            await self.websocket.send_text(data)

    async def send_bytes(self, data: bytes) -> None:
        if self._session is not None:
            await self._session.send_frame(data)
        else:
            await self.websocket.send_bytes(data)

    async def send_json(self, data: Any, mode: str = "text") -> None:
        """Send ``data`` as JSON (compact separators, UTF-8, like Starlette), encoded by the
        hub's codec (on a low-level route: the default codec, see :mod:`sockethub.codec`)."""
        session = self._session
        codec = DEFAULT_CODEC if session is None else session.codec
        text = codec.encode(data)
        if mode == "binary":
            await self.send_bytes(text.encode("utf-8"))
        else:
            await self.send_text(text)

    async def reply(self, payload: Any, event: str = "reply") -> None:
        """Send ``{"topic": sock.topic, "event": event, "payload": payload}`` to this socket."""
        await self._push(event, payload)

    async def emit(self, payload: Any, event: str = "emit") -> None:
        """Like :meth:`reply`, with the default event ``"emit"``."""
        await self._push(event, payload)

    async def _push(self, event: str, payload: Any) -> None:
        if self._session is not None:
            await self._session.push(self.topic, event, payload)
        else:
            await self.send_json({"topic": self.topic, "event": event, "payload": payload})

    async def publish(
        self,
        payload: Any,
        event: str = "broadcast",
        *,
        exclude_self: bool = False,
        topic: str | None = None,
    ) -> StreamPosition | None:
        """Broadcast to every socket joined to ``topic`` (default: ``sock.topic``).

        The sender gets it too unless ``exclude_self`` is true (Phoenix's
        ``broadcast_from``).  Needs a hub: a plain route has no bus to publish to.
        Publishing to a topic nobody joined is a no-op, unless the topic keeps history:
        then the publication is stored and its position returned (None for topics
        without history), so a sender that excluded itself can still learn where its
        message stands.
        """
        topic = self.topic if topic is None else topic
        if self._session is None or topic is None:
            raise RuntimeError("publish backend or topic not set")
        return await self._session.publish(topic, event, payload, exclude_self=exclude_self)

    # -- presence (in a hub) -----------------------------------------------------------

    async def track(self, key: str, meta: dict[str, Any] | None = None) -> str:
        """Track ``key`` with ``meta`` on ``sock.topic``; return its ``phx_ref``.

        The presence belongs to this connection: it is untracked when the connection
        leaves the topic or ends, however it ends.  Every socket joined to the topic, in
        every process, receives one ``presence_diff``.  Tracking the same key twice on
        one topic raises :class:`~sockethub.presence.AlreadyTracked` (use :meth:`update`).
        """
        return await self._presence_session("track").track(self._presence_topic(), key, meta)

    async def update(self, key: str, meta: dict[str, Any]) -> str:
        """Replace the meta of a key this connection tracks on ``sock.topic``; return
        the new ``phx_ref`` (others get one diff: join with ``phx_ref_prev``, leave)."""
        return await self._presence_session("update").update(self._presence_topic(), key, meta)

    async def untrack(self, key: str) -> None:
        """Stop tracking ``key`` on ``sock.topic`` (a no-op if it was not tracked)."""
        await self._presence_session("untrack").untrack(self._presence_topic(), key)

    def _presence_session(self, what: str) -> SocketSession:
        session = self._session
        if session is None:
            raise RuntimeError(f"sock.{what}() needs a connection served by a SocketHub")
        return session

    def _presence_topic(self) -> str:
        if self.topic is None:
            raise RuntimeError("presence needs a joined topic: call it from a channel callback")
        return self.topic

    # -- receiving (low-level routes only: a hub reads the socket itself) ----------------

    async def receive_text(self) -> str:
        return await self.websocket.receive_text()

    async def receive_bytes(self) -> bytes:
        return await self.websocket.receive_bytes()

    async def receive_json(self, mode: str = "text") -> Any:
        return await self.websocket.receive_json(mode=mode)

    # -- identity: every view of a connection is that connection ----------------------

    def _connection(self) -> ISocket:
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ISocket):
            return NotImplemented
        return self._connection() is other._connection()

    def __hash__(self) -> int:
        return id(self._connection())

    def channel_view(self, topic: str, params: dict[str, str], message: Any) -> ChannelSocket:
        """A :class:`ChannelSocket` of this connection bound to ``topic`` (for a join)."""
        return ChannelSocket(self, topic, params, message)

    def __repr__(self) -> str:
        client = self.websocket.client
        where = f"{client.host}:{client.port}" if client else "?"
        return (
            f"<{type(self).__name__} {self.websocket.url.path} from {where} topic={self.topic!r}>"
        )


class ChannelSocket(ISocket):
    """The socket a channel's callbacks get: the connection, bound to one join.

    ``topic`` and ``params`` are those of the join for as long as it lives, so a task
    started in ``on_join`` that later calls ``sock.publish(...)`` or ``sock.reply(...)``
    still reaches its own topic, whatever else the connection joined since.  ``assigns``
    is the connection's dict (shared by every view).  Once the topic is left (a leave,
    a crash of its channel, the end of the connection), sending through the view raises
    :class:`RuntimeError`; the connection's own socket (``on_disconnect``'s) is unaffected.
    """

    __slots__ = ("connection", "left")

    topic: str

    def __init__(
        self, connection: ISocket, topic: str, params: dict[str, str], message: Any
    ) -> None:
        self.websocket = connection.websocket
        self.connection = connection
        """The connection's own socket (the one ``on_connect`` and ``on_disconnect`` get)."""
        self.topic = topic
        self.params = params
        self.assigns = connection.assigns
        self.message = message
        self.left = False
        """True once the join this view belongs to has ended."""

    @property
    def connection_id(self) -> str:  # type: ignore[override]
        return self.connection.connection_id

    @property
    def identity(self) -> str | None:
        return self.connection.identity

    @identity.setter
    def identity(self, value: str | None) -> None:
        self.connection.identity = value

    @property
    def _session(self) -> SocketSession | None:
        if self.left:
            raise RuntimeError(
                f"this socket's join of topic {self.topic!r} has ended (left, crashed or "
                "disconnected): it cannot send any more"
            )
        return self.connection._session

    @_session.setter
    def _session(self, value: SocketSession | None) -> None:
        self.connection._session = value

    def _connection(self) -> ISocket:
        return self.connection
