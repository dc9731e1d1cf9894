"""Presence benchmark: joins into big rooms, convergence across processes, and the cost
of everything else (with presence in the code, unused) against the revision before it.

    PYTHONPATH=src:. .venv/bin/python -m benchmarks.presence            # ~3 min
    PYTHONPATH=src:. .venv/bin/python -m benchmarks.presence --quick    # ~1 min
    ... --baseline REV    # the git revision to compare with (default: the first parent
                          # of the commit that added sockethub/presence)

Servers are uvicorn child processes (``benchmarks/_presence_server.py``); clients are
real ``websockets`` clients in this process.  Tables:

1. **Join into a room of N presences** (N = 10, 1,000, 10,000 keys tracked beforehand),
   per store (memory; Redis if ``redis-server`` is installed): the joiner's time from
   sending ``join`` to receiving ``presence_state``, that frame's bytes (the whole state,
   one frame), and what each of 10 members already in the room receives for that join
   (frames and bytes: one ``presence_diff``, whatever N).
2. **Convergence across two processes** (Redis, default bound: heartbeat 1 s, dead after
   5 s): time from a client's join (leave) on process B to a watcher on process A
   receiving the diff, and from a SIGKILL of B to the watcher receiving the leaves.
3. **Without presence**: join+leave pairs and fan-out deliveries on a channel without
   presence, server CPU per operation, this tree vs ``--baseline`` (exported with
   ``git archive``), rounds interleaved; ratio = this tree / baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection, connect

from benchmarks._uvicorn import uvicorn_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.redis_server import RedisServer, find_redis_server  # noqa: E402

APP = "benchmarks._presence_server:app"
WS = "websockets-sansio"
OBSERVERS = 10


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def environment(**values: str | None) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


async def open_ws(port: int, user: str) -> ClientConnection:
    return await connect(f"ws://127.0.0.1:{port}/ws?user={user}", compression=None, max_size=None)


async def join(ws: ClientConnection, topic: str) -> tuple[float, int]:
    """Join ``topic`` (with a ref); return (seconds until presence_state, its bytes)."""
    started = time.perf_counter()
    await ws.send(json.dumps({"topic": topic, "event": "join", "ref": "j"}))
    while True:
        raw = await ws.recv()
        frame = json.loads(raw)
        if frame.get("event") == "presence_state":
            return time.perf_counter() - started, len(raw)


async def until(ws: ClientConnection, event: str) -> list[str | bytes]:
    """Frames received up to and including the first with ``event``."""
    got: list[str | bytes] = []
    while True:
        raw = await ws.recv()
        got.append(raw)
        if json.loads(raw).get("event") == event:
            return got


# -- 1. joins into rooms of N presences ----------------------------------------------------


async def settle(
    http: httpx.AsyncClient, topic: str, sockets: list[ClientConnection]
) -> list[list[str | bytes]]:
    """Publish one marker; return what each socket received before it."""
    await http.post(f"/publish/{topic}/1")
    return [(await until(ws, "msg"))[:-1] for ws in sockets]


async def join_into_rooms(port: int, sizes: tuple[int, ...], rounds: int) -> list[list[str]]:
    rows = []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=600) as http:
        for n in sizes:
            topic = f"room:n{n}"
            await http.post(f"/fill/{topic}/{n}")
            observers = [await open_ws(port, f"obs{i}") for i in range(OBSERVERS)]
            for ws in observers:
                await join(ws, topic)
            await settle(http, topic, observers)  # the later observers' joins
            times, state_bytes, frames, diff_bytes = [], [], [], []
            for r in range(rounds):
                joiner = await open_ws(port, f"joiner{r}")
                took, size = await join(joiner, topic)
                times.append(took)
                state_bytes.append(size)
                for got in await settle(http, topic, observers):
                    frames.append(len(got))
                    diff_bytes.append(sum(len(f) for f in got))
                await joiner.close()
                for ws in observers:  # its leave diff (sent once the server saw the close)
                    await until(ws, "presence_diff")
            for ws in observers:
                await ws.close()
            rows.append(
                [
                    f"{n:,}",
                    f"{statistics.median(times) * 1000:.2f}",
                    f"{statistics.median(state_bytes):,.0f}",
                    f"{statistics.mean(frames):.2f}",
                    f"{statistics.median(diff_bytes):,.0f}",
                ]
            )
    return rows


# -- 2. convergence across two processes ----------------------------------------------------


async def convergence(redis: RedisServer, trials: int, kills: int) -> list[list[str]]:
    topic = "room:conv"
    joins, leaves, killed = [], [], []
    with (
        environment(SOCKETHUB_REDIS=redis.url, SOCKETHUB_PREFIX=f"conv-{uuid.uuid4().hex[:6]}:"),
        uvicorn_server(APP, ws=WS) as (pa, _),
        uvicorn_server(APP, ws=WS) as (pb, _),
    ):
        watcher = await open_ws(pa, "watcher")
        await join(watcher, topic)
        for t in range(trials):
            client = await open_ws(pb, f"c{t}")
            started = time.perf_counter()
            await client.send(json.dumps({"topic": topic, "event": "join"}))
            await until(watcher, "presence_diff")
            joins.append(time.perf_counter() - started)
            started = time.perf_counter()
            await client.close()
            await until(watcher, "presence_diff")
            leaves.append(time.perf_counter() - started)
        for k in range(kills):
            with uvicorn_server(APP, ws=WS) as (pc, pid):
                victim = await open_ws(pc, f"victim{k}")
                await join(victim, topic)
                await until(watcher, "presence_diff")
                started = time.perf_counter()
                os.kill(pid, signal.SIGKILL)
                await until(watcher, "presence_diff")
                killed.append(time.perf_counter() - started)
                with contextlib.suppress(Exception):
                    await victim.close()
        await watcher.close()

    def row(what: str, values: list[float]) -> list[str]:
        return [what, str(len(values)), f"{statistics.median(values) * 1000:.1f}",
                f"{max(values) * 1000:.1f}"]  # fmt: skip

    return [
        row("join on B, diff on A", joins),
        row("leave on B, diff on A", leaves),
        row("SIGKILL of B, leaves on A", killed),
    ]


# -- 3. without presence: this tree vs the baseline -----------------------------------------


async def plain_costs(
    port: int, pid: int, pairs: int, subscribers: int, publishes: int
) -> tuple[float, float]:
    """(server CPU µs per join+leave pair, server CPU µs per fan-out delivery)."""
    ws = await open_ws(port, "jl")
    before = cpu_seconds(pid)
    for i in range(pairs):
        await ws.send(json.dumps({"topic": f"plain:{i % 50}", "event": "join", "ref": "j"}))
        await ws.send(json.dumps({"topic": f"plain:{i % 50}", "event": "leave", "ref": "l"}))
    for _ in range(2 * pairs):
        await ws.recv()
    per_pair = (cpu_seconds(pid) - before) / pairs * 1e6
    await ws.close()
    clients = [await open_ws(port, f"s{i}") for i in range(subscribers)]
    for c in clients:
        await c.send(json.dumps({"topic": "plain:fan", "event": "join", "ref": "j"}))
        await c.recv()

    async def drain(c: ClientConnection) -> None:
        for _ in range(publishes):
            await c.recv()

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        before = cpu_seconds(pid)
        readers = [asyncio.ensure_future(drain(c)) for c in clients]
        await http.post(f"/publish/plain:fan/{publishes}")
        await asyncio.gather(*readers)
        per_delivery = (cpu_seconds(pid) - before) / (subscribers * publishes) * 1e6
    for c in clients:
        await c.close()
    return per_pair, per_delivery


def baseline_rev() -> str:
    added = subprocess.run(
        ["git", "log", "--diff-filter=A", "--format=%H", "--", "src/sockethub/presence"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return f"{added[-1]}^" if added else "HEAD"


def export(rev: str, dest: Path) -> None:
    """``src/`` of revision ``rev`` into ``dest`` (``git archive``: the work tree untouched)."""
    archive = subprocess.run(
        ["git", "archive", rev, "src"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)


async def without_presence(
    baseline: str, rounds: int, pairs: int, subs: int, pubs: int
) -> list[list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        export(baseline, Path(tmp))
        sources = {"this tree": None, f"baseline {baseline[:12]}": Path(tmp) / "src"}
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in sources}
        with environment(SOCKETHUB_REDIS=None, PYTHONDONTWRITEBYTECODE="1"):
            for r in range(rounds):
                order = list(sources.items())
                if r % 2:
                    order.reverse()
                for name, src in order:
                    with uvicorn_server(APP, ws=WS, src=src) as (port, pid):
                        results[name].append(await plain_costs(port, pid, pairs, subs, pubs))
    names = list(sources)
    rows = []
    for i, what in enumerate(("CPU µs per join+leave", "CPU µs per fan-out delivery")):
        mine = statistics.median(v[i] for v in results[names[0]])
        base = statistics.median(v[i] for v in results[names[1]])
        rows.append([what, f"{mine:.1f}", f"{base:.1f}", f"{mine / base:.2f}"])
    return rows


def table(title: str, head: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(c)) for c in col) for col in zip(head, *rows, strict=True)]
    print(f"\n{title}\n")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |")


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.presence")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--baseline", default=None, help="git revision to compare with")
    args = parser.parse_args()
    rounds = 3 if args.quick else 7
    sizes = (10, 1_000, 10_000)
    binary = find_redis_server()
    print(f"presence benchmark: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    head = ["presences", "join → state ms", "state bytes", "frames per member", "diff bytes"]
    with environment(SOCKETHUB_REDIS=None), uvicorn_server(APP, ws=WS) as (port, _):
        rows = await join_into_rooms(port, sizes, rounds)
    table(f"1a. join into a room, in-memory store (median of {rounds} joins)", head, rows)
    if binary is None:
        print("\n(redis-server not found: the Redis tables are skipped)")
    else:
        with RedisServer(binary) as redis:
            with (
                environment(SOCKETHUB_REDIS=redis.url, SOCKETHUB_PREFIX="join:"),
                uvicorn_server(APP, ws=WS) as (port, _),
            ):
                rows = await join_into_rooms(port, sizes, rounds)
            table(f"1b. join into a room, Redis store (median of {rounds} joins)", head, rows)
            rows = await convergence(redis, trials=rounds, kills=1 if args.quick else 2)
            table(
                "2. convergence across two processes on one Redis (default bound: 6 s)",
                ["change", "trials", "median ms", "max ms"],
                rows,
            )
    baseline = args.baseline or baseline_rev()
    rows = await without_presence(
        baseline, rounds=3 if args.quick else 5, pairs=10_000, subs=100, pubs=400
    )
    table(
        "3. a channel without presence: this tree vs the revision before presence",
        ["server cost", "this tree", "baseline", "ratio"],
        rows,
    )


if __name__ == "__main__":
    asyncio.run(main())
