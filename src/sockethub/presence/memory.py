"""InMemoryPresence: presence in one process, and the reference semantics for every store."""

from __future__ import annotations

from collections.abc import Sequence

from .base import PresenceEntry, PresenceHost, PresenceStore

__all__ = ["InMemoryPresence"]


class InMemoryPresence(PresenceStore):
    """Presences of this process only: the default with the in-memory bus.

    Entries live in one dict per topic keyed by ref, so a track, an update and an untrack
    cost O(1) and a topic's list comes out in tracking order (an update takes the place
    of the entry it replaces at the end, as a new track would).  Nothing to start: it
    also works for a hub whose lifespan never ran.
    """

    def __init__(self) -> None:
        self._topics: dict[str, dict[str, PresenceEntry]] = {}

    async def start(self, host: PresenceHost) -> None:
        return None

    async def close(self) -> None:
        self._topics.clear()

    async def put(self, entry: PresenceEntry, replaces: PresenceEntry | None = None) -> None:
        if replaces is not None:
            self._drop(replaces)
        self._topics.setdefault(entry.topic, {})[entry.ref] = entry

    async def remove(self, entries: Sequence[PresenceEntry]) -> None:
        for entry in entries:
            self._drop(entry)

    async def entries(self, topic: str) -> list[PresenceEntry]:
        refs = self._topics.get(topic)
        return list(refs.values()) if refs else []

    def _drop(self, entry: PresenceEntry) -> None:
        refs = self._topics.get(entry.topic)
        if refs is not None and refs.pop(entry.ref, None) is not None and not refs:
            del self._topics[entry.topic]
