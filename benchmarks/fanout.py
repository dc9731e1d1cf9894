"""Fan-out benchmark: SocketHub vs a hand-written Starlette loop vs broadcaster (issue 4).

    PYTHONPATH=src:. .venv/bin/python -m benchmarks.fanout            # full run, ~6 min
    PYTHONPATH=src:. .venv/bin/python -m benchmarks.fanout --quick    # ~2 min

For each uvicorn WebSocket implementation (``--ws``), one uvicorn process serves the three
servers of :mod:`benchmarks._fanout_server`; this process runs the clients (real
``websockets`` clients, compression off) and measures.  For N = 200 and N = 1,000
subscribers and two workloads (bursts: 20 publishes back to back in one event-loop turn;
spread: the same 20 publishes one per turn, as publishes caused by separate events are),
rounds interleave the three servers (the order rotates every round); each table shows the
median over rounds of

* deliveries/s: frames received by all clients / wall time, measured client side;
* server CPU µs per delivery: user + system CPU of the server process (``/proc``) / frames;

and the hub's ratio to each peer.  The stalled-client scenario repeats a run with one more
client that completes the handshake and never reads, and reports the other clients'
delivery time with the stalled client / without it.  See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks._fanout_client import Result, StalledClient, open_group, run
from benchmarks._uvicorn import uvicorn_server

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("hub", "base", "bcast")
NAMES = {"hub": "hub", "base": "baseline", "bcast": "broadcaster"}
WS_IMPLS = ("websockets-sansio", "wsproto", "websockets")


@dataclass(frozen=True)
class Plan:
    sizes: tuple[int, ...]
    rounds: int
    deliveries: int  # per measured run, roughly
    workloads: tuple[tuple[int, int, bool], ...]  # (publishes per request, requests ahead,
    # one publish per event-loop turn)
    size: int
    stall_n: int
    stall_rounds: int
    stall_messages: int
    stall_size: int
    stall_batch: int


FULL = Plan(
    sizes=(200, 1000),
    rounds=3,
    deliveries=60_000,
    workloads=((20, 4, False), (20, 4, True)),
    size=64,
    stall_n=100,
    stall_rounds=4,
    stall_messages=400,
    stall_size=16 * 1024,
    stall_batch=4,
)
QUICK = Plan(
    sizes=(200, 1000),
    rounds=1,
    deliveries=40_000,
    workloads=((20, 4, False), (20, 4, True)),
    size=64,
    stall_n=50,
    stall_rounds=1,
    stall_messages=400,
    stall_size=16 * 1024,
    stall_batch=4,
)


@contextlib.contextmanager
def server(ws: str) -> Iterator[tuple[int, int]]:
    """uvicorn serving ``_fanout_server:app`` with ``--ws ws`` in a child process."""
    with uvicorn_server(
        "benchmarks._fanout_server:app", ws=ws, args=("--no-access-log", "--backlog", "4096")
    ) as running:
        yield running


# -- the throughput table ----------------------------------------------------------------


Key = tuple[tuple[int, int, bool], int]  # (workload, N)


async def throughput(port: int, pid: int, plan: Plan) -> dict[Key, dict[str, list[Result]]]:
    results: dict[Key, dict[str, list[Result]]] = {}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
        for n in plan.sizes:
            groups = {kind: await open_group(port, kind, n) for kind in KINDS}
            for batch, window, spread in plan.workloads:
                messages = max(batch, plan.deliveries // n // batch * batch)
                per_kind: dict[str, list[Result]] = {kind: [] for kind in KINDS}
                for r in range(plan.rounds):
                    for kind in KINDS[r % 3 :] + KINDS[: r % 3]:
                        result = await run(
                            http,
                            groups[kind],
                            pid,
                            messages=messages,
                            batch=batch,
                            size=plan.size,
                            window=window,
                            spread=spread,
                        )
                        per_kind[kind].append(result)
                results[(batch, window, spread), n] = per_kind
            for group in groups.values():
                await group.close()
    return results


def median(results: list[Result], attr: str) -> float:
    return float(statistics.median(getattr(r, attr) for r in results if r.completed))


def print_throughput(ws: str, results: dict[Key, dict[str, list[Result]]]) -> None:
    for workload in dict.fromkeys(key[0] for key in results):
        batch, _, spread = workload
        what = (
            "one publish per event-loop turn"
            if spread or batch == 1
            else f"bursts of {batch} publishes per event-loop turn"
        )
        print(f"\n## uvicorn --ws {ws}: fan-out to N subscribers, {what} (median of rounds)\n")
        print(
            "|     N | deliveries/s hub | baseline | broadcaster | hub/baseline | hub/broadcaster "
            "| server CPU µs/delivery hub | baseline | broadcaster | hub/baseline "
            "| hub/broadcaster | client CPU µs/delivery hub | baseline | broadcaster |"
        )
        print("|" + "---|" * 14)
        for (wl, n), per_kind in results.items():
            if wl != workload:
                continue
            if not all(any(r.completed for r in rs) for rs in per_kind.values()):
                print(f"| {n:5d} | incomplete run(s): {per_kind} |")
                continue
            rate = {k: median(per_kind[k], "rate") for k in KINDS}
            cpu = {k: median(per_kind[k], "server_us") for k in KINDS}
            client = {k: median(per_kind[k], "client_us") for k in KINDS}
            print(
                f"| {n:5d} | {rate['hub']:,.0f} | {rate['base']:,.0f} | {rate['bcast']:,.0f} "
                f"| {rate['hub'] / rate['base']:.2f}x | {rate['hub'] / rate['bcast']:.2f}x "
                f"| {cpu['hub']:.2f} | {cpu['base']:.2f} | {cpu['bcast']:.2f} "
                f"| {cpu['hub'] / cpu['base']:.2f}x | {cpu['hub'] / cpu['bcast']:.2f}x "
                f"| {client['hub']:.2f} | {client['base']:.2f} | {client['bcast']:.2f} |"
            )


# -- the stalled client ------------------------------------------------------------------


@dataclass
class StallRun:
    result: Result
    rss_growth: int
    backlog: int
    slow_closes: int


async def stalled(port: int, pid: int, plan: Plan) -> dict[str, dict[bool, list[StallRun]]]:
    out: dict[str, dict[bool, list[StallRun]]] = {k: {False: [], True: []} for k in KINDS}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
        for r in range(plan.stall_rounds):
            for kind in KINDS[r % 3 :] + KINDS[: r % 3]:
                for with_stall in (False, True) if r % 2 == 0 else (True, False):
                    group = await open_group(port, kind, plan.stall_n)
                    staller = StalledClient()
                    if with_stall:
                        await staller.open(port, kind)
                    before = (await http.get("/stats")).json()
                    result = await run(
                        http,
                        group,
                        pid,
                        messages=plan.stall_messages,
                        batch=plan.stall_batch,
                        size=plan.stall_size,
                        stall_after=5.0,
                    )
                    after = (await http.get("/stats")).json()
                    staller.close()  # unblocks a server stuck sending to it
                    await group.close()
                    out[kind][with_stall].append(
                        StallRun(
                            result,
                            after["rss"] - before["rss"],
                            after["backlog"][kind],
                            after["slow_closes"] - before["slow_closes"],
                        )
                    )
                    await asyncio.sleep(0.5)  # let the server finish closing sockets
    return out


def print_stalled(ws: str, plan: Plan, out: dict[str, dict[bool, list[StallRun]]]) -> None:
    per_socket = plan.stall_messages * plan.stall_size / 2**20
    print(
        f"\n## uvicorn --ws {ws}: one stalled client among N = {plan.stall_n} "
        f"({plan.stall_messages} messages of {plan.stall_size // 1024} KiB, "
        f"{per_socket:.1f} MiB per socket)\n"
    )
    print(
        "| server | others' time without (s) | with (s) | with/without "
        "| largest backlog at the end (MiB) | server RSS growth (MiB) | closed with 1013 |"
    )
    print("|---|---|---|---|---|---|---|")
    for kind in KINDS:
        without = [s.result for s in out[kind][False]]
        with_ = [s.result for s in out[kind][True]]
        base = statistics.median(r.elapsed for r in without if r.completed)
        rss = statistics.median(s.rss_growth for s in out[kind][True]) / 2**20
        backlog = max(s.backlog for s in out[kind][True]) / 2**20
        closes = sum(s.slow_closes for s in out[kind][True])
        if all(r.completed for r in with_):
            t = statistics.median(r.elapsed for r in with_)
            cell = f"{t:.2f} | {t / base:.2f}x"
        else:
            cell = "blocked | (no frame for 5 s: the topic stalled)"
        print(f"| {NAMES[kind]} | {base:.2f} | {cell} | {backlog:.1f} | {rss:.1f} | {closes} |")


# -- main ----------------------------------------------------------------------------------


async def bench(ws: str, plan: Plan, stall: bool) -> None:
    try:
        with server(ws) as (port, pid):
            print_throughput(ws, await throughput(port, pid, plan))
            if stall:
                print_stalled(ws, plan, await stalled(port, pid, plan))
    except RuntimeError as exc:
        print(f"\n## uvicorn --ws {ws}: not available ({exc})")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one round, smaller runs")
    parser.add_argument(
        "--ws", action="append", choices=WS_IMPLS, help="uvicorn --ws (repeatable; default all)"
    )
    parser.add_argument("--n", type=int, action="append", help="subscribers (repeatable)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds per N")
    parser.add_argument(
        "--batch", type=int, help="publishes per request (one workload; default 20 and 1)"
    )
    parser.add_argument("--window", type=int, default=4, help="requests ahead with --batch")
    parser.add_argument(
        "--spread", action="store_true", help="with --batch: one publish per event-loop turn"
    )
    parser.add_argument("--no-stall", action="store_true", help="skip the stalled client")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    if args.n:
        plan = Plan(**{**plan.__dict__, "sizes": tuple(args.n)})
    if args.batch:
        plan = Plan(**{**plan.__dict__, "workloads": ((args.batch, args.window, args.spread),)})
    if args.rounds:
        plan = Plan(**{**plan.__dict__, "rounds": args.rounds})
    impls = args.ws or list(WS_IMPLS)
    print(f"# fan-out benchmark ({'quick' if args.quick else 'full'}); {os.cpu_count()} CPUs")
    started = time.perf_counter()
    for ws in impls:
        # The stalled-client scenario is about the hub, not the server: run it with the
        # first implementation only, unless one implementation was asked for.
        asyncio.run(bench(ws, plan, stall=not args.no_stall and ws == impls[0]))
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
