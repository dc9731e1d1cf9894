"""Server-side control of connections, in every process: disconnect a connection, or
make it leave a topic, named by its identity or by its connection id.

By identity, as in Phoenix: a connection with an identity (``sock.identity =
"user:42"`` in ``on_connect``) subscribes to a bus topic of that identity, one that no
client can join (its name is not printable).  ``hub.disconnect(identity)`` and
``hub.remove(topic, identity=...)`` publish a command there, so it reaches that
identity's connections in every process on the bus; connections without an identity
cost nothing.

By connection id: an id names the process that made it (``"<node id>.<n>"``, see
:mod:`sockethub.ids`), so a command for one connection goes to that process only, not
to every process.  A connection of this process on the same bus is reached directly.
Otherwise, on a bus that crosses processes (anything but an
:class:`~sockethub.bus.InMemorySocketBus`), the command is published on the node topic
of the process the id names (``"\\x00node:<node id>"``, not printable either), which each
hub of that process subscribes to when its first connection starts, until its lifespan
ends: one subscription per hub and process, whatever the number of connections.  A
command for an id that no live connection has (never issued, or its connection ended)
is dropped where it lands, with a debug log line.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from .bus.base import PubSubMessage
from .bus.memory import InMemorySocketBus
from .codes import CLOSE_DISCONNECTED
from .ids import node_id, node_of

if TYPE_CHECKING:
    from .hub import SocketHub
    from .session import Session

__all__ = ["COMMAND_EVENT", "HubControl", "identity_topic", "node_topic"]

logger = logging.getLogger(__name__)

COMMAND_EVENT = "sockethub.control"

_controls: weakref.WeakSet[HubControl] = weakref.WeakSet()
"""Every hub's control in this process (to reach a connection of another hub on the
same bus without a round trip through the bus)."""


def identity_topic(identity: str) -> str:
    """The bus topic of an identity's connections (not printable: no client joins it)."""
    return f"\x00identity:{identity}"


def node_topic(node: str) -> str:
    """The bus topic of one process's connections, by connection id (not printable)."""
    return f"\x00node:{node}"


class HubControl:
    """The sessions of one hub in this process, and the commands that reach them."""

    def __init__(self, hub: SocketHub) -> None:
        self.hub = hub
        self.sessions: dict[str, Session] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._node: asyncio.Task[bool] | None = None
        _controls.add(self)

    # -- sessions (the hub's, as they start and end) --------------------------------------

    async def add(self, session: Session) -> Callable[[PubSubMessage], None] | None:
        """Register ``session``; if it has an identity, subscribe it to that identity's
        topic and return the callback (to pass to :meth:`discard`).  On a bus that
        crosses processes, the first session also subscribes this hub to its process's
        node topic (once; kept until :meth:`close`)."""
        self.sessions[session.sock.connection_id] = session
        if self._crosses_processes:
            await self._listen_on_node()
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

    # -- this process's node topic (commands by connection id from other processes) -------

    @property
    def _crosses_processes(self) -> bool:
        return not isinstance(self.hub.bus, InMemorySocketBus)

    async def _listen_on_node(self) -> None:
        task = self._node
        if task is None or task.get_loop() is not asyncio.get_running_loop():
            task = self._node = asyncio.get_running_loop().create_task(self._subscribe_node())
        # Shielded: a session cancelled while waiting does not cancel the subscription.
        if not await asyncio.shield(task) and self._node is task:
            self._node = None  # failed (logged): the next session tries again

    async def _subscribe_node(self) -> bool:
        try:
            await self.hub.bus.subscribe(node_topic(node_id()), self._on_node_command)
        except Exception:
            logger.exception(
                "control: this process cannot be reached by connection id on %r", self.hub.bus
            )
            return False
        return True

    def _on_node_command(self, message: PubSubMessage) -> None:
        command = message.payload
        if message.event != COMMAND_EVENT or not isinstance(command, dict):
            return
        connection = command.get("connection_id")
        session = self.sessions.get(connection) if isinstance(connection, str) else None
        if session is not None:
            self._apply(session, command)
        else:  # another hub of this process has it, or it ended
            logger.debug(
                "control: no connection %r on %r; %r dropped", connection, self.hub, command
            )

    # -- commands -------------------------------------------------------------------------

    async def send(
        self, command: dict[str, Any], identity: str | None, connection_id: str | None, name: str
    ) -> None:
        """``command`` to ``identity``'s connections or to ``connection_id``'s (exactly
        one of the two, else ``TypeError`` naming ``hub.<name>()``)."""
        if (identity is None) == (connection_id is None):
            raise TypeError(f"hub.{name}() needs exactly one of identity= or connection_id=")
        if identity is not None:
            await self.to_identity(identity, command)
        else:
            assert connection_id is not None
            await self.to_connection(connection_id, command)

    async def to_identity(self, identity: str, command: dict[str, Any]) -> None:
        if not isinstance(identity, str) or not identity:
            raise TypeError(f"identity must be a non-empty str, got {identity!r}")
        await self.hub.bus.publish(identity_topic(identity), COMMAND_EVENT, command)

    async def to_connection(self, connection_id: str, command: dict[str, Any]) -> None:
        """Apply ``command`` to the connection ``connection_id``, in whichever process
        it is (see the module's docstring); an id nobody has is a no-op."""
        if not isinstance(connection_id, str) or not connection_id:
            raise TypeError(f"connection_id must be a non-empty str, got {connection_id!r}")
        bus = self.hub.bus
        for control in (self, *_controls):
            if control.hub.bus is bus:
                session = control.sessions.get(connection_id)
                if session is not None:
                    control._apply(session, command)
                    return
        node = node_of(connection_id)
        if node is None or not self._crosses_processes:
            logger.debug("control: no connection %r; %r dropped", connection_id, command)
            return
        # This process's own node too: another hub of it may be on this Redis.
        payload = {**command, "connection_id": connection_id}
        await bus.publish(node_topic(node), COMMAND_EVENT, payload)

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
        """Wait for the commands still being applied; stop listening on the node topic."""
        if self._tasks:
            await asyncio.wait(set(self._tasks))
        task, self._node = self._node, None
        if task is None or task.get_loop() is not asyncio.get_running_loop():
            return
        if await asyncio.shield(task):
            try:
                await self.hub.bus.unsubscribe(node_topic(node_id()), self._on_node_command)
            except Exception:
                logger.exception("control: unsubscribing the node topic failed")
