"""Start a uvicorn server in a child process for a benchmark, on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def uvicorn_server(
    app: str, *, ws: str, args: tuple[str, ...] = (), src: Path | None = None
) -> Iterator[tuple[int, int]]:
    """Serve the import string ``app`` with ``uvicorn --ws ws``; yield ``(port, pid)``.
    ``src`` replaces this tree's ``src/`` (to measure another revision of sockethub)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
         "--ws", ws, "--log-level", "warning", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{src or ROOT / 'src'}{os.pathsep}{ROOT}"},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"uvicorn {app} --ws {ws} exited with {proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), 0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield port, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
