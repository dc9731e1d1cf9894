"""Identifiers unique across processes: this process's node id, and connection ids.

A node id is random and drawn again in a forked child (uvicorn's workers, say), so two
processes never share one even when they forked from a process that had drawn its own.
"""

from __future__ import annotations

import itertools
import os
import secrets

__all__ = ["connection_id", "node_id", "node_of"]

_node: tuple[int, str] | None = None
_counter = itertools.count(1)


def node_id() -> str:
    """This process's id: 12 random hex digits, stable for the life of the process."""
    global _node
    pid = os.getpid()
    if _node is None or _node[0] != pid:
        _node = (pid, secrets.token_hex(6))
    return _node[1]


def connection_id() -> str:
    """A new id, unique across processes: ``"<node id>.<n>"``."""
    return f"{node_id()}.{next(_counter)}"


def node_of(connection_id: str) -> str | None:
    """The node id a connection id names (``"<node id>.<n>"``), or None for a string
    that is not a connection id (the ``"<node>.server"`` owner of server-tracked
    presences included)."""
    node, dot, n = connection_id.rpartition(".")
    return node if dot and node and n.isascii() and n.isdigit() else None
