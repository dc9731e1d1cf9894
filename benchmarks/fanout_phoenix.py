"""Fan-out benchmark, Phoenix row: one hub serving 0.1-envelope clients vs Phoenix V2 clients.

    PYTHONPATH=src:. .venv/bin/python -m benchmarks.fanout_phoenix            # N=200, 3 rounds
    PYTHONPATH=src:. .venv/bin/python -m benchmarks.fanout_phoenix --n 1000 --rounds 5

It reuses :mod:`benchmarks.fanout` (the uvicorn process serving
:mod:`benchmarks._fanout_server`) and :mod:`benchmarks._fanout_client` (reading client groups,
one measured run).  The same hub (``/hub/ws``) serves every hub row; only the clients differ:

* ``hub envelope``: N clients of the default protocol (join ``{"topic","event":"join","ref"}``);
* ``hub phoenix``: N clients connecting with ``?vsn=2.0.0`` and joining with ``phx_join``, so
  the hub picks :class:`~sockethub.protocols.PhoenixProtocol` for them;
* ``hub mixed``: N/2 of each on the same topic: every publish is encoded once per protocol
  in use (two encodings), not once per subscriber;
* ``baseline`` and ``broadcaster``: the peers of ``benchmarks/fanout.py``.

The hub rows share one topic, so each run opens its group, measures, and closes it; the
order of the rows rotates every round.  The table shows medians over the rounds of
deliveries/s (client side) and server CPU µs per delivery, with ratios to the envelope row
and to the peers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time

import httpx
from websockets.asyncio.client import ClientConnection, connect

from benchmarks._fanout_client import Group, Result, open_group, run
from benchmarks.fanout import server

ROWS = ("envelope", "phoenix", "mixed", "base", "bcast")
NAMES = {
    "envelope": "hub envelope",
    "phoenix": "hub phoenix",
    "mixed": "hub mixed (1/2 each)",
    "base": "baseline",
    "bcast": "broadcaster",
}
PHX_JOIN = json.dumps(["1", "1", "bench", "phx_join", {}])


async def _connect(url: str) -> ClientConnection:
    return await connect(
        url, compression=None, ping_interval=None, proxy=None, open_timeout=60, max_size=None
    )


async def open_hub_group(port: int, phoenix: int, envelope: int) -> Group:
    """A :class:`Group` on the hub (published through ``/publish/hub``): ``phoenix`` Phoenix
    V2 clients and ``envelope`` 0.1-envelope clients, each joined to ``"bench"``."""
    group = Group("hub")
    gate = asyncio.Semaphore(100)

    async def one_phoenix() -> ClientConnection:
        async with gate:
            ws = await _connect(f"ws://127.0.0.1:{port}/hub/ws?vsn=2.0.0")
            await ws.send(PHX_JOIN)
            ack = json.loads(await ws.recv())
            assert ack[3:5] == ["phx_reply", {"status": "ok", "response": {}}], ack
            return ws

    async def one_envelope() -> ClientConnection:
        async with gate:
            ws = await _connect(f"ws://127.0.0.1:{port}/hub/ws")
            await ws.send(json.dumps({"topic": "bench", "event": "join", "ref": "j"}))
            ack = json.loads(await ws.recv())
            assert ack["payload"]["status"] == "ok", ack
            return ws

    conns = await asyncio.gather(
        *(one_phoenix() for _ in range(phoenix)), *(one_envelope() for _ in range(envelope))
    )
    group.conns = list(conns)
    group.readers = [asyncio.create_task(group.read(ws)) for ws in group.conns]
    return group


async def open_row(port: int, row: str, n: int) -> Group:
    if row == "envelope":
        return await open_hub_group(port, 0, n)
    if row == "phoenix":
        return await open_hub_group(port, n, 0)
    if row == "mixed":
        return await open_hub_group(port, n // 2, n - n // 2)
    return await open_group(port, row, n)


async def measure(
    port: int, pid: int, n: int, rounds: int, deliveries: int, batch: int, size: int
) -> dict[str, list[Result]]:
    results: dict[str, list[Result]] = {row: [] for row in ROWS}
    messages = max(batch, deliveries // n // batch * batch)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
        for r in range(rounds):
            shift = r % len(ROWS)
            for row in ROWS[shift:] + ROWS[:shift]:
                group = await open_row(port, row, n)
                try:
                    results[row].append(
                        await run(http, group, pid, messages=messages, batch=batch, size=size)
                    )
                finally:
                    await group.close()
                await asyncio.sleep(0.2)  # let the server finish closing the sockets
    return results


def _median(results: list[Result], attr: str) -> float | None:
    done = [getattr(r, attr) for r in results if r.completed]
    return statistics.median(done) if done else None


def print_table(ws: str, n: int, results: dict[str, list[Result]]) -> None:
    rate = {row: _median(rs, "rate") for row, rs in results.items()}
    cpu = {row: _median(rs, "server_us") for row, rs in results.items()}
    print(f"\n## uvicorn --ws {ws}: fan-out to N = {n} subscribers (median of rounds)\n")
    print(
        "| clients | deliveries/s | /hub envelope | /baseline | /broadcaster "
        "| server CPU µs/delivery | /hub envelope | /baseline | /broadcaster |"
    )
    print("|---|---|---|---|---|---|---|---|---|")

    def ratio(a: float | None, b: float | None) -> str:
        return "n/a" if a is None or b is None else f"{a / b:.2f}x"

    for row in ROWS:
        r, c = rate[row], cpu[row]
        if r is None or c is None:
            print(f"| {NAMES[row]} | incomplete | | | | | | | |")
            continue
        print(
            f"| {NAMES[row]} | {r:,.0f} | {ratio(r, rate['envelope'])} "
            f"| {ratio(r, rate['base'])} | {ratio(r, rate['bcast'])} "
            f"| {c:.2f} | {ratio(c, cpu['envelope'])} | {ratio(c, cpu['base'])} "
            f"| {ratio(c, cpu['bcast'])} |"
        )


async def bench(ws: str, sizes: list[int], args: argparse.Namespace) -> None:
    with server(ws) as (port, pid):
        for n in sizes:
            results = await measure(
                port, pid, n, args.rounds, args.deliveries, args.batch, args.size
            )
            print_table(ws, n, results)
            sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, action="append", help="subscribers (default 200)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--deliveries", type=int, default=100_000, help="per run, roughly")
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--size", type=int, default=64, help="payload string length")
    parser.add_argument("--ws", default="websockets-sansio", help="uvicorn --ws")
    args = parser.parse_args()
    print(f"# fan-out benchmark, Phoenix row; {os.cpu_count()} CPUs")
    started = time.perf_counter()
    asyncio.run(bench(args.ws, args.n or [200], args))
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
