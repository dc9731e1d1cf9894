"""Server-side control of connections, in every process: disconnect an identity, remove
a connection from a topic.

As in Phoenix, a connection with an identity (``sock.identity = "user:42"`` in
``on_connect``) subscribes to a bus topic of that identity, one that no client can join
(its name is not printable).  ``hub.disconnect(identity)`` and
``hub.remove(topic, identity=...)`` publish a command there, so it reaches that
identity's connections in every process on the bus; connections without an identity
cost nothing.  ``hub.remove(topic, connection_id=...)`` reaches a connection of this
process by its id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from .bus.base import PubSubMessage
from .codes import CLOSE_DISCONNECTED

if TYPE_CHECKING:
    from .hub import SocketHub
    from .session import Session

__all__ = ["COMMAND_EVENT", "HubControl", "identity_topic"]

logger = logging.getLogger(__name__)

COMMAND_EVENT = "sockethub.control"


def identity_topic(identity: str) -> str:
    """The bus topic of an identity's connections (not printable: no client joins it)."""
    return f"\x00identity:{identity}"


class HubControl:
    """The sessions of one hub in this process, and the commands that reach them."""

    def __init__(self, hub: SocketHub) -> None:
        self.hub = hub
        self.sessions: dict[str, Session] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- sessions (the hub's, as they start and end) --------------------------------------

    async def add(self, session: Session) -> Callable[[PubSubMessage], None] | None:
        """Register ``session``; if it has an identity, subscribe it to that identity's
        topic and return the callback (to pass to :meth:`discard`)."""
        self.sessions[session.sock.connection_id] = session
        identity = session.sock.identity
        if identity is None:
            return None

        def on_command(message: PubSubMessage) -> None:
            if message.event == COMMAND_EVENT and isinstance(message.payload, dict):
                self._apply(session, message.payload)

        try:
            await self.hub.bus.subscribe(identity_topic(identity), on_command)
        except Exception:
            logger.exception("control: %s cannot be reached by identity %r", session.sock, identity)
            return None
        return on_command

    async def discard(
        self, session: Session, on_command: Callable[[PubSubMessage], None] | None
    ) -> None:
        self.sessions.pop(session.sock.connection_id, None)
        identity = session.sock.identity
        if on_command is not None and identity is not None:
            try:
                await self.hub.bus.unsubscribe(identity_topic(identity), on_command)
            except Exception:
                logger.exception("control: unsubscribing identity %r failed", identity)

    # -- commands -------------------------------------------------------------------------

    async def to_identity(self, identity: str, command: dict[str, Any]) -> None:
        if not isinstance(identity, str) or not identity:
            raise TypeError(f"identity must be a non-empty str, got {identity!r}")
        await self.hub.bus.publish(identity_topic(identity), COMMAND_EVENT, command)

    def to_connection(self, connection_id: str, command: dict[str, Any]) -> bool:
        session = self.sessions.get(connection_id)
        if session is None:
            return False
        self._apply(session, command)
        return True

    def _apply(self, session: Session, command: dict[str, Any]) -> None:
        op = command.get("op")
        if op == "disconnect":
            self._spawn(session.close(*CLOSE_DISCONNECTED))
        elif op == "remove" and isinstance(command.get("topic"), str):
            self._spawn(session.remove_from(command["topic"]))
        else:
            logger.warning("control: ignoring an unknown command %r", command)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("control: a command failed", exc_info=task.exception())

    async def close(self) -> None:
        """Wait for the commands still being applied."""
        if self._tasks:
            await asyncio.wait(set(self._tasks))
