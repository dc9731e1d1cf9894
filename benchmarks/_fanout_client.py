"""The client side of ``benchmarks/fanout.py``: groups of real ``websockets`` clients, a
stalled raw client, and the measurement of one run.  Runs in the benchmark's own process,
never in the server's."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import time
from dataclasses import dataclass, field

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

JOIN = json.dumps({"topic": "bench", "event": "join", "payload": None, "ref": "j"})
CLK_TCK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (from ``/proc/<pid>/stat``)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


@dataclass
class Group:
    """``n`` reading clients of one server; ``received`` counts frames over all of them."""

    kind: str
    conns: list[ClientConnection] = field(default_factory=list)
    readers: list[asyncio.Task[None]] = field(default_factory=list)
    received: int = 0
    target: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    async def read(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for _ in ws:
                self.received += 1
                if self.received >= self.target:
                    self.wake.set()

    async def wait(self, target: int, stall_after: float) -> bool:
        """Wait until ``received >= target``; False if no frame came for ``stall_after`` s."""
        last, idle_since = self.received, time.monotonic()
        while self.received < target:
            self.target = target
            self.wake.clear()
            if self.received >= target:
                break
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=0.5)
            except TimeoutError:
                now = time.monotonic()
                if self.received != last:
                    last, idle_since = self.received, now
                elif now - idle_since > stall_after:
                    return False
        return True

    async def close(self) -> None:
        async def close_one(ws: ClientConnection) -> None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 5)

        await asyncio.gather(*(close_one(ws) for ws in self.conns))
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)


async def open_group(port: int, kind: str, n: int, *, join: bool | None = None) -> Group:
    """Connect ``n`` clients to server ``kind`` (``/<kind>/ws``) and wait until each one is
    subscribed: by a hub join when ``join`` (default: for ``kind == "hub"``), else by the
    server's ``"ready"``."""
    if join is None:
        join = kind == "hub"
    group = Group(kind)
    gate = asyncio.Semaphore(100)

    async def one() -> ClientConnection:
        async with gate:
            ws = await connect(
                f"ws://127.0.0.1:{port}/{kind}/ws",
                compression=None,
                ping_interval=None,
                proxy=None,
                open_timeout=60,
                max_size=None,
            )
            if join:
                await ws.send(JOIN)
                ack = json.loads(await ws.recv())
                assert ack["payload"]["status"] == "ok", ack
            else:
                assert await ws.recv() == "ready"
            return ws

    group.conns = list(await asyncio.gather(*(one() for _ in range(n))))
    group.readers = [asyncio.create_task(group.read(ws)) for ws in group.conns]
    return group


class StalledClient:
    """A client that completes the handshake (and the subscription) and then never reads.

    A raw socket with a 4 KiB receive buffer speaking WebSocket through ``websockets``'
    sans-I/O protocol: no library reads ahead for it, so the server's send buffer fills.
    """

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.setblocking(False)

    async def open(self, port: int, kind: str) -> None:
        loop = asyncio.get_running_loop()
        await loop.sock_connect(self.sock, ("127.0.0.1", port))
        proto = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}/{kind}/ws"), max_size=None)
        proto.send_request(proto.connect())
        joined = kind != "hub"
        while True:  # the handshake response, then "ready" or the join's ack
            for data in proto.data_to_send():
                await loop.sock_sendall(self.sock, data)
            data = await loop.sock_recv(self.sock, 4096)
            if not data:
                raise ConnectionError("server closed the stalled client during setup")
            proto.receive_data(data)
            events = proto.events_received()
            if not joined and proto.state is State.OPEN:
                proto.send_text(JOIN.encode())
                joined = True
            if any(getattr(e, "opcode", None) is Opcode.TEXT for e in events):
                return

    def close(self) -> None:
        self.sock.close()


@dataclass
class Result:
    deliveries: int
    elapsed: float
    server_cpu: float
    client_cpu: float
    completed: bool

    @property
    def rate(self) -> float:
        return self.deliveries / self.elapsed

    @property
    def server_us(self) -> float:
        return self.server_cpu / self.deliveries * 1e6

    @property
    def client_us(self) -> float:
        return self.client_cpu / self.deliveries * 1e6


async def run(
    http: httpx.AsyncClient,
    group: Group,
    server_pid: int,
    *,
    messages: int,
    batch: int,
    size: int,
    window: int = 2,
    stall_after: float = 5.0,
    spread: bool = False,
) -> Result:
    """Publish ``messages`` messages in batches of ``batch`` through ``group.kind`` and wait
    until every reader got every one.  At most ``window`` batches are in flight (not yet
    received by all), so a healthy client never falls behind by more than that.  With
    ``spread`` the server publishes one message per event-loop turn.  One warm-up batch
    is not measured."""
    n = len(group.conns)
    url = f"/publish/{group.kind}"
    extra = {"spread": "1"} if spread else {}
    group.received = 0
    await http.post(url, params={"count": batch, "size": size, "start": 0, **extra})
    if not await group.wait(n * batch, stall_after):
        return Result(0, 1.0, 0.0, 0.0, False)
    group.received = 0
    t0 = time.perf_counter()
    s0, c0 = process_cpu(server_pid), time.process_time()
    sent = 0
    completed = True
    while sent < messages:
        behind = n * (sent - (window - 1) * batch)
        if behind > 0 and not await group.wait(behind, stall_after):
            completed = False
            break
        count = min(batch, messages - sent)
        try:
            # A server stuck sending to a stalled client never answers.
            await asyncio.wait_for(
                http.post(url, params={"count": count, "size": size, "start": sent, **extra}),
                stall_after,
            )
        except TimeoutError:
            completed = False
            break
        sent += count
    if completed:
        completed = await group.wait(n * messages, stall_after)
    elapsed = time.perf_counter() - t0
    server_cpu = process_cpu(server_pid) - s0
    client_cpu = time.process_time() - c0
    return Result(n * messages, elapsed, server_cpu, client_cpu, completed)
