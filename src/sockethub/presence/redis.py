"""RedisPresence: one presence state for every process on one Redis.

Layout (``P`` is the prefix, the bus's by default):

* ``P presence:t:<topic>``: a hash ``phx_ref -> entry`` (JSON) per topic: a join's state
  is one ``HGETALL``;
* ``P presence:n:<node>``: a set of ``"<topic>\\n<ref>"`` per process: what to remove
  when that process is gone;
* ``P presence:alive``: a sorted set ``node -> last heartbeat`` (Redis's clock, ms).

Every process heartbeats every ``heartbeat_interval`` seconds and then reaps: one Lua
script, atomic, removes every process not heard from for ``dead_after`` seconds with all
its entries, and returns them to exactly one reaper, which publishes their leaves.  **A
process killed without cleaning up (SIGKILL, power loss) disappears from every other
process within ``dead_after + heartbeat_interval`` seconds: 6 s by default.**

Each process keeps its own presences in memory (the tracker's record is the truth for
it).  A write that fails during an outage is not raised: once Redis answers again (its
heartbeat is missing after a restart, or this process was reaped while cut off) the
process re-asserts its entries under new refs (and removes any it no longer holds),
publishes each as an update of the old ref (so it commutes with a reaper's leave of the
old one), and ``2 * heartbeat_interval`` later, when every live process has re-asserted
too, sends its local subscribers the whole state again, so clients drop ghosts and see
what they missed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ..bus.base import BusUnavailable
from ..envelope import dumps, loads
from .base import PresenceEntry, PresenceHost, PresenceStore

if TYPE_CHECKING:
    from ..bus.redis import RedisSocketBus

__all__ = ["RedisPresence"]

logger = logging.getLogger(__name__)

_OUTAGE = (RedisError, OSError, asyncio.TimeoutError)

_HEARTBEAT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local known = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now, ARGV[1])
if known then return 1 end
return 0
"""

_REAP = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]),
                        'LIMIT', 0, 16)
local out = {}
for _, node in ipairs(dead) do
  if node ~= ARGV[3] then
    redis.call('ZREM', KEYS[1], node)
    local nkey = ARGV[1] .. 'presence:n:' .. node
    for _, m in ipairs(redis.call('SMEMBERS', nkey)) do
      local cut = string.find(m, '\\n[^\\n]*$')
      local tkey = ARGV[1] .. 'presence:t:' .. string.sub(m, 1, cut - 1)
      local ref = string.sub(m, cut + 1)
      local v = redis.call('HGET', tkey, ref)
      if v then
        redis.call('HDEL', tkey, ref)
        table.insert(out, v)
      end
    end
    redis.call('DEL', nkey)
  end
