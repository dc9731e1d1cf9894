"""The server's own cost of one request/reply round trip: the hub's ``on_receive`` reply
against the raw Starlette echo of ``benchmarks/_rr_server.py``, with no network and no
client process competing for the CPU.

Usage::

    PYTHONPATH=src:. .venv/bin/python -m benchmarks.request_reply_cost
        [--requests 10000] [--rounds 6] [--instructions] [--src OTHER/src ...]

Each round drives the ASGI app of ``_rr_server`` in this process through in-memory
``receive``/``send``: one connection joins ``room:1``, then sends a request with a ``ref``
and waits for its reply, ``--requests`` times.  Columns: CPU time per round trip (the
fastest round: the least disturbed), the same in instructions with ``--instructions``
(counted by valgrind's callgrind, the steadiest figure there is: a round of 1,000 round
trips is subtracted from one of 3,000, so start-up does not count), and the hub/raw
ratio.  ``--src`` adds rows for another checkout's ``src/`` (before/after a change, in
the same run).  The driver's own work (encoding each request, waking on each reply) is in
both columns alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PATHS = ("/hub", "/raw")


async def drive(app: Any, path: str, requests: int) -> float:
    """CPU seconds per round trip over ``requests`` round trips on one connection."""
    inbound: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    replied = asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "websocket.send":
            replied.set()

    scope = {
        "type": "websocket",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"bench")],
        "scheme": "ws",
        "server": ("bench", 80),
        "client": ("client", 1),
        "subprotocols": [],
        "root_path": "",
        "asgi": {"version": "3.0"},
        "state": {},
    }
    inbound.put_nowait({"type": "websocket.connect"})
    inbound.put_nowait({"type": "websocket.receive", "text": '{"topic":"room:1","event":"join"}'})
    task = asyncio.create_task(app(scope, inbound.get, send))
    await asyncio.sleep(0.01)
    cpu = time.process_time()
    for i in range(requests):
        replied.clear()
        text = json.dumps({"topic": "room:1", "event": "echo", "payload": i, "ref": str(i)})
        inbound.put_nowait({"type": "websocket.receive", "text": text})
        await replied.wait()
    spent = time.process_time() - cpu
    inbound.put_nowait({"type": "websocket.disconnect", "code": 1000})
    await task
    return spent / requests


async def rounds(requests: int, count: int, only: str | None) -> dict[str, float]:
    """The fastest round per path, in CPU µs per round trip."""
    from benchmarks._rr_server import app

    best = {path: float("inf") for path in PATHS if only in (None, path)}
    async with app.router.lifespan_context(app):
        for _ in range(count):
            for path in best:
                best[path] = min(best[path], await drive(app, path, requests) * 1e6)
    return best


def child(
    src: Path, only: str, requests: int, rounds: int, *, under: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Run this script's measuring half with sockethub from ``src`` (``under`` a tool)."""
    return subprocess.run(
        [*under, sys.executable, "-m", "benchmarks.request_reply_cost", "--child", only,
         "--requests", str(requests), "--rounds", str(rounds)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{ROOT}"},
        capture_output=True,
        text=True,
        check=True,
    )  # fmt: skip


def instructions(src: Path, path: str) -> float:
    """Instructions per round trip on ``path``, by callgrind: (3,000 - 1,000) round trips."""
    counts = []
    for requests in (1000, 3000):
        callgrind = ("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null")
        out = child(src, path, requests, 1, under=callgrind)
        found = re.search(r"Collected : (\d+)", out.stderr)
        if found is None:
            raise RuntimeError(f"no callgrind summary:\n{out.stderr[-2000:]}")
        counts.append(int(found.group(1)))
    return (counts[1] - counts[0]) / 2000


def measure(src: Path, args: argparse.Namespace) -> dict[str, tuple[float, float | None]]:
    """``path -> (CPU µs, instructions)`` per round trip with sockethub from ``src``."""
    cpu: dict[str, float] = json.loads(child(src, "all", args.requests, args.rounds).stdout)
    return {
        path: (cpu[path], instructions(src, path) if args.instructions else None) for path in PATHS
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--instructions", action="store_true", help="count with callgrind")
    parser.add_argument("--src", type=Path, action="append", default=[], help="another src/")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        only = None if args.child == "all" else args.child
        print(json.dumps(asyncio.run(rounds(args.requests, args.rounds, only))))
        return
    if args.instructions and shutil.which("valgrind") is None:
        parser.error("--instructions needs valgrind (apt-get install valgrind)")
    print(f"\nserver cost of one request/reply, in process, fastest of {args.rounds} rounds\n")
    print(
        "| sockethub from | hub µs/rt | raw µs/rt | hub/raw | hub instr/rt | raw instr/rt | hub/raw |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for src in [ROOT / "src", *args.src]:
        got = measure(src.resolve(), args)
        (hub_us, hub_ir), (raw_us, raw_ir) = got["/hub"], got["/raw"]
        counted = (
            f"| {hub_ir:,.0f} | {raw_ir:,.0f} | {hub_ir / raw_ir:.3f}x"
            if hub_ir is not None and raw_ir is not None
            else "| - | - | -"
        )
        label = "this tree" if src == ROOT / "src" else str(src)
        print(f"| {label} | {hub_us:.1f} | {raw_us:.1f} | {hub_us / raw_us:.2f}x {counted} |")


if __name__ == "__main__":
    main()
