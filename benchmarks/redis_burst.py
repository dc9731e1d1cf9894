"""A burst of concurrent publishes on the Redis bus: bounded blocking pool vs redis-py's default.

Usage::

    PYTHONPATH=src:. .venv/bin/python -m benchmarks.redis_burst [--publishers 1000]
                                                                [--rounds 5]

Needs ``redis-server`` on PATH.  One real ``redis-server`` is started (and stopped) by the
script.  A burst is ``--publishers`` tasks that all call ``bus.publish`` at the same
moment (N clients reacting to the same event); one subscriber counts what arrives.  Rows:

* ``default pool``: the bus publishing through a ``Redis.from_url`` client, i.e.
  redis-py's default connection pool, which is what 0.2 used: publishes beyond its size
  fail with ``MaxConnectionsError`` (``BusUnavailable``, a client's ``4503``);
* ``bounded N``: the bus's own publishing pool, ``max_publish_connections=N`` connections
  that publishes queue for (``publish_wait`` seconds at most).

Columns: publishes that succeeded and failed, wall time of the burst (until every
successful publish was delivered), that time per *successful* publish and its ratio to
the ``default pool`` row, and the peak number of connections Redis saw from this process.
Medians over ``--rounds`` rounds, the rows interleaved (the order rotates every round).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from sockethub.bus import BusUnavailable, PubSubMessage
from sockethub.bus.redis import RedisSocketBus
from tests.redis_server import RedisServer, require_redis_server


@dataclass
class Burst:
    ok: int
    failed: int
    seconds: float
    peak_connections: int


async def _clients(admin: Redis) -> int:
    info = await admin.info("clients")
    return int(info["connected_clients"])


async def burst(url: str, row: str, publishers: int, admin: Redis) -> Burst:
    client: Redis | None = None
    if row == "default pool":
        client = Redis.from_url(url)
        bus = RedisSocketBus(url, prefix=f"burst-{row}:", client=client)
    else:
        size = int(row.split()[1])
        bus = RedisSocketBus(url, prefix=f"burst-{size}:", max_publish_connections=size)
    await bus.start()
    received = 0
    done = asyncio.Event()

    def count(message: PubSubMessage) -> None:
        nonlocal received
        received += 1
        if received == publishers:
            done.set()

    await bus.subscribe("t", count)
    base = await _clients(admin)
    peak = base
    stop = asyncio.Event()

    async def watch() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, await _clients(admin))
            await asyncio.sleep(0.002)

    async def one(n: int) -> bool:
        try:
            await bus.publish("t", "e", n)
        except BusUnavailable:
            return False
        return True

    watcher = asyncio.create_task(watch())
    start = time.perf_counter()
    results = await asyncio.gather(*(one(n) for n in range(publishers)))
    ok = sum(results)
    if ok == publishers:
        await asyncio.wait_for(done.wait(), 30)
    elapsed = time.perf_counter() - start
    stop.set()
    await watcher
    await bus.close()
    if client is not None:
        await client.aclose()
    # The subscription connection and the admin client are not publishing connections.
    return Burst(ok, publishers - ok, elapsed, peak - base)


async def run(args: argparse.Namespace) -> None:
    server = RedisServer(require_redis_server())
    server.start()
    try:
        admin = Redis.from_url(server.url)
        rows = ["default pool", *(f"bounded {n}" for n in args.pool)]
        out: dict[str, list[Burst]] = {row: [] for row in rows}
        for r in range(args.rounds):
            for row in rows[r % len(rows) :] + rows[: r % len(rows)]:
                out[row].append(await burst(server.url, row, args.publishers, admin))
        await admin.aclose()
    finally:
        server.close()
    print(f"\n{args.publishers} concurrent publishes, median of {args.rounds} rounds\n")
    print(
        "| publish path | succeeded | failed (4503) | wall ms "
        "| µs per success | vs default | peak conns |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")

    def per_success(b: Burst) -> float:
        return b.seconds / max(b.ok, 1) * 1e6

    ref = statistics.median(per_success(b) for b in out["default pool"])
    for row in rows:
        bursts = out[row]
        each = statistics.median(per_success(b) for b in bursts)
        print(
            f"| {row} | {statistics.median(b.ok for b in bursts):.0f} "
            f"| {statistics.median(b.failed for b in bursts):.0f} "
            f"| {statistics.median(b.seconds for b in bursts) * 1000:.1f} "
            f"| {each:.0f} | {each / ref:.2f}x "
            f"| {max(b.peak_connections for b in bursts)} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--publishers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pool", type=int, action="append", default=None)
    args = parser.parse_args()
    if args.pool is None:
        args.pool = [4, 16, 64]
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