end
return out
"""


def _encode(entry: PresenceEntry) -> str:
    return dumps(
        {
            "t": entry.topic,
            "k": entry.key,
            "r": entry.ref,
            "m": entry.meta,
            "o": entry.owner,
            "n": entry.node,
            "i": entry.identity,
            "p": entry.prev_ref,
        }
    )


def _decode(raw: bytes | str) -> PresenceEntry | None:
    try:
        d = loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
        return PresenceEntry(d["t"], d["k"], d["r"], d["m"], d["o"], d["n"], d.get("i"), d.get("p"))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        logger.warning("presence: ignoring an undecodable entry %r", raw[:200])
        return None


class RedisPresence(PresenceStore):
    """Presence state shared by every process on one Redis (see the module docstring).

    ``url`` is a redis-py URL, ignored when ``client`` (a ``redis.asyncio.Redis`` you own
    and close) is given.  ``prefix`` namespaces the keys (use the bus's: a hub on a
    :class:`~sockethub.bus.redis.RedisSocketBus` builds this store with the bus's URL
    and prefix by default).  ``heartbeat_interval`` (default 1 s) and ``dead_after``
    (default 5 s) bound how long a dead process's presences stay: at most
    ``dead_after + heartbeat_interval``.  ``dead_after`` must exceed the longest pause
    of a live process's event loop, or the others declare it dead (it then re-asserts
    its presences, and clients see them leave and come back).
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "sockethub:",
        client: Redis | None = None,
        heartbeat_interval: float = 1.0,
        dead_after: float = 5.0,
        command_timeout: float = 5.0,
    ) -> None:
        if not heartbeat_interval > 0:
            raise ValueError(f"heartbeat_interval must be > 0, got {heartbeat_interval!r}")
        if not dead_after > heartbeat_interval:
            raise ValueError(
                f"dead_after ({dead_after!r}) must exceed heartbeat_interval "
                f"({heartbeat_interval!r})"
            )
        self._url = url
        self._client_arg = client
        self.prefix = prefix
        self.heartbeat_interval = heartbeat_interval
        self.dead_after = dead_after
        self._command_timeout = command_timeout
        self._client: Redis | None = None
        self._host: PresenceHost | None = None
        self._task: asyncio.Task[None] | None = None
        self._resync: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._dirty = False
        self._up = False
        self.node = ""  # the tracker's, set by start()
        self.reaped = 0
        """Entries of dead processes this process removed (and published leaves for)."""

    @classmethod
    def for_bus(cls, bus: RedisSocketBus, **options: Any) -> RedisPresence:
        """A store on the bus's Redis (its ``client`` if it was given one) and prefix."""
        return cls(bus._url, prefix=bus.prefix, client=bus._client_arg, **options)

    @property
    def bound(self) -> float:
        """Seconds within which a dead process's presences are gone everywhere."""
        return self.dead_after + self.heartbeat_interval

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self, host: PresenceHost) -> None:
        if self._task is not None:
            return
        self._host = host
        self.node = host.node
        self._lock = asyncio.Lock()
        if self._client_arg is not None:
            self._client = self._client_arg
        else:
            self._client = Redis.from_url(
                self._url,
                socket_timeout=self._command_timeout,
                socket_connect_timeout=self._command_timeout,
            )
        await self._beat()  # registered before any entry is written
        self._task = asyncio.get_running_loop().create_task(self._heartbeats())

    async def close(self) -> None:
        task, self._task = self._task, None
        for pending in (task, self._resync):
            if pending is not None:
                pending.cancel()
                await asyncio.wait({pending})
        self._resync = None
        client, self._client = self._client, None
        if client is None:
            return
        try:
            async with client.pipeline(transaction=True) as pipe:
                pipe.zrem(self._alive, self.node)
                pipe.delete(self._node_key(self.node))
                await pipe.execute()
        except _OUTAGE as exc:
            logger.warning("presence: could not deregister from Redis at close: %s", exc)
        if self._client_arg is None:
            await client.aclose()
        self._host = None

    # -- the store ----------------------------------------------------------------------

    async def put(self, entry: PresenceEntry, replaces: PresenceEntry | None = None) -> None:
        client = self._running()
        async with self._lock:
            try:
                async with client.pipeline(transaction=True) as pipe:
                    if replaces is not None:
                        pipe.hdel(self._topic_key(replaces.topic), replaces.ref)
                        pipe.srem(self._node_key(self.node), _member(replaces))
                    pipe.hset(self._topic_key(entry.topic), entry.ref, _encode(entry))
                    pipe.sadd(self._node_key(self.node), _member(entry))
                    await pipe.execute()
            except _OUTAGE as exc:
                self._failed("put", exc)

    async def remove(self, entries: Sequence[PresenceEntry]) -> None:
        if not entries:
            return
        client = self._running()
        async with self._lock:
            try:
                async with client.pipeline(transaction=True) as pipe:
                    for entry in entries:
                        pipe.hdel(self._topic_key(entry.topic), entry.ref)
                        pipe.srem(self._node_key(self.node), _member(entry))
                    await pipe.execute()
            except _OUTAGE as exc:
                self._failed("remove", exc)

    async def entries(self, topic: str) -> list[PresenceEntry]:
        client = self._running()
        try:
            raw = await client.hgetall(self._topic_key(topic))
        except _OUTAGE as exc:
            raise BusUnavailable(f"presence: cannot read {topic!r} from Redis: {exc}") from exc
        found = [e for e in map(_decode, raw.values()) if e is not None]
        found.sort(key=_tracking_order)
        return found

    # -- heartbeats, the reaper, re-assertion -------------------------------------------

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            try:
                await self._beat()
                await self._reap()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("presence: heartbeat failed")

    async def _beat(self) -> None:
        client = self._client
        assert client is not None
        try:
            known = await client.eval(_HEARTBEAT, 1, self._alive, self.node)
        except _OUTAGE as exc:
            if self._up:
                logger.warning("presence: Redis unreachable, heartbeat failed: %s", exc)
            self._up = False
            return
        was_up, self._up = self._up, True
        if not was_up and self._host is not None and self._task is not None:
            logger.info("presence: Redis reachable again")
            self._dirty = True
        if not known and self._task is not None:
            # Redis lost our registration (a restart) or the others declared us dead.
            logger.warning("presence: this process's registration was lost; re-asserting")
            self._dirty = True
        if self._dirty:
            await self._reassert()

    async def _reap(self) -> None:
        client = self._client
        host = self._host
        if client is None or host is None or not self._up:
            return
        try:
            raw = await client.eval(
                _REAP, 1, self._alive, self.prefix, int(self.dead_after * 1000), self.node
            )
        except _OUTAGE as exc:
            logger.warning("presence: reaping failed: %s", exc)
            return
        gone = [e for e in map(_decode, raw or ()) if e is not None]
        if gone:
            self.reaped += len(gone)
            logger.info("presence: removed %d presences of dead processes", len(gone))
            await host.removed(gone)

    async def _reassert(self) -> None:
        """Have the tracker re-assert its entries (:meth:`rewrite`), then schedule a
        whole-state resend to local subscribers once every live process has too."""
        host = self._host
        assert host is not None
        try:
            await host.reassert()
        except _OUTAGE as exc:
            self._failed("re-assert", exc)
            return
        self._dirty = False
        if self._resync is None or self._resync.done():
            self._resync = asyncio.get_running_loop().create_task(self._resend_later())

    async def rewrite(self, entries: Sequence[PresenceEntry]) -> None:
        """Make ``entries`` this process's whole content in Redis: write them, remove
        every other entry of this process.  Raises on an outage."""
        client = self._running()
        keep = {_member(e) for e in entries}
        node_key = self._node_key(self.node)
        async with self._lock:
            listed = await client.smembers(node_key)
            stale = [m for m in map(_text, listed) if m not in keep]
            async with client.pipeline(transaction=True) as pipe:
                for member in stale:
                    topic, _, ref = member.rpartition("\n")
                    pipe.hdel(self._topic_key(topic), ref)
                    pipe.srem(node_key, member)
                for entry in entries:
                    pipe.hset(self._topic_key(entry.topic), entry.ref, _encode(entry))
                    pipe.sadd(node_key, _member(entry))
                await pipe.execute()

    async def _resend_later(self) -> None:
        await asyncio.sleep(2 * self.heartbeat_interval)
        host = self._host
        if host is not None:
            await host.recovered()

    # -- helpers --------------------------------------------------------------------------

    @property
    def _alive(self) -> str:
        return f"{self.prefix}presence:alive"

    def _topic_key(self, topic: str) -> str:
        return f"{self.prefix}presence:t:{topic}"

    def _node_key(self, node: str) -> str:
        return f"{self.prefix}presence:n:{node}"

    def _running(self) -> Redis:
        if self._client is None:
            raise RuntimeError(
                "RedisPresence is not started: run the hub's lifespan "
                "(Starlette(lifespan=hub.lifespan))"
            )
        return self._client

    def _failed(self, what: str, exc: BaseException) -> None:
        self._dirty = True
        logger.warning("presence: %s failed (%s); re-asserted once Redis is back", what, exc)

    def __repr__(self) -> str:
        return f"<RedisPresence node={self.node} prefix={self.prefix!r}>"


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _member(entry: PresenceEntry) -> str:
    return f"{entry.topic}\n{entry.ref}"


def _tracking_order(entry: PresenceEntry) -> tuple[str, int]:
    node, _, n = entry.ref.rpartition(".")
    return (node, int(n) if n.isdigit() else 0)
