"""Channel: a topic pattern and the callbacks that run for its topics.

Also the 0.1 import path of ``ISocket``, ``MessageEnvelope``, ``RejectError``,
``TOPIC_NOT_FOUND`` and ``EVENT_NOT_FOUND``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from .callbacks import ExitT, JoinT, ReceiveT
from .envelope import EVENT_NOT_FOUND, TOPIC_NOT_FOUND, MessageEnvelope
from .errors import JoinRefused, RejectError
from .history.base import History
from .socket import ISocket
from .topics import TopicPattern

__all__ = [
    "EVENT_NOT_FOUND",
    "TOPIC_NOT_FOUND",
    "Channel",
    "ISocket",
    "JoinRefused",
    "MessageEnvelope",
    "RejectError",
]

# As stored: called with the join's ChannelSocket, or (per_join_sockets=False) with the
# connection's ISocket.  What registration accepts is in sockethub.callbacks.
StoredCallback = Callable[..., Awaitable[Any]]
PresenceChoice = bool | Callable[[ISocket], bool]


def require_async(func: Callable[..., Any], what: str) -> None:
    """Refuse a callback that is not an ``async def`` (a sync one would block the loop)."""
    target: Any = func
    while isinstance(target, partial):
        target = target.func
    if inspect.iscoroutinefunction(target) or inspect.iscoroutinefunction(
        getattr(target, "__call__", None)  # noqa: B004 (async callable objects)
    ):
        return
    name = getattr(target, "__qualname__", repr(target))
    raise TypeError(f"{what} must be an async function (async def), got {name!r}")


async def _join_nothing(params: dict[str, str], sock: ISocket) -> None:
    return None


async def _exit_nothing(sock: ISocket) -> None:
    return None


class _Callbacks:
    """The callbacks of a channel; shared with its prefixed copies (``hub.include``)."""

    __slots__ = ("events", "on_exit", "on_join")

    def __init__(self) -> None:
        self.on_join: StoredCallback = _join_nothing
        self.on_exit: StoredCallback = _exit_nothing
        self.events: dict[str, StoredCallback] = {}


class Channel:
    """A topic pattern with its callbacks.  Make one with ``hub.channel(pattern)``.

    A joined topic's callbacks run one at a time, in the order the client's messages for
    it arrived (with ``SocketHub(ordering="connection")``, one at a time per connection).
    Their ``sock`` is the join's :class:`~sockethub.ChannelSocket`: ``sock.topic`` and
    ``sock.params`` are the joined topic and the pattern's placeholder values.  The
    decorators are typed (see :mod:`sockethub.callbacks`): a type checker refuses a
    callback of the wrong arity or argument types.
    """

    __slots__ = ("_callbacks", "_compiled", "history", "presence", "topic_pattern")

    def __init__(
        self,
        pattern: str,
        *,
        history: History | None = None,
        presence: PresenceChoice = False,
    ) -> None:
        if history is not None and not isinstance(history, History):
            raise TypeError(
                f"channel {pattern!r}: history must be a sockethub.History, got {history!r}"
            )
        self._compiled = TopicPattern.compile(pattern)
        self.topic_pattern = pattern
        self._callbacks = _Callbacks()
        self.history = history
        """What this channel's topics keep for rejoining clients (None: nothing)."""
        self.presence: PresenceChoice = presence
        """Whether a socket that joins gets ``presence_state`` after its join reply: a
        bool, or ``(sock) -> bool`` asked once ``on_join`` has returned."""

    # -- registration ----------------------------------------------------------------

    def on_join(self, func: JoinT) -> JoinT:
        """Register ``async def on_join(params: dict[str, str], sock: ChannelSocket) -> Any``.

        Runs when a client sends a join for a topic matching this channel and not yet
        joined on that connection, with ``sock.topic`` / ``sock.params`` already set.
        ``params`` are the placeholder values (``{}`` for a pattern without any).
        Returning completes the join: the socket is then subscribed to the topic on the
        bus (no frame is sent unless the message carried a ``ref``).  A second join of a
        topic already joined does not run it again: the client gets
        ``{"code": 4409, "reason": "Already joined"}``.
        ``raise JoinRefused(reason)`` refuses the join (the client gets
        ``{"code": 4403, "reason": reason}``, the connection stays open).  Any other
        exception is a server error: it is logged with its traceback, the topic stays
        unjoined (no ``on_exit`` will run for it), and the client gets
        ``{"code": 4500, "reason": "Internal error"}`` (or, with the hub's
        ``error_policy="close"``, the connection is closed with 1011).
        """
        require_async(func, "on_join callback")
        self._callbacks.on_join = func
        return func

    def on_exit(self, func: ExitT) -> ExitT:
        """Register ``async def on_exit(sock: ChannelSocket) -> None``.

        Runs once per joined topic when the client leaves it or the connection ends
        (however it ends), after the socket was unsubscribed from the topic, with
        ``sock.topic`` / ``sock.params`` set to that topic's.  It never runs for a topic
        whose join failed or was refused.  An exception is logged with its traceback and
        the topic is left anyway; at disconnect it does not stop the other exits or
        ``on_disconnect``; on a client's leave it is handled like any callback error
        (generic error frame, or 1011 with ``error_policy="close"``).
        """
        require_async(func, "on_exit callback")
        self._callbacks.on_exit = func
        return func

    def on_receive(self, event: str) -> Callable[[ReceiveT], ReceiveT]:
        """Register ``async def handler(payload: Any, sock: ChannelSocket) -> Any`` for
        ``event``.

        Runs for each message with that event on a joined topic, after the previous
        message of the connection was handled, with ``sock.topic`` / ``sock.params`` set;
        ``payload`` is the message's ``payload`` (``None`` if absent).  A returned value is
        the ``ok`` reply when the message carried a ``ref`` (ignored otherwise);
        ``raise ReplyError(reason)`` answers with an error reply; any other exception is
        a server error: logged with its traceback, the client gets
        ``{"code": 4500, "reason": "Internal error"}`` and the topic stays joined (or,
        with the hub's ``error_policy="close"``, the connection is closed with 1011).
        """
        if not isinstance(event, str) or not event:
            raise ValueError(f"on_receive event must be a non-empty string, got {event!r}")

        def register(func: ReceiveT) -> ReceiveT:
            require_async(func, f"on_receive({event!r}) callback")
            self._callbacks.events[event] = func
            return func

        return register

    # -- what the hub reads ----------------------------------------------------------------

    @property
    def on_join_callback(self) -> StoredCallback:
        return self._callbacks.on_join

    @property
    def on_exit_callback(self) -> StoredCallback:
        return self._callbacks.on_exit

    @property
    def events(self) -> dict[str, StoredCallback]:
        """Event name -> ``on_receive`` callback."""
        return self._callbacks.events

    @property
    def pattern(self) -> TopicPattern:
        return self._compiled

    def match(self, topic: str) -> dict[str, str] | None:
        """Placeholder values if ``topic`` matches this channel (``{}`` for a literal
        pattern), else None."""
        return self._compiled.match(topic)

    def prefixed(self, prefix: str) -> Channel:
        """A channel for ``prefix + pattern`` sharing this channel's callbacks."""
        copy = Channel(prefix + self.topic_pattern, history=self.history, presence=self.presence)
        copy._callbacks = self._callbacks
        return copy

    def __repr__(self) -> str:
        return f"Channel({self.topic_pattern!r})"
