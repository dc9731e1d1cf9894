"""Facts for the README's "Deploying": ping floods and compressed messages, per ws implementation.

Usage::

    PYTHONPATH=src:. .venv/bin/python -m benchmarks.deploy_facts [--pings 200000]
                                                                 [--inflated-mib 12]

Linux only (memory is read from ``/proc/<pid>/status``).  Every row is a real uvicorn
process (``--ws <impl>``, default settings unless the row says otherwise) serving the
hardening app, ``tests/hardening/served.py`` (a hub with the default 64 KiB
``max_frame_bytes``).  Two attacks, one table each:

* **Ping flood** (``--rounds`` runs each; the outcome varies between runs): a raw client completes the handshake and sends ``--pings`` ping frames
  (125-byte payload each) as fast as TCP takes them, never reading.  The server answers
  every ping with a pong; a server that applies backpressure stops reading when its pongs
  cannot be written, so the client's send stalls.  Columns: pings TCP accepted within
  the time limit, the server's RSS growth (VmRSS) and peak (VmHWM) growth, in MiB.
* **Deflate bomb**: a ``websockets`` client with permessage-deflate sends one text
  message of ``--inflated-mib`` MiB of the same byte (a few KiB compressed).  Columns:
  the close code the client got and the server's peak RSS growth, with uvicorn's
  default ``--ws-max-size`` (16 MiB), with ``--ws-max-size 65536`` (the hub's limit), and
  with that and ``--ws-per-message-deflate false`` (the message then goes uncompressed).
* **Connection cap**: with ``--limit-concurrency 2``, how many of 4 WebSocket
  connections opened one after the other (and held) were accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import socket
import time
from pathlib import Path

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from benchmarks._uvicorn import uvicorn_server

APP = "tests.hardening.served:app"
IMPLEMENTATIONS = ["websockets-sansio", "wsproto", "websockets"]
MIB = 1024 * 1024


def memory(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def handshake(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # pongs back up at once
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    return sock


def ping_flood(ws: str, pings: int, seconds: float) -> tuple[int, float, float]:
    # A masked frame with an all-zero mask: the payload goes as is.
    frame = bytes((0x89, 0x80 | 125)) + b"\0\0\0\0" + b"p" * 125
    chunk = frame * 1000
    with uvicorn_server(APP, ws=ws) as (port, pid):
        time.sleep(0.5)
        rss0, hwm0 = memory(pid)
        sock = handshake(port)
        sock.settimeout(1.0)
        sent = 0
        deadline = time.monotonic() + seconds
        try:
            while sent < pings and time.monotonic() < deadline:
                sock.sendall(chunk)
                sent += 1000
        except (TimeoutError, OSError):
            pass  # the server stopped reading: backpressure
        time.sleep(1.0)  # let the server process what it read
        rss1, hwm1 = memory(pid)
        sock.close()
    return sent, rss1 - rss0, hwm1 - hwm0


async def deflate_bomb(ws: str, inflated: int, args: tuple[str, ...]) -> tuple[str, float]:
    with uvicorn_server(APP, ws=ws, args=args) as (port, pid):
        await asyncio.sleep(0.5)
        _, hwm0 = memory(pid)
        async with connect(f"ws://127.0.0.1:{port}/ws", max_size=None) as client:
            extensions = [e.name for e in client.protocol.extensions]
            try:
                await client.send("x" * inflated)
                while True:
                    await asyncio.wait_for(client.recv(), 10)
            except (ConnectionClosed, TimeoutError):
                pass
            code = str(client.close_code)
        await asyncio.sleep(0.3)
        _, hwm1 = memory(pid)
    if "permessage-deflate" not in extensions:
        code += " (not compressed)"
    return code, hwm1 - hwm0


async def connection_cap(ws: str, limit: int, attempts: int) -> int:
    with uvicorn_server(APP, ws=ws, args=("--limit-concurrency", str(limit))) as (port, _):
        held = []
        for _ in range(attempts):
            try:
                held.append(await connect(f"ws://127.0.0.1:{port}/ws"))
            except Exception:  # refused: what the cap is for
                pass
        for client in held:
            await client.close()
    return len(held)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pings", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3, help="ping floods per implementation")
    parser.add_argument("--inflated-mib", type=int, default=12)
    parser.add_argument("--ws", action="append", default=None)
    args = parser.parse_args()
    impls = args.ws or IMPLEMENTATIONS

    print(f"\nPing flood: {args.pings} pings of 125 bytes, never reading (limit {args.seconds}s)\n")
    print("| --ws | run | pings accepted by TCP | server RSS growth MiB | server peak growth MiB |")
    print("|---|---:|---:|---:|---:|")
    for ws in impls:
        for run in range(1, args.rounds + 1):
            sent, rss, hwm = ping_flood(ws, args.pings, args.seconds)
            print(f"| {ws} | {run} | {sent} | {rss:.1f} | {hwm:.1f} |")

    inflated = args.inflated_mib * MIB
    print(f"\nDeflate bomb: one {args.inflated_mib} MiB text message, permessage-deflate\n")
    print("| --ws | flags | close code | server peak growth MiB |")
    print("|---|---|---:|---:|")
    rows: list[tuple[str, ...]] = [
        (),
        ("--ws-max-size", "65536"),
        ("--ws-max-size", "65536", "--ws-per-message-deflate", "false"),
    ]
    for ws in impls:
        for flags in rows:
            code, hwm = asyncio.run(deflate_bomb(ws, inflated, flags))
            print(f"| {ws} | {' '.join(flags) or 'defaults'} | {code} | {hwm:.1f} |")

    print("\nConnection cap: --limit-concurrency 2, 4 WebSocket connections held\n")
    print("| --ws | connections accepted |")
    print("|---|---:|")
    for ws in impls:
        print(f"| {ws} | {asyncio.run(connection_cap(ws, 2, 4))} of 4 |")


if __name__ == "__main__":
    main()
