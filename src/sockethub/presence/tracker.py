"""PresenceTracker: ``hub.presence``, who is on a topic, with diffs to its subscribers."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..bus.base import BusCallback, SocketBus
from ..envelope import dumps
from ..ids import node_id
from .base import (
    AlreadyTracked,
    Meta,
    NotTracked,
    PresenceEntry,
    PresenceStore,
    WireState,
    diff_payload,
    state_payload,
)

__all__ = ["DIFF_EVENT", "STATE_EVENT", "PresenceTracker"]

logger = logging.getLogger(__name__)

STATE_EVENT = "presence_state"
"""The event of the whole state, sent to a socket that joins a presence channel."""
DIFF_EVENT = "presence_diff"
"""The event of one change, broadcast to every subscriber of the topic."""

StateListener = Callable[[WireState], None]
_trackers = itertools.count(1)
Entries = list[PresenceEntry]


class PresenceTracker:
    """Track, update, untrack and list presences; every change is one ``presence_diff``.

    Every hub has one, ``hub.presence``; its store is ``SocketHub(presence=...)``
    (default: :class:`~sockethub.presence.RedisPresence` on the Redis bus, else
    :class:`~sockethub.presence.InMemoryPresence`).  In a channel callback use
    ``sock.track(key, meta)`` (owned by the connection: gone when it leaves the topic or
    disconnects); server code calls the methods here (owned by this process: gone at
    shutdown, or when the process dies, within the store's bound).

    A diff is published on the topic through the hub's bus, to every socket joined to
    it (the tracking one included), whatever its process, encoded once per protocol.
    Changes made by this process are published in the order they were made.
    """

    def __init__(self, store: PresenceStore, bus: SocketBus, *, node: str | None = None) -> None:
        self._node = node
        self._seq = next(_trackers)
        self.store = store
        self.bus = bus
        self._own: dict[tuple[str, str, str], PresenceEntry] = {}
        self._owners: dict[str, dict[tuple[str, str], None]] = {}
        self._listeners: dict[str, dict[StateListener, None]] = {}
        self._refs = itertools.count(1)
        self._lock = asyncio.Lock()
        self._started = False

    @property
    def node(self) -> str:
        """The id of this tracker in this process (the ``node`` of the entries it
        tracks): ``"<ids.node_id()>-<n>"``, so that two hubs of one process on one Redis
        never share one, unless one was given (tests run several "processes" in one)."""
        return self._node if self._node is not None else f"{node_id()}-{self._seq}"

    @property
    def server_owner(self) -> str:
        """The owner of presences tracked by server code in this process."""
        return f"{self.node}.server"

    # -- lifecycle (the hub's lifespan) -------------------------------------------------

    async def start(self) -> None:
        """Start the store (for Redis: heartbeats and the reaper).  Idempotent."""
        if not self._started:
            await self.store.start(self)
            self._started = True

    async def close(self) -> None:
        """Untrack everything this process tracks (its leaves are published), close the
        store."""
        for owner in list(self._owners):
            await self.untrack_owner(owner)
        self._listeners.clear()
        if self._started:
            self._started = False
            await self.store.close()

    # -- changes ------------------------------------------------------------------------

    async def track(
        self,
        topic: str,
        key: str,
        meta: Meta | None = None,
        *,
        owner: str | None = None,
        identity: str | None = None,
        exclude: BusCallback | None = None,
    ) -> str:
        """Track ``key`` on ``topic`` with ``meta``; return its ``phx_ref``.

        ``exclude`` is a bus subscriber the diff skips (the hub passes the joining
        socket's during its ``on_join``: its ``presence_state`` holds the change).
        ``meta`` must be a JSON object (a dict with string keys, strict JSON values) and
        must not use the keys ``phx_ref`` / ``phx_ref_prev``.  The same owner tracking
        the same key on the same topic twice raises :class:`AlreadyTracked`.  Without
        ``owner`` the presence belongs to this process (server code).
        """
        meta = _checked(topic, key, meta)
        owner = self.server_owner if owner is None else owner
        slot = (topic, owner, key)
        if slot in self._own:
            raise AlreadyTracked(f"{owner} already tracks {key!r} on {topic!r}; use update")
        entry = PresenceEntry(topic, key, self._new_ref(), meta, owner, self.node, identity)
        self._own[slot] = entry
        self._owners.setdefault(owner, {})[(topic, key)] = None
        async with self._lock:
            await self.store.put(entry)
            await self._publish(topic, diff_payload(joins=[entry]), exclude)
        return entry.ref

    async def update(self, topic: str, key: str, meta: Meta, *, owner: str | None = None) -> str:
        """Replace the meta of a tracked key; return the new ``phx_ref``.

        One diff: the new meta in ``joins`` (with ``phx_ref_prev``), the old in
        ``leaves``.  Raises :class:`NotTracked` if the owner does not track it.
        """
        meta = _checked(topic, key, meta)
        owner = self.server_owner if owner is None else owner
        slot = (topic, owner, key)
        old = self._own.get(slot)
        if old is None:
            raise NotTracked(f"{owner} does not track {key!r} on {topic!r}")
        new = replace(old, ref=self._new_ref(), meta=meta, prev_ref=old.ref)
        self._own[slot] = new
        async with self._lock:
            await self.store.put(new, replaces=old)
            await self._publish(topic, diff_payload(joins=[new], leaves=[old]))
        return new.ref

    async def untrack(self, topic: str, key: str, *, owner: str | None = None) -> None:
        """Stop tracking ``key`` on ``topic`` for that owner; a no-op if it was not."""
        owner = self.server_owner if owner is None else owner
        entry = self._own.pop((topic, owner, key), None)
        if entry is None:
            return
        keys = self._owners.get(owner)
        if keys is not None:
            keys.pop((topic, key), None)
            if not keys:
                del self._owners[owner]
        await self._remove(topic, [entry])

    async def untrack_owner(self, owner: str, topic: str | None = None) -> None:
        """Untrack everything ``owner`` tracks (on ``topic`` only, if given): one diff
        per topic.  The hub calls it when a connection leaves a topic or ends."""
        keys = self._owners.get(owner)
        if not keys:
            return
        by_topic: dict[str, Entries] = {}
        for topic_key in list(keys):
            if topic is not None and topic_key[0] != topic:
                continue
            del keys[topic_key]
            entry = self._own.pop((topic_key[0], owner, topic_key[1]), None)
            if entry is not None:
                by_topic.setdefault(entry.topic, []).append(entry)
        if not keys:
            self._owners.pop(owner, None)
        for left_topic, entries in by_topic.items():
            await self._remove(left_topic, entries)

    async def _remove(self, topic: str, entries: Entries) -> None:
        async with self._lock:
            await self.store.remove(entries)
            await self._publish(topic, diff_payload(leaves=entries))

    # -- reading --------------------------------------------------------------------------

    async def list(self, topic: str) -> WireState:
        """Phoenix's ``Presence.list``: ``{key: {"metas": [{"phx_ref", **meta}, ...]}}``,
        every process's presences on ``topic`` (what a joining client receives)."""
        return state_payload(await self.store.entries(topic))

    async def members(self, topic: str) -> Entries:
        """The entries of ``topic`` with who owns them (``owner`` connection id,
        ``identity``, ``node``): for server code, never sent to clients as such."""
        return await self.store.entries(topic)

    def owns(self, owner: str) -> bool:
        """Whether ``owner`` tracks anything in this process (one dict lookup)."""
        return owner in self._owners

    def local_entries(self) -> Entries:
        """Every presence this process tracks now (its connections' and its own)."""
        return list(self._own.values())

    def tracked_by(self, owner: str) -> Entries:
        """What ``owner`` tracks now, in this process."""
        keys = self._owners.get(owner, {})
        return [self._own[(topic, owner, key)] for topic, key in keys]

    # -- local subscribers of the whole state (the hub's joined sockets) ------------------

    def listen(self, topic: str, listener: StateListener) -> None:
        """Call ``listener(state)`` with ``topic``'s whole state whenever the store may
        have changed unseen (after an outage), until :meth:`unlisten`."""
        self._listeners.setdefault(topic, {})[listener] = None

    def unlisten(self, topic: str, listener: StateListener) -> None:
        listeners = self._listeners.get(topic)
        if listeners is not None:
            listeners.pop(listener, None)
            if not listeners:
                del self._listeners[topic]

    # -- PresenceHost: what the store asks of us ------------------------------------------

    async def reassert(self) -> None:
        async with self._lock:
            pairs: list[tuple[PresenceEntry, PresenceEntry]] = []
            for slot, old in list(self._own.items()):
                new = replace(old, ref=self._new_ref(), prev_ref=old.ref)
                self._own[slot] = new
                pairs.append((old, new))
            rewrite = getattr(self.store, "rewrite", None)
            if rewrite is not None:
                await rewrite([new for _, new in pairs])
            by_topic: dict[str, tuple[Entries, Entries]] = {}
            for old, new in pairs:
                olds, news = by_topic.setdefault(old.topic, ([], []))
                olds.append(old)
                news.append(new)
            for topic, (olds, news) in by_topic.items():
                await self._publish(topic, diff_payload(joins=news, leaves=olds))

    async def removed(self, entries: Entries) -> None:
        by_topic: dict[str, Entries] = {}
        for entry in entries:
            by_topic.setdefault(entry.topic, []).append(entry)
        for topic, left in by_topic.items():
            await self._publish(topic, diff_payload(leaves=left))

    async def recovered(self) -> None:
        for topic in list(self._listeners):
            try:
                state = await self.list(topic)
            except Exception:
                logger.warning("presence: cannot re-read the state of %r", topic, exc_info=True)
                continue
            for listener in list(self._listeners.get(topic, ())):
                try:
                    listener(state)
                except Exception:
                    logger.exception("presence: a state listener of %r raised", topic)

    # -- internals --------------------------------------------------------------------------

    def _new_ref(self) -> str:
        return f"{self.node}.{next(self._refs)}"

    async def _publish(
        self, topic: str, diff: dict[str, WireState], exclude: BusCallback | None = None
    ) -> None:
        try:
            await self.bus.publish(topic, DIFF_EVENT, diff, exclude=exclude)
        except Exception as exc:
            # The store has the change; subscribers catch up with the next whole state.
            logger.warning("presence: the diff for %r was not published: %s", topic, exc)

    def __repr__(self) -> str:
        return f"<PresenceTracker node={self.node} store={type(self.store).__name__}>"


def _checked(topic: str, key: str, meta: Any) -> Meta:
    """``meta`` copied, after checking the arguments; raises TypeError/ValueError."""
    if not isinstance(topic, str) or not topic:
        raise TypeError(f"presence topic must be a non-empty str, got {topic!r}")
    if not isinstance(key, str) or not key:
        raise TypeError(f"presence key must be a non-empty str, got {key!r}")
    if meta is None:
        return {}
    if not isinstance(meta, dict) or not all(isinstance(k, str) for k in meta):
        raise TypeError(f"presence meta must be a dict with str keys, got {meta!r}")
    if "phx_ref" in meta or "phx_ref_prev" in meta:
        raise ValueError("presence meta must not set phx_ref or phx_ref_prev")
    dumps(meta)  # strict JSON, or EncodeError (a TypeError) here rather than in a publish
    return dict(meta)
