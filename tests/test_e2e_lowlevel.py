"""End to end: the low-level route on real uvicorn with a real ``websockets`` client.

Each test runs under uvicorn's ``websockets-sansio`` and ``wsproto`` implementations.
The served app is ``examples.echo``'s route plus two test-only routes (one with a required
query parameter, one whose endpoint raises).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK, InvalidStatus

from examples import echo
from sockethub import ISocket, WebSocketRoute
from tests.support import ROOT, free_port, stop, uvicorn_thread, wait_for_port

pytestmark = pytest.mark.e2e

WS_IMPLS = ["websockets-sansio", "wsproto"]


class Boom(Exception):
    pass


need = WebSocketRoute("/ws/sum/{a:int}")


@need.endpoint
async def add(sock: ISocket, a: int, b: int, scale: float = 1.0) -> None:
    await sock.accept()
    await sock.send_json({"sum": (a + b) * scale})
    await sock.close()


boom = WebSocketRoute("/ws/boom")


@boom.endpoint
async def explode(sock: ISocket) -> None:
    await sock.accept()
    text = await sock.receive_text()
    raise Boom(f"endpoint failed on {text!r}")


class ErrorLog(logging.Handler):
    """Collects uvicorn's error records; ``seen`` is set by the first one."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.seen.set()


@pytest.fixture(scope="module", params=WS_IMPLS)
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, ErrorLog]]:
    """``(base ws:// URL, uvicorn error log)`` of a real uvicorn serving the test app."""
    app = Starlette(routes=[echo.route, need, boom])
    with uvicorn_thread(app, ws=request.param) as port:
        # uvicorn configures its loggers when it starts: attach the handler afterwards
        errors = ErrorLog()
        logger = logging.getLogger("uvicorn.error")
        logger.addHandler(errors)
        try:
            yield f"ws://127.0.0.1:{port}", errors
        finally:
            logger.removeHandler(errors)


async def test_echo_with_path_and_query_params(server: tuple[str, ErrorLog]) -> None:
    base, _ = server
    async with connect(f"{base}/ws/echo/blue%20room?shout=yes&times=2") as ws:
        assert json.loads(await ws.recv()) == {"room": "blue room", "shout": True, "times": 2}
        await ws.send("héllo")
        assert [await ws.recv(), await ws.recv()] == ["HÉLLO", "HÉLLO"]
        await ws.send("again")
        assert await ws.recv() == "AGAIN"


async def test_echo_defaults(server: tuple[str, ErrorLog]) -> None:
    base, _ = server
    async with connect(f"{base}/ws/echo/r1") as ws:
        assert json.loads(await ws.recv()) == {"room": "r1", "shout": False, "times": 1}
        for text in ("a", "Bb", "", "ü" * 1000):
            await ws.send(text)
            assert await ws.recv() == text


async def test_int_path_param_and_required_query_param(server: tuple[str, ErrorLog]) -> None:
    base, _ = server
    async with connect(f"{base}/ws/sum/40?b=2&scale=0.5") as ws:
        assert json.loads(await ws.recv()) == {"sum": 21.0}
        with pytest.raises(ConnectionClosedOK):
            await ws.recv()
        assert ws.close_code == 1000


async def test_missing_param_refuses_with_http_400(server: tuple[str, ErrorLog]) -> None:
    base, _ = server
    with pytest.raises(InvalidStatus) as info:
        async with connect(f"{base}/ws/sum/40"):
            pass
    response = info.value.response
    assert response.status_code == 400
    assert response.body == b"missing required parameter 'b'"


async def test_unconvertible_param_refuses_with_http_400(server: tuple[str, ErrorLog]) -> None:
    base, _ = server
    with pytest.raises(InvalidStatus) as info:
        async with connect(f"{base}/ws/echo/r?times=many"):
            pass
    assert info.value.response.status_code == 400
    assert info.value.response.body == b"parameter 'times' must be int, got 'many'"


async def test_endpoint_error_closes_1011_and_reaches_the_server_log(
    server: tuple[str, ErrorLog],
) -> None:
    base, errors = server
    errors.records.clear()
    errors.seen.clear()
    async with connect(f"{base}/ws/boom") as ws:
        await ws.send("go")
        with pytest.raises(ConnectionClosedError):
            await ws.recv()
    assert ws.close_code == 1011
    assert ws.close_reason == "Internal Server Error"
    assert await asyncio.to_thread(errors.seen.wait, 15)
    failures = [r for r in errors.records if r.exc_info and isinstance(r.exc_info[1], Boom)]
    assert failures, [r.getMessage() for r in errors.records]
    assert "endpoint failed on 'go'" in str(failures[0].exc_info[1])  # type: ignore[index]


async def test_client_close_is_not_a_server_error(server: tuple[str, ErrorLog]) -> None:
    base, errors = server
    errors.records.clear()
    async with connect(f"{base}/ws/echo/r") as ws:
        await ws.recv()
    # the server handles the disconnect; a later connection proves it is still serving
    async with connect(f"{base}/ws/echo/r2") as ws:
        assert json.loads(await ws.recv())["room"] == "r2"
    assert [r for r in errors.records if r.levelno >= logging.ERROR] == []


@contextlib.contextmanager
def demo_process(port: int, ws_impl: str) -> Iterator[str]:
    """Run ``python -m examples.echo``; yield the first line it prints."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "examples.echo", "--port", str(port), "--ws", ws_impl],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first_line = proc.stdout.readline()
        wait_for_port(port)
        yield first_line
    finally:
        stop(proc)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.mark.parametrize("ws_impl", WS_IMPLS)
async def test_demo_command_serves_and_prints_its_url(ws_impl: str) -> None:
    """``python -m examples.echo`` prints its URL and serves it."""
    port = free_port()
    with demo_process(port, ws_impl) as first_line:
        assert f"ws://127.0.0.1:{port}/ws/echo/" in first_line
        async with connect(f"ws://127.0.0.1:{port}/ws/echo/demo?shout=1") as ws:
            assert json.loads(await ws.recv())["shout"] is True
            await ws.send("hi")
            assert await ws.recv() == "HI"
