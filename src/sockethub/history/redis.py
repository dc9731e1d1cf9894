"""RedisHistory: topic streams in Redis, shared by every process and surviving restarts.

Structure, per topic with history (``P`` is the bus's ``prefix``):

``P + "hs:" + topic``, a Redis Stream
    One entry per publication, with the id ``<offset>-0`` and two fields: ``d`` (the
    message's JSON, ``{"e": event, "p": payload}``) and ``t`` (Redis's clock in ms when it
    was stored).  ``XADD ... MAXLEN size`` trims it to the latest ``History.size`` entries
    on every publication; ``PEXPIRE ttl`` drops the whole stream ``History.ttl`` seconds
    after its last publication; reads skip entries older than ``ttl``.
``P + "hm:" + topic``, a hash
    ``e``: the epoch (random, set when the hash is created), ``o``: the last offset
    (``HINCRBY``).  It expires ``History.position_ttl`` seconds after the last
    publication or read.  When it is missing (never created, expired, or Redis lost its
    data: ``FLUSHALL``, a restart without persistence), the next publication or read
    creates it with a new epoch and deletes any leftover stream: clients holding the old
    epoch are told recovery failed.

One Lua script per publication runs ``HINCRBY`` + ``XADD`` + ``PEXPIRE`` + ``PUBLISH``
atomically, so the offset every subscriber receives live is the offset stored, and no
reader sees a stored entry whose ``PUBLISH`` has not happened yet (or the reverse).  The
live message is the bus's JSON with ``"h": [offset, epoch]`` added, which
:class:`~sockethub.bus.redis.RedisSocketBus` hands to subscribers as a
:class:`~sockethub.history.base.PositionedMessage`.  A read is one script too (the
hash, then ``XRANGE`` from the requested offset), so the position it returns and the
entries agree.

Memory: measured with ``MEMORY USAGE`` by ``benchmarks/history.py`` and reported in
``docs/history.md``.  Durability is Redis's: with RDB/AOF persistence the streams survive a
Redis restart; without it a restart is an epoch change.  Redis Cluster is not supported
(the two keys and the channel of a topic are not forced into one slot).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError

from ..bus.base import BusCallback, BusUnavailable
from ..bus.redis import RedisSocketBus
from ..envelope import loads
from .base import (
    History,
    HistoryPage,
    HistoryStore,
    Publication,
    StreamPosition,
    check_limit,
    refuse_bytes,
    select,
)

__all__ = ["RedisHistory"]

# KEYS: stream, meta.  ARGV: channel, body, origin, size, ttl ms, position ttl ms, epoch.
_PUBLISH = """
local epoch = redis.call('HGET', KEYS[2], 'e')
if not epoch then
  epoch = ARGV[7]
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[2], 'e', epoch)
end
local offset = redis.call('HINCRBY', KEYS[2], 'o', 1)
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local id = string.format('%d-0', offset)
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[4], id, 'd', ARGV[2], 't', ms)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
local head = string.format('{"h":[%d,"%s"]', offset, epoch)
if ARGV[3] ~= '' then
  head = head .. ',"o":"' .. ARGV[3] .. '"'
end
redis.call('PUBLISH', ARGV[1], head .. ',' .. string.sub(ARGV[2], 2))
return {offset, epoch}
"""

# KEYS: stream, meta.  ARGV: epoch if new, first id ("-" for all), position ttl ms.
_READ = """
local epoch = redis.call('HGET', KEYS[2], 'e')
if not epoch then
  epoch = ARGV[1]
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[2], 'e', epoch, 'o', 0)
end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
local top = redis.call('HGET', KEYS[2], 'o')
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
return {epoch, top, ms, redis.call('XRANGE', KEYS[1], ARGV[2], '+')}
"""


_PUBLISH_SHA = hashlib.sha1(_PUBLISH.encode()).hexdigest()
_READ_SHA = hashlib.sha1(_READ.encode()).hexdigest()


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _ms(seconds: float) -> str:
    return str(max(1, int(seconds * 1000)))


class RedisHistory(HistoryStore):
    """Topic streams on the Redis of a :class:`RedisSocketBus`, with the bus's prefix.

    Made for you when the hub's bus is a ``RedisSocketBus``; uses the bus's client and
    raises what the bus raises: :class:`~sockethub.BusUnavailable` when Redis cannot be
    reached, :class:`~sockethub.EncodeError` for a payload that is not strict JSON.  See
    the module docstring for the keys, trimming and atomicity.
    """

    def __init__(self, bus: RedisSocketBus) -> None:
        self._bus = bus

    async def _run(self, client: Redis, script: str, sha: str, *args: Any) -> Any:
        """``EVALSHA`` the script (two keys first in ``args``), loading it when Redis does
        not know it (first use, or after a restart or ``SCRIPT FLUSH``)."""
        try:
            return await client.evalsha(sha, 2, *args)
        except NoScriptError:
            await client.script_load(script)
            return await client.evalsha(sha, 2, *args)

    def keys(self, topic: str) -> tuple[str, str]:
        """The stream key and the position hash key of ``topic``."""
        prefix = self._bus.prefix
        return prefix + "hs:" + topic, prefix + "hm:" + topic

    async def publish(
        self,
        topic: str,
        event: str,
        payload: Any,
        history: History,
        *,
        exclude: BusCallback | None = None,
        payload_json: str | None = None,
    ) -> StreamPosition:
        refuse_bytes(topic, payload)
        stream, meta = self.keys(topic)

        async def send(client: Redis, channel: str, body: str, origin: str) -> StreamPosition:
            offset, epoch = await self._run(
                client,
                _PUBLISH,
                _PUBLISH_SHA,
                stream,
                meta,
                channel,
                body,
                origin,
                history.size,
                _ms(history.ttl),
                _ms(history.position_ttl),
                os.urandom(6).hex(),
            )
            return StreamPosition(int(offset), _text(epoch))

        return await self._bus.publish_via(
            topic, event, payload, exclude, send, payload_json=payload_json
        )

    async def read(
        self,
        topic: str,
        history: History,
        *,
        since: StreamPosition | None = None,
        limit: int | None = None,
    ) -> HistoryPage:
        check_limit(limit)
        client = self._bus.client
        if client is None or not self._bus.healthy:
            raise BusUnavailable(
                f"Redis bus is {self._bus.state}; the history of {topic!r} cannot be read"
            )
        stream, meta = self.keys(topic)
        first = "-" if since is None else f"{since.offset + 1}-0"
        try:
            epoch, top, now, raw = await self._run(
                client,
                _READ,
                _READ_SHA,
                stream,
                meta,
                os.urandom(6).hex(),
                first,
                _ms(history.position_ttl),
            )
        except (RedisError, OSError) as exc:
            raise BusUnavailable(
                f"Redis history: reading {stream!r} failed ({type(exc).__name__}: {exc})"
            ) from exc
        cutoff = int(now) - int(history.ttl * 1000)
        entries: list[Publication] = []
        for entry_id, fields in raw:
            values = dict(zip(fields[::2], fields[1::2], strict=True))
            stored = values.get(b"t", values.get("t"))
            data = values.get(b"d", values.get("d"))
            if stored is None or data is None or int(stored) < cutoff:
                continue
            body = loads(data)
            offset = int(_text(entry_id).partition("-")[0])
            entries.append(Publication(offset, body["e"], body["p"]))
        position = StreamPosition(int(top), _text(epoch))
        return select(entries, position, since, limit)
