"""Shared test helpers: free ports and real uvicorn servers on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import uvicorn

ROOT = Path(__file__).resolve().parent.parent


def require(available: bool, reason: str) -> None:
    """Skip the test with ``reason`` when a system tool it needs is missing, except in CI
    (``CI`` set), where a missing tool means a broken install: then the test fails."""
    if available:
        return
    import pytest

    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    """Block until something accepts TCP connections on ``port`` (or fail)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


@contextlib.contextmanager
def uvicorn_thread(
    app: object, *, ws: str = "websockets-sansio", port: int | None = None, **config: object
) -> Iterator[int]:
    """Serve ``app`` with real uvicorn in a background thread; yield the port (``port``,
    or a free one)."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,  # type: ignore[arg-type]
            host="127.0.0.1",
            port=port,
            ws=ws,
            log_level="warning",
            lifespan="on",
            **config,  # type: ignore[arg-type]
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@contextlib.contextmanager
def uvicorn_process(
    app: str,
    *,
    port: int | None = None,
    env: dict[str, str] | None = None,
    ws: str = "websockets-sansio",
    args: Sequence[str] = (),
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """Serve the import string ``app`` ("pkg.mod:app") with uvicorn in a child process;
    ``args`` are more uvicorn options (a later option wins over an earlier one)."""
    port = port or free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--ws",
            ws,
            "--log-level",
            "warning",
            *args,
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}", **(env or {})},
    )
    try:
        wait_for_port(port)
        yield port, proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[Any]) -> None:
    """Terminate ``proc`` and wait for it; kill it if it is still alive after 10 s."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
