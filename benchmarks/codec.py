"""Codec benchmark: the json codec vs the orjson codec, and the publish path.

    PYTHONPATH=src:. .venv/bin/python -m benchmarks.codec            # ~3 minutes
    PYTHONPATH=src:. .venv/bin/python -m benchmarks.codec --quick    # ~1 minute

Two payloads: a chat message (about 200 bytes of JSON) and a dashboard tick (about 10 KB:
series of timestamped floats), both in :mod:`benchmarks._codec_server`.

1. **In process** (no sockets): per codec, the µs of encoding the payload, of a hub's
   publish (``BusMessage.encode`` once, then the broadcast frame of each protocol spliced
   around it), of what the publish cost before payloads were encoded at publish time
   (the whole frame encoded per protocol), and of decoding an inbound frame carrying the
   payload.  Rounds interleave the codecs; each cell is the best of the rounds (the
   least disturbed by other processes).
2. **Fan-out over uvicorn**: one server process serves a hub per codec
   (``/json/ws``, ``/orjson/ws``); N real ``websockets`` clients join each; the run
   publishes batches of 20 through ``hub.publish`` (``benchmarks/_fanout_client.run``)
   and reports deliveries/s and server CPU µs per delivery, rounds interleaving the two
   hubs (the order alternates).

Every ratio compares figures measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx

from benchmarks._codec_server import CHAT, TICK, payload
from benchmarks._fanout_client import Result, open_group, run
from benchmarks._uvicorn import uvicorn_server
from sockethub.bus.base import BusMessage
from sockethub.codec import Codec, JSONCodec, OrjsonCodec
from sockethub.protocols import EnvelopeProtocol, PhoenixProtocol

SIZES = {"chat (~200 B)": CHAT, "tick (~10 KB)": TICK}


# -- 1. in process ----------------------------------------------------------------------------


def operations(codec: Codec, value: Any) -> dict[str, Callable[[], object]]:
    envelope = EnvelopeProtocol().with_codec(codec)
    phoenix = PhoenixProtocol().with_codec(codec)
    inbound = codec.encode({"topic": "room:1", "event": "say", "payload": value})

    def publish_one() -> object:
        return envelope.broadcast(BusMessage.encode(codec, "room:1", "msg", value))

    def publish_both() -> object:
        message = BusMessage.encode(codec, "room:1", "msg", value)
        return envelope.broadcast(message), phoenix.broadcast(message)

    def before_one() -> object:
        return codec.encode({"topic": "room:1", "event": "msg", "payload": value})

    def before_both() -> object:
        return (
            codec.encode({"topic": "room:1", "event": "msg", "payload": value}),
            codec.encode([None, None, "room:1", "msg", value]),
        )

    return {
        "encode the payload": lambda: codec.encode(value),
        "publish, 1 protocol: encode once + splice": publish_one,
        "publish, 1 protocol: whole frame (before)": before_one,
        "publish, 2 protocols: encode once + splice": publish_both,
        "publish, 2 protocols: frame per protocol (before)": before_both,
        "decode an inbound frame": lambda: codec.decode(inbound),
    }


def per_call_us(func: Callable[[], object], budget: float) -> float:
    """µs per call of ``func``, timed over about ``budget`` seconds."""
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            func()
        elapsed = time.perf_counter() - t0
        if elapsed >= budget:
            return elapsed / n * 1e6
        n *= 2 if elapsed < budget / 8 else max(2, int(budget / elapsed) + 1)


def in_process(rounds: int, budget: float) -> None:
    codecs: dict[str, Codec] = {"json": JSONCodec(), "orjson": OrjsonCodec()}
    for label, size in SIZES.items():
        value = payload(size, 1)
        ops = {name: operations(codec, value) for name, codec in codecs.items()}
        names = list(ops["json"])
        times: dict[tuple[str, str], list[float]] = {}
        for r in range(rounds):
            order = list(codecs) if r % 2 == 0 else list(reversed(codecs))
            for op in names:
                for codec in order:
                    times.setdefault((codec, op), []).append(per_call_us(ops[codec][op], budget))
        med = {key: min(v) for key, v in times.items()}
        text = codecs["json"].encode(value)
        print(f"\n## {label}: {len(text.encode())} bytes of JSON, µs per call (best of "
              f"{rounds} rounds)\n")  # fmt: skip
        print("| operation | json µs | orjson µs | json/orjson |")
        print("|---|---|---|---|")
        for op in names:
            j, o = med["json", op], med["orjson", op]
            print(f"| {op} | {j:.2f} | {o:.2f} | {j / o:.2f}x |")
        print("\n| publish path | json: before µs | after µs | after/before "
              "| orjson: before µs | after µs | after/before |")  # fmt: skip
        print("|---|---|---|---|---|---|---|")
        for protocols in ("1 protocol", "2 protocols"):
            after = next(k for k in names if k.startswith(f"publish, {protocols}: encode once"))
            before = next(k for k in names if k.startswith(f"publish, {protocols}:") and k != after)
            cells = []
            for codec in codecs:
                b, a = med[codec, before], med[codec, after]
                cells.append(f"{b:.2f} | {a:.2f} | {a / b:.2f}x")
            print(f"| {protocols} | {' | '.join(cells)} |")
        sys.stdout.flush()


# -- 2. fan-out over uvicorn ---------------------------------------------------------------


async def fan_out(ws: str, sizes: tuple[int, ...], rounds: int, deliveries: int) -> None:
    kinds = ("json", "orjson")
    with uvicorn_server(
        "benchmarks._codec_server:app", ws=ws, args=("--no-access-log", "--backlog", "4096")
    ) as (port, pid):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
            print(f"\n## fan-out over uvicorn --ws {ws}: hub.publish in batches of 20 "
                  f"(median of {rounds} rounds)\n")  # fmt: skip
            print("| payload | N | deliveries/s json | orjson | orjson/json "
                  "| server CPU µs/delivery json | orjson | json/orjson |")  # fmt: skip
            print("|---|---|---|---|---|---|---|---|")
            for n in sizes:
                groups = {kind: await open_group(port, kind, n, join=True) for kind in kinds}
                for label, size in SIZES.items():
                    messages = max(20, deliveries // n // 20 * 20)
                    results: dict[str, list[Result]] = {kind: [] for kind in kinds}
                    for r in range(rounds):
                        for kind in kinds if r % 2 == 0 else kinds[::-1]:
                            results[kind].append(
                                await run(http, groups[kind], pid, messages=messages,
                                          batch=20, size=size, window=4)
                            )  # fmt: skip
                    rate = {k: statistics.median(x.rate for x in v) for k, v in results.items()}
                    cpu = {k: statistics.median(x.server_us for x in v) for k, v in results.items()}
                    print(
                        f"| {label} | {n} | {rate['json']:,.0f} | {rate['orjson']:,.0f} "
                        f"| {rate['orjson'] / rate['json']:.2f}x | {cpu['json']:.2f} "
                        f"| {cpu['orjson']:.2f} | {cpu['json'] / cpu['orjson']:.2f}x |"
                    )
                    sys.stdout.flush()
                for group in groups.values():
                    await group.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, shorter runs")
    parser.add_argument("--ws", default="websockets-sansio", help="uvicorn --ws")
    parser.add_argument("--n", type=int, action="append", help="subscribers (repeatable)")
    parser.add_argument("--no-fanout", action="store_true", help="the in-process part only")
    args = parser.parse_args()
    rounds = 3 if args.quick else 5
    print(f"# codec benchmark ({'quick' if args.quick else 'full'}); {os.cpu_count()} CPUs")
    started = time.perf_counter()
    in_process(rounds, 0.05 if args.quick else 0.2)
    if not args.no_fanout:
        sizes = tuple(args.n) if args.n else (20, 200)
        asyncio.run(fan_out(args.ws, sizes, rounds, 10_000 if args.quick else 40_000))
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
