"""Hold 1,000 connections on one uvicorn process; compare memory per connection and
delivery with a raw Starlette endpoint holding the same sockets, in the same run.

    .venv/bin/python benchmarks/load.py [--connections 1000] [--seconds 60]

Each connection joins one of 10 rooms; the server publishes to every room periodically
for ``--seconds``; the client counts every delivery.  Memory is the server process's RSS
growth from idle to all connections joined, divided by the connection count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import urllib.request
from pathlib import Path

from websockets.asyncio.client import connect

from benchmarks._uvicorn import uvicorn_server

ROOT = Path(__file__).resolve().parent.parent
ROOMS = 10


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def measure(app: str, connections: int, seconds: float) -> dict[str, float]:
    with uvicorn_server(
        f"benchmarks._load_apps:{app}", ws="websockets-sansio", args=("--ws-ping-interval", "0")
    ) as (port, pid):
        await asyncio.sleep(1.0)
        idle = rss_kib(pid)
        conns = []
        for i in range(connections):
            ws = await connect(f"ws://127.0.0.1:{port}/ws", ping_interval=None, max_queue=None)
            await ws.send(json.dumps({"topic": f"room:{i % ROOMS}", "event": "join", "ref": "j"}))
            conns.append(ws)
        for ws in conns:
            await ws.recv()  # the join acknowledgement
        await asyncio.sleep(1.0)
        joined = rss_kib(pid)
        interval = 0.5
        count = max(1, int(seconds / interval))
        received = [0] * connections

        async def reader(i: int) -> None:
            ws = conns[i]
            while received[i] < count:
                msg = json.loads(await ws.recv())
                if msg.get("event") == "tick":
                    received[i] += 1

        readers = [asyncio.create_task(reader(i)) for i in range(connections)]
        await asyncio.to_thread(
            urllib.request.urlopen,
            urllib.request.Request(
                f"http://127.0.0.1:{port}/publish?count={count}&interval={interval}", method="POST"
            ),
        )
        await asyncio.wait(readers, timeout=seconds + 30)
        for task in readers:
            task.cancel()
        end = rss_kib(pid)
        for ws in conns:
            await ws.close()
        return {
            "per_conn_kib": (joined - idle) / connections,
            "per_conn_end_kib": (end - idle) / connections,
            "expected": float(count * connections),
            "lost": float(count * connections - sum(received)),
        }


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    raw = await measure("raw_app", args.connections, args.seconds)
    hub = await measure("hub_app", args.connections, args.seconds)
    print(
        f"\n{args.connections} connections held for {args.seconds:.0f} s, 10 rooms, a publish per room every 0.5 s\n"
    )
    print("| server | KiB/conn (joined) | KiB/conn (end) | deliveries expected | lost |")
    print("|---|---:|---:|---:|---:|")
    for name, r in (("raw Starlette", raw), ("SocketHub", hub)):
        print(
            f"| {name} | {r['per_conn_kib']:.1f} | {r['per_conn_end_kib']:.1f} | {r['expected']:.0f} | {r['lost']:.0f} |"
        )
    diff = hub["per_conn_kib"] - raw["per_conn_kib"]
    print(
        f"\nhub - raw: {diff:+.1f} KiB per connection (target: <= +4 KiB); hub/raw = {hub['per_conn_kib'] / raw['per_conn_kib']:.2f}x"
    )


if __name__ == "__main__":
    asyncio.run(main())
