"""Cross-process fan-out: the Redis bus on 2 uvicorn processes vs the in-memory bus on 1.

Usage::

    python benchmarks/redis_fanout.py [--clients 200] [--messages 200] [--size 64]
                                      [--rounds 5] [--ws websockets-sansio]

Needs ``redis-server`` on PATH and Linux (CPU time is read from ``/proc``).  Every server
is a real ``uvicorn`` process running ``benchmarks/_redis_fanout_server.py``; the clients
are real ``websockets`` clients in *this* process, so clients and servers never share an
interpreter.  Four scenarios, all connected at once and measured interleaved, round after
round (the order rotates each round):

* ``memory x1``: the in-memory bus, one process serving all ``--clients`` sockets; the
  publisher's loop never yields, so each socket gets the whole burst in one flush;
* ``memory x1 paced``: the same, but the publisher yields to the event loop after each
  publish, so every message is flushed to every socket on its own, which is how
  messages arriving from Redis one by one are delivered (the control for the Redis rows);
* ``redis x1``: the Redis bus, one process serving all of them (the Redis round trip's
  cost, with nothing to gain from it);
* ``redis x2``: the Redis bus, two processes sharing one topic, half the clients each.

A round publishes ``--messages`` messages through the first process of a scenario
(``POST /publish``) and ends when every client has received as many frames as were
published; each client's count and last frame (the last message published) are checked.
Deliveries per second are clients x messages / wall time; CPU is the servers' (and
redis-server's) user+system time over the round, per delivery; the client process's own
CPU load is shown too, since a saturated client process caps every scenario alike.
Medians over the rounds, as ratios to ``memory x1``.

On a machine with fewer cores than processes (servers + redis-server + this client
process), the scenarios compete for CPU and the ``redis x2`` row cannot show a scaling
gain; the CPU-per-delivery columns still show what each delivery costs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.redis_server import RedisServer, find_redis_server  # noqa: E402
from tests.support import uvicorn_process  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICK


@dataclass
class Client:
    ws: ClientConnection
    count: int = 0
    last: str | bytes = ""


@dataclass
class Scenario:
    name: str
    ports: list[int]
    pids: list[int]
    paced: bool = False
    clients: list[Client] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)
    server_cpu: list[float] = field(default_factory=list)
    redis_cpu: list[float] = field(default_factory=list)
    client_load: list[float] = field(default_factory=list)
    remaining: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)


async def read_forever(scenario: Scenario, client: Client) -> None:
    with contextlib.suppress(Exception):
        async for frame in client.ws:
            client.count += 1
            client.last = frame
            scenario.remaining -= 1
            if scenario.remaining == 0:
                scenario.done.set()


async def join(port: int) -> ClientConnection:
    ws = await connect(f"ws://127.0.0.1:{port}/ws", max_queue=None)
    await ws.send(json.dumps({"topic": "bench", "event": "join", "payload": None, "ref": "j"}))
    reply = json.loads(await asyncio.wait_for(ws.recv(), 30))
    if reply.get("payload", {}).get("status") != "ok":
        raise RuntimeError(f"join failed: {reply}")
    return ws


async def run_round(
    scenario: Scenario,
    http: httpx.AsyncClient,
    messages: int,
    size: int,
    start: int,
    redis_pid: int,
) -> None:
    for client in scenario.clients:
        client.count = 0
    scenario.remaining = messages * len(scenario.clients)
    scenario.done.clear()
    cpu0 = [cpu_seconds(pid) for pid in scenario.pids]
    rcpu0 = cpu_seconds(redis_pid)
    ccpu0 = time.process_time()
    t0 = time.perf_counter()
    response = await http.post(
        f"http://127.0.0.1:{scenario.ports[0]}/publish",
        params={"count": messages, "size": size, "start": start, "paced": int(scenario.paced)},
    )
    response.raise_for_status()
    await asyncio.wait_for(scenario.done.wait(), 120)
    elapsed = time.perf_counter() - t0
    cpu = sum(cpu_seconds(pid) for pid in scenario.pids) - sum(cpu0)
    rcpu = cpu_seconds(redis_pid) - rcpu0
    ccpu = time.process_time() - ccpu0
    deliveries = messages * len(scenario.clients)
    for client in scenario.clients:
        seq = json.loads(client.last)["payload"]["seq"]
        if client.count != messages or seq != start + messages - 1:
            raise RuntimeError(f"{scenario.name}: a client got {client.count} frames, last {seq}")
    scenario.rates.append(deliveries / elapsed)
    scenario.server_cpu.append(cpu / deliveries * 1e6)
    scenario.redis_cpu.append(rcpu / deliveries * 1e6)
    scenario.client_load.append(ccpu / elapsed * 100)


@contextlib.contextmanager
def servers(
    bus: str, count: int, redis: RedisServer, ws: str
) -> Iterator[tuple[list[int], list[int]]]:
    env = {
        "FANOUT_BUS": bus,
        "FANOUT_REDIS_URL": redis.url,
        "FANOUT_REDIS_PREFIX": f"bench-{uuid.uuid4().hex[:8]}:",
    }
    with contextlib.ExitStack() as stack:
        started = [
            stack.enter_context(
                uvicorn_process("benchmarks._redis_fanout_server:app", env=env, ws=ws)
            )
            for _ in range(count)
        ]
        yield [port for port, _ in started], [proc.pid for _, proc in started]


async def main(args: argparse.Namespace) -> None:
    binary = find_redis_server()
    if binary is None:
        sys.exit("redis-server not found on PATH (apt-get install redis-server)")
    with (
        RedisServer(binary) as redis,
        servers("memory", 1, redis, args.ws) as (mem_ports, mem_pids),
        servers("memory", 1, redis, args.ws) as (paced_ports, paced_pids),
        servers("redis", 1, redis, args.ws) as (r1_ports, r1_pids),
        servers("redis", 2, redis, args.ws) as (r2_ports, r2_pids),
    ):
        assert redis.pid is not None
        scenarios = [
            Scenario("memory x1", mem_ports, mem_pids),
            Scenario("memory x1 paced", paced_ports, paced_pids, paced=True),
            Scenario("redis x1", r1_ports, r1_pids),
            Scenario("redis x2", r2_ports, r2_pids),
        ]
        readers: list[asyncio.Task[None]] = []
        async with httpx.AsyncClient(timeout=120) as http:
            for scenario in scenarios:
                for i in range(args.clients):
                    port = scenario.ports[i % len(scenario.ports)]
                    client = Client(await join(port))
                    scenario.clients.append(client)
                    readers.append(asyncio.create_task(read_forever(scenario, client)))
            seq = 0
            for scenario in scenarios:  # warm-up, not recorded
                await run_round(scenario, http, 20, args.size, seq, redis.pid)
                seq += 20
            for scenario in scenarios:
                scenario.rates.clear()
                scenario.server_cpu.clear()
                scenario.redis_cpu.clear()
                scenario.client_load.clear()
            for r in range(args.rounds):
                order = scenarios[r % len(scenarios) :] + scenarios[: r % len(scenarios)]
                for scenario in order:
                    await run_round(scenario, http, args.messages, args.size, seq, redis.pid)
                    seq += args.messages
            for scenario in scenarios:
                for client in scenario.clients:
                    await client.ws.close()
            await asyncio.gather(*readers)
    report(scenarios, args)


def report(scenarios: list[Scenario], args: argparse.Namespace) -> None:
    base = scenarios[0]
    base_rate = statistics.median(base.rates)
    base_cpu = statistics.median(base.server_cpu)
    print(
        f"\nCross-process fan-out: {args.clients} websockets clients, {args.messages} messages "
        f"of {args.size} B per round, median of {args.rounds} interleaved rounds; "
        f"uvicorn --ws {args.ws}; {os.cpu_count()} CPUs\n"
    )
    header = (
        f"{'scenario':<16} {'procs':>5} {'deliveries/s':>13} {'ratio':>6} "
        f"{'server CPU us/dlv':>18} {'ratio':>6} {'redis-server us/dlv':>20} "
        f"{'client CPU %':>13}"
    )
    print(header)
    print("-" * len(header))
    for s in scenarios:
        rate = statistics.median(s.rates)
        cpu = statistics.median(s.server_cpu)
        rcpu = statistics.median(s.redis_cpu)
        load = statistics.median(s.client_load)
        print(
            f"{s.name:<16} {len(s.ports):>5} {rate:>13,.0f} {rate / base_rate:>6.2f} "
            f"{cpu:>18.2f} {cpu / base_cpu:>6.2f} {rcpu:>20.3f} {load:>13.0f}"
        )
    r2 = statistics.median(scenarios[-1].rates)
    print(f"\nredis x2 / memory x1 deliveries per second: {r2 / base_rate:.2f}x")
    print(
        "(client CPU % is this client process's load during a round: near 100 means the\n"
        " clients, not the servers, set the pace, and the rate ratios understate the servers)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ws", default="websockets-sansio")
    asyncio.run(main(parser.parse_args()))
