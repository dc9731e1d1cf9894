"""Topic history: what it costs to publish, to recover, and to keep (Redis memory).

    PYTHONPATH=src:. .venv/bin/python -m benchmarks.history            # ~2 minutes
    PYTHONPATH=src:. .venv/bin/python -m benchmarks.history --quick    # ~40 s

Needs ``redis-server`` on PATH (the Redis rows; skipped with a note otherwise).  Four
tables, each with its ratios measured in the same run, peers interleaved round by round,
medians over rounds:

1. **Publish cost**, in process: ``hub.publish`` to a topic with history vs one without,
   on the same bus (memory, then Redis), each topic with ``--subs`` subscribers that are
   the hub's own per-socket callbacks and outboxes writing to a no-op ASGI send, until
   every subscriber's outbox has written every frame.  The ratio is on CPU time (this
   process, plus redis-server for the Redis row), which other load on the machine does
   not inflate; wall time is shown too.  Target <= 1.3x.
2. **Recovery vs live**, over real uvicorn and a real ``websockets`` client: the time
   from a rejoin with a position 1,000 publications behind to the 1,000th recovered
   frame, vs the time from asking the server to publish 1,000 (``hub.publish`` in a loop)
   to the 1,000th live frame, same topic, same client.  Target < 1.5x.
3. **Redis memory** per topic: ``MEMORY USAGE`` of the stream and position keys after
   1, 100 and 1,000 publications of a ~90-byte message.
4. **Fan-out without history, before/after**: table 1's "without history" column, run
   in child processes on the source of ``--before`` (default: the commit before history
   existed) and on this tree, interleaved, ``--rounds / 2`` child processes each (each
   the median of 5 samples): the hot path did not get slower.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._uvicorn import uvicorn_server  # noqa: E402
from tests.redis_server import RedisServer, find_redis_server  # noqa: E402

DATA = "x" * 64
BEFORE = "eca7181"


# -- 1. publish cost, in process -------------------------------------------------------------


class Sink:
    """An ASGI ``send`` that counts the frames an outbox writes, and wakes whoever waits
    for a count (no busy waiting: it would add CPU in proportion to the wait)."""

    def __init__(self) -> None:
        self.frames = 0
        self.target = 0
        self.reached: asyncio.Event | None = None

    async def __call__(self, message: Any) -> None:
        self.frames += 1
        if self.reached is not None and self.frames >= self.target:
            self.reached.set()

    async def wait_for(self, target: int) -> None:
        if self.frames >= target:
            return
        self.target = target
        self.reached = asyncio.Event()
        await self.reached.wait()
        self.reached = None


def cpu_of(pid: int | None) -> float:
    """User + system CPU seconds of process ``pid`` (0 for None), from ``/proc``."""
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def publish_cost(
    bus_kind: str,
    kinds: list[str],
    subs: int,
    messages: int,
    rounds: int,
    url: str | None,
    redis_pid: int | None = None,
) -> dict[str, list[float]]:
    """Per kind ("plain", "hist"): wall seconds per publish, one sample per round, and
    under ``kind + ":cpu"`` the CPU seconds per publish of this process plus
    redis-server's (``redis_pid``), summed over all rounds (one value).

    Imports only what existed before history for the "plain" kind, so the same function
    runs on an older source tree (table 4).
    """
    from sockethub import SocketHub
    from sockethub.bus import InMemorySocketBus, SocketBus
    from sockethub.outbox import Outbox
    from sockethub.protocols.envelope import EnvelopeProtocol
    from sockethub.session import subscriber

    bus: SocketBus
    if bus_kind == "redis":
        from sockethub.bus.redis import RedisSocketBus

        assert url is not None
        bus = RedisSocketBus(url, prefix=f"bench-{uuid.uuid4().hex[:8]}:")
    else:
        bus = InMemorySocketBus()
    hub = SocketHub("/ws", bus=bus)
    hub.channel("plain:{id}")
    if "hist" in kinds:
        from sockethub.history import History

        hub.channel("hist:{id}", history=History(size=1000, ttl=600))
    protocol = EnvelopeProtocol()
    sinks: dict[str, list[Sink]] = {}
    await bus.start()
    try:
        for kind in kinds:
            sinks[kind] = []
            for _ in range(subs):
                sink = Sink()
                outbox = Outbox(sink, max_bytes=1 << 30, policy="close", on_overflow=lambda: None)
                if kind == "hist":
                    from sockethub.history.base import HistoryPage, StreamPosition
                    from sockethub.history.catchup import Catchup

                    callback: Any = Catchup(outbox, protocol)
                    callback.release("hist:1", HistoryPage(StreamPosition(0, "-"), [], True), None)
                else:
                    callback = subscriber(outbox, protocol)
                await bus.subscribe(f"{kind}:1", callback)
                sinks[kind].append(sink)
        samples: dict[str, list[float]] = {kind: [] for kind in kinds}
        cpu = dict.fromkeys(kinds, 0.0)
        for r in range(rounds + 1):  # round 0 warms up
            for kind in kinds if r % 2 else reversed(kinds):
                target = [s.frames + messages for s in sinks[kind]]
                topic = f"{kind}:1"
                start = time.perf_counter()
                cpu_start = time.process_time() + cpu_of(redis_pid)
                for i in range(messages):
                    await hub.publish(topic, "msg", {"i": i, "data": DATA})
                for sink, count in zip(sinks[kind], target, strict=True):
                    await sink.wait_for(count)
                elapsed = time.perf_counter() - start
                if r:
                    samples[kind].append(elapsed / messages)
                    cpu[kind] += time.process_time() + cpu_of(redis_pid) - cpu_start
        for kind in kinds:
            samples[kind + ":cpu"] = [cpu[kind] / (messages * rounds)]
        return samples
    finally:
        await bus.close()


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print(f"\n{title}\n")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f}"


# -- 2. recovery vs live, over uvicorn ---------------------------------------------------------


async def recovery_vs_live(port: int, count: int, rounds: int) -> tuple[list[float], list[float]]:
    base = f"http://127.0.0.1:{port}"
    live_t: list[float] = []
    recover_t: list[float] = []
    async with httpx.AsyncClient(timeout=60) as http:
        for r in range(rounds + 1):
            topic = f"hist:{uuid.uuid4().hex[:8]}"

            async def join(ws: Any, since: Any = None) -> dict[str, Any]:
                payload = None if since is None else {"since": since}
                await ws.send(
                    json.dumps({"topic": topic, "event": "join", "payload": payload, "ref": "j"})
                )
                reply = json.loads(await ws.recv())
                outcome: dict[str, Any] = reply["payload"]["response"]["history"]
                return outcome

            async def read(ws: Any, n: int) -> None:
                for _ in range(n):
                    await ws.recv()

            async with connect(f"ws://127.0.0.1:{port}/ws", compression=None) as ws:
                position = await join(ws)
                start = time.perf_counter()
                reader = asyncio.create_task(read(ws, count))
                await http.post(f"{base}/publish", json={"topic": topic, "count": count})
                await reader
                live = time.perf_counter() - start
            # Away while another ``count`` are published, then back with the position.
            position = {"offset": count, "epoch": position["epoch"]}
            await http.post(f"{base}/publish", json={"topic": topic, "count": count})
            async with connect(f"ws://127.0.0.1:{port}/ws", compression=None) as ws:
                start = time.perf_counter()
                outcome = await join(ws, position)
                assert outcome["recovered"], outcome
                await read(ws, count)
                recovered = time.perf_counter() - start
            if r:
                live_t.append(live)
                recover_t.append(recovered)
    return live_t, recover_t


# -- 3. Redis memory ------------------------------------------------------------------------------


async def redis_memory(url: str) -> list[list[str]]:
    from sockethub.bus.redis import RedisSocketBus
    from sockethub.history import History
    from sockethub.history.redis import RedisHistory

    bus = RedisSocketBus(url, prefix="mem:")
    store = RedisHistory(bus)
    history = History(size=10_000, ttl=600)
    await bus.start()
    rows = []
    try:
        client = bus.client
        assert client is not None
        for n in (1, 100, 1000):
            topic = f"room:{n}"
            for i in range(n):
                await store.publish(topic, "msg", {"i": i, "data": DATA}, history)
            stream, meta = store.keys(topic)
            s_bytes = int(await client.memory_usage(stream, samples=0) or 0)
            m_bytes = int(await client.memory_usage(meta, samples=0) or 0)
            body = len(json.dumps({"e": "msg", "p": {"i": n, "data": DATA}}, separators=(",", ":")))
            rows.append(
                [str(n), str(body), str(s_bytes), str(m_bytes), f"{(s_bytes + m_bytes) / n:.0f}"]
            )
    finally:
        await bus.close()
    return rows


# -- 4. before/after ------------------------------------------------------------------------------


def extract(rev: str, into: Path) -> Path:
    data = subprocess.run(
        ["git", "archive", rev, "src"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def child(src: Path, bus_kind: str, subs: int, messages: int, url: str | None) -> float:
    """Table 1's "plain" CPU per publish (5 samples) in a fresh process on ``src`` (on Redis,
    this process's CPU only: the child is not told redis-server's pid)."""
    args = [sys.executable, "-m", "benchmarks.history", "--child", bus_kind, "--subs", str(subs)]
    args += ["--messages", str(messages), "--rounds", "5"] + (["--url", url] if url else [])
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{ROOT}"}
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return float(json.loads(done.stdout.strip().splitlines()[-1])["plain"])


# -- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--subs", type=int, default=100)
    parser.add_argument("--messages", type=int, default=200, help="publishes per sample")
    parser.add_argument("--rounds", type=int, default=20, help="samples per column")
    parser.add_argument("--before", default=BEFORE)
    parser.add_argument("--ws", default="websockets-sansio")
    parser.add_argument("--child", choices=["memory", "redis"])
    parser.add_argument("--url")
    opts = parser.parse_args()
    if opts.child:
        samples = asyncio.run(
            publish_cost(opts.child, ["plain"], opts.subs, opts.messages, opts.rounds, opts.url)
        )
        print(json.dumps({"plain": samples["plain:cpu"][0]}))
        return
    if opts.quick:
        opts.rounds = 8
    # A SIGTERM runs the clean-up below too (the redis-server and uvicorn children).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    binary = find_redis_server()
    redis = RedisServer(binary) if binary else None
    if redis is not None:
        redis.start()
    try:
        run(opts, redis)
    finally:
        if redis is not None:
            redis.close()


def run(opts: argparse.Namespace, redis: RedisServer | None) -> None:
    buses = ["memory"] + (["redis"] if redis else [])
    url = redis.url if redis else None
    rows = []
    for bus_kind in buses:
        samples = asyncio.run(
            publish_cost(
                bus_kind,
                ["plain", "hist"],
                opts.subs,
                opts.messages,
                opts.rounds,
                url,
                redis.pid if redis is not None and bus_kind == "redis" else None,
            )
        )
        plain, hist = samples["plain:cpu"][0], samples["hist:cpu"][0]
        wall_p, wall_h = statistics.median(samples["plain"]), statistics.median(samples["hist"])
        rows.append(
            [
                bus_kind,
                us(plain),
                us(hist),
                f"{hist / plain:.2f}x",
                us(wall_p),
                us(wall_h),
                f"{wall_h / wall_p:.2f}x",
            ]
        )
    table(
        f"1. hub.publish, {opts.subs} subscribers, {opts.rounds} interleaved samples of "
        f"{opts.messages} publishes, until every outbox wrote every frame: CPU µs per "
        "publish (this process + redis-server; target <= 1.3x), and wall µs (median sample)",
        ["bus", "CPU without", "CPU with history", "ratio", "wall without", "wall with", "ratio"],
        rows,
    )

    rows = []
    for bus_kind in buses:
        env = {"BENCH_BUS": bus_kind, "BENCH_PREFIX": f"bench-{uuid.uuid4().hex[:8]}:"}
        if url:
            env["BENCH_REDIS_URL"] = url
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            with uvicorn_server("benchmarks._history_server:app", ws=opts.ws) as (port, _):
                live, recovered = asyncio.run(
                    recovery_vs_live(port, 1000, max(3, opts.rounds // 2))
                )
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        lm, rm = statistics.median(live), statistics.median(recovered)
        rows.append([bus_kind, f"{lm * 1e3:.1f}", f"{rm * 1e3:.1f}", f"{rm / lm:.2f}x"])
    table(
        f"2. 1,000 messages to one client over uvicorn ({opts.ws}), {max(3, opts.rounds // 2)} "
        "rounds: ms "
        "(target < 1.5x)",
        ["bus", "1,000 live", "1,000 recovered", "ratio"],
        rows,
    )

    if url:
        table(
            "3. Redis memory per topic (MEMORY USAGE, SAMPLES 0)",
            ["publications", "message bytes", "stream key", "position key", "bytes/publication"],
            asyncio.run(redis_memory(url)),
        )

    rows = []
    with tempfile.TemporaryDirectory(prefix="sockethub-before-") as tmp:
        before_src = extract(opts.before, Path(tmp))
        for bus_kind in buses:
            before: list[float] = []
            after: list[float] = []
            for r in range(max(4, opts.rounds // 2)):
                order = [(before_src, before), (ROOT / "src", after)]
                for src, into in order if r % 2 else reversed(order):
                    into.append(child(src, bus_kind, opts.subs, opts.messages, url))
            b, a = statistics.median(before), statistics.median(after)
            rows.append([bus_kind, us(b), us(a), f"{a / b:.2f}x"])
    table(
        f"4. Fan-out without history, CPU µs per publish ({opts.subs} subscribers): source of "
        f"{opts.before} vs this tree, one child process per sample",
        ["bus", "before", "after", "after/before"],
        rows,
    )


if __name__ == "__main__":
    main()
