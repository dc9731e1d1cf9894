"""Request/reply round trips: the hub's ``on_receive`` reply vs a raw Starlette echo.

Usage::

    PYTHONPATH=src:. .venv/bin/python -m benchmarks.request_reply [--n 200 --n 1000]
        [--requests 20] [--rounds 5] [--ws websockets-sansio]

One uvicorn process (``benchmarks/_rr_server.py``) serves both.  ``--n`` clients (real
``websockets`` clients in this process) each send a request with a ``ref`` and wait for
its reply before the next, ``--requests`` times; all clients run at once.  Columns: round
trips per second over all clients, latency p50 and p99, the server's CPU time per round
trip (from ``/proc``, Linux only; the steadiest figure on a small machine where the
client process competes for CPU), and the hub/raw ratios.  By default the server and the
clients are pinned to two different CPUs (Linux), which steadies the figures.  The two
servers run one after the other within each round, alternating which goes first; medians
over rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time

from websockets.asyncio.client import ClientConnection, connect

from benchmarks._fanout_client import process_cpu
from benchmarks._uvicorn import uvicorn_server


async def client_run(ws: ClientConnection, requests: int, latencies: list[float]) -> None:
    for i in range(requests):
        start = time.perf_counter()
        await ws.send(json.dumps({"topic": "room:1", "event": "echo", "payload": i, "ref": str(i)}))
        await ws.recv()
        latencies.append(time.perf_counter() - start)


async def measure(
    port: int, pid: int, path: str, n: int, requests: int
) -> tuple[float, float, float, float]:
    conns = [
        await connect(f"ws://127.0.0.1:{port}{path}", compression=None, ping_interval=None)
        for _ in range(n)
    ]
    for ws in conns:
        await ws.send(json.dumps({"topic": "room:1", "event": "join"}))
    await asyncio.gather(*(client_run(ws, 2, []) for ws in conns))  # warm-up
    latencies: list[float] = []
    cpu = process_cpu(pid)
    start = time.perf_counter()
    await asyncio.gather(*(client_run(ws, requests, latencies) for ws in conns))
    elapsed = time.perf_counter() - start
    cpu_us = (process_cpu(pid) - cpu) / (n * requests) * 1e6
    for ws in conns:
        await ws.close()
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    return n * requests / elapsed, p(0.5) * 1000, p(0.99) * 1000, cpu_us


async def run(args: argparse.Namespace) -> None:
    server = uvicorn_server(
        "benchmarks._rr_server:app", ws=args.ws, args=("--ws-ping-interval", "0")
    )
    with server as (port, pid):
        if args.pin and len(os.sched_getaffinity(0)) >= 2:
            # One CPU for the server, another for the clients: they no longer compete.
            cpus = sorted(os.sched_getaffinity(0))
            os.sched_setaffinity(pid, {cpus[0]})
            os.sched_setaffinity(0, {cpus[1]})
        await asyncio.sleep(0.5)
        print(
            f"\nrequest/reply, uvicorn --ws {args.ws}, {args.requests} requests per client, "
            f"median of {args.rounds} rounds\n"
        )
        print(
            "| N | hub rt/s | raw rt/s | hub/raw | paired hub/raw | hub p50 ms | raw p50 ms "
            "| hub p99 ms | raw p99 ms | server CPU µs/rt hub | raw | hub/raw |"
        )
        print("|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
        for n in args.n:
            out: dict[str, list[tuple[float, float, float, float]]] = {"/hub": [], "/raw": []}
            for r in range(args.rounds):
                for path in ("/hub", "/raw") if r % 2 == 0 else ("/raw", "/hub"):
                    out[path].append(await measure(port, pid, path, n, args.requests))
            hub = [statistics.median(x[i] for x in out["/hub"]) for i in range(4)]
            raw = [statistics.median(x[i] for x in out["/raw"]) for i in range(4)]
            print(
                f"| {n} | {hub[0]:,.0f} | {raw[0]:,.0f} | {hub[0] / raw[0]:.2f}x "
                f"| {paired(out['/hub'], out['/raw'])} "
                f"| {hub[1]:.1f} | {raw[1]:.1f} | {hub[2]:.1f} | {raw[2]:.1f} "
                f"| {hub[3]:.1f} | {raw[3]:.1f} | {hub[3] / raw[3]:.2f}x |"
            )


def paired(hub: list[tuple[float, ...]], raw: list[tuple[float, ...]]) -> str:
    """The hub/raw ratio of round trips per second within each round (the two
    measurements of a round run back to back, so the machine's drift between rounds
    cancels out): median, and the lowest and highest in brackets."""
    ratios = sorted(h[0] / r[0] for h, r in zip(hub, raw, strict=True))
    return f"{statistics.median(ratios):.2f}x [{ratios[0]:.2f}-{ratios[-1]:.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, action="append", default=None)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ws", default="websockets-sansio")
    parser.add_argument(
        "--no-pin", dest="pin", action="store_false", help="do not pin server and clients"
    )
    args = parser.parse_args()
    args.n = args.n or [200, 1000]
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
