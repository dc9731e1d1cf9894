"""Presence, the contract: what is tracked, what a store keeps, what goes on the wire.

One tracked presence is a :class:`PresenceEntry`: a *key* (a user id, say) on a *topic*,
with a *meta* dict, owned by one connection (or by the server process that tracked it).
A key has as many entries as it has owners (one user, two tabs: two metas), each with its
own ``ref``: Phoenix's ``phx_ref``.

A :class:`PresenceStore` keeps the entries of every process (the in-memory one: of this
process; the Redis one: of every process on that Redis).  The hub's
:class:`~sockethub.presence.PresenceTracker` writes to it and publishes the diffs.

On the wire (both protocols, the same payloads as Phoenix.Presence)::

    presence_state  {key: {"metas": [{"phx_ref": ref, **meta}, ...]}, ...}
    presence_diff   {"joins": {key: {"metas": [...]}}, "leaves": {key: {"metas": [...]}}}

An update is one diff: the new meta in ``joins`` (with ``"phx_ref_prev"``: the ref it
replaces) and the old one in ``leaves``, as Phoenix sends it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "AlreadyTracked",
    "NotTracked",
    "PresenceEntry",
    "PresenceHost",
    "PresenceStore",
    "diff_payload",
    "state_payload",
]

Meta = dict[str, Any]
WireState = dict[str, dict[str, list[Meta]]]
"""``{key: {"metas": [meta, ...]}}``: Phoenix's ``Presence.list`` and ``presence_state``."""


class AlreadyTracked(ValueError):
    """``track`` of a key its owner already tracks on that topic (use ``update``)."""


class NotTracked(LookupError):
    """``update`` of a key its owner does not track on that topic."""


@dataclass(frozen=True, slots=True)
class PresenceEntry:
    """One tracked presence: one owner's meta for one key on one topic.

    ``owner`` is the tracking connection's ``connection_id``, or ``"<node>.server"`` for a
    presence tracked by server code (``hub.presence.track``); ``identity`` is the
    connection's ``sock.identity`` (None for server tracks and anonymous connections).
    ``node`` is the id of the process that tracked it: its presences are removed
    everywhere when that process is gone.  ``prev_ref`` is set on an entry made by
    ``update``: the ref of the entry it replaced.
    """

    topic: str
    key: str
    ref: str
    meta: Meta
    owner: str
    node: str
    identity: str | None = None
    prev_ref: str | None = field(default=None, compare=False)

    def wire_meta(self) -> Meta:
        """The meta as clients see it: the app's meta plus ``phx_ref`` (and
        ``phx_ref_prev`` for an update)."""
        meta = dict(self.meta)
        meta["phx_ref"] = self.ref
        if self.prev_ref is not None:
            meta["phx_ref_prev"] = self.prev_ref
        return meta


def state_payload(entries: Iterable[PresenceEntry]) -> WireState:
    """``presence_state``'s payload: every entry grouped by key, in tracking order."""
    state: WireState = {}
    for entry in entries:
        slot = state.get(entry.key)
        if slot is None:
            slot = state[entry.key] = {"metas": []}
        slot["metas"].append(entry.wire_meta())
    return state


def diff_payload(
    joins: Sequence[PresenceEntry] = (), leaves: Sequence[PresenceEntry] = ()
) -> dict[str, WireState]:
    """``presence_diff``'s payload: ``{"joins": state, "leaves": state}``."""
    return {"joins": state_payload(joins), "leaves": state_payload(leaves)}


class PresenceHost(Protocol):
    """What a store may ask of the tracker that owns it (the hub's, in this process)."""

    @property
    def node(self) -> str:
        """The id of the process the tracker speaks for."""
        ...

    async def reassert(self) -> None:
        """Write every entry this process tracks to the store again, under new refs
        (``store.rewrite``), and publish each as an update of the old one.  Called by a
        store that lost this process's state (a Redis restart) or saw it declared dead:
        new refs make the re-assertion commute with any leave of the old refs that a
        reaper publishes meanwhile.  Raises what ``rewrite`` raises."""
        ...

    async def removed(self, entries: list[PresenceEntry]) -> None:
        """Entries of a dead process were removed by this store: publish their leaves."""
        ...

    async def recovered(self) -> None:
        """The store's state may have changed unseen (an outage): send every local
        subscriber of a presence topic the whole state again."""
        ...


@runtime_checkable
class PresenceStore(Protocol):
    """Where presences live.  The in-memory store is the reference; every store passes
    the contract suite in ``tests/presence/``.

    * ``put(entry, replaces=old)`` adds ``entry`` (and removes ``old`` in the same step);
      ``remove(entries)`` removes them (unknown ones are ignored); ``entries(topic)``
      lists a topic's entries, of every process the store reaches, in tracking order.
    * ``start(host)`` / ``close()`` bracket the store's life; a store that reaches other
      processes (Redis) removes a dead process's entries and tells ``host.removed``.
    * A store never raises for an outage in ``put``/``remove``: the tracker's own record
      is the truth for this process, and the store re-asserts it once it can (through
      ``host.reassert()``, which calls the store's ``rewrite(entries)`` if it has one).
    """

    async def start(self, host: PresenceHost) -> None: ...

    async def close(self) -> None: ...

    async def put(self, entry: PresenceEntry, replaces: PresenceEntry | None = None) -> None: ...

    async def remove(self, entries: Sequence[PresenceEntry]) -> None: ...

    async def entries(self, topic: str) -> list[PresenceEntry]: ...
