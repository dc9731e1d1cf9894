"""A throwaway ``redis-server`` on a free loopback port, for tests and benchmarks.

Nothing here is mocked: :class:`RedisServer` runs Debian's (or any) ``redis-server``
binary with persistence off, waits until it answers ``PING``, and can kill it and bring
it back *on the same port* so that fault-tolerance tests can take Redis away from a live
bus and give it back.

:func:`require_redis_server` is the policy for a missing binary: under CI (env ``CI`` set)
the test fails, so a broken CI image cannot silently skip the Redis suite; on a developer
machine the test is skipped with a reason saying what to install.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support import free_port, require

__all__ = ["RedisServer", "find_redis_server", "free_port", "require_redis_server"]

_MISSING = (
    "redis-server was not found on PATH; the Redis bus tests need a real server "
    "(Debian/Ubuntu: apt-get install redis-server)"
)


def find_redis_server() -> str | None:
    """Path of the ``redis-server`` binary on PATH, or None."""
    return shutil.which("redis-server")


def require_redis_server() -> str:
    """Return the binary's path; fail under CI, skip elsewhere, when it is missing."""
    binary = find_redis_server()
    require(binary is not None, _MISSING)
    assert binary is not None
    return binary


def _ping(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One ``redis-server`` process bound to 127.0.0.1 on a fixed port.

    ``start()`` launches it and returns once it answers PING (or raises after
    ``startup_timeout`` seconds with the server's log).  ``kill()`` sends SIGKILL, the
    closest thing to a crash or a network cut: clients see their sockets reset.
    ``stop()`` terminates gracefully.  ``restart()`` brings a stopped server back on the
    *same* port, the way a real Redis restart looks to its clients.
    """

    def __init__(self, binary: str, port: int | None = None) -> None:
        self.binary = binary
        self.port = port if port is not None else free_port()
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="sockethub-redis-")
        self._log = Path(self._dir.name) / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (benchmarks read its CPU time)."""
        return self._proc.pid if self.running and self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, startup_timeout: float = 10.0) -> None:
        if self.running:
            return
        deadline = time.monotonic() + startup_timeout
        while True:
            self._launch()
            while time.monotonic() < deadline:
                if _ping(self.port):
                    return
                if self._proc is not None and self._proc.poll() is not None:
                    break  # exited: typically the port is still held; retry below
                time.sleep(0.02)
            if time.monotonic() >= deadline:
                self.kill()
                raise RuntimeError(
                    f"redis-server on port {self.port} did not answer PING within "
                    f"{startup_timeout}s; log:\n{self._read_log()}"
                )
            time.sleep(0.1)

    def _launch(self) -> None:
        with open(self._log, "ab") as log:
            self._proc = subprocess.Popen(
                [
                    self.binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    self._dir.name,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def kill(self) -> None:
        """SIGKILL the server (a crash: clients' sockets are reset) and reap it."""
        self._end(signal.SIGKILL)

    def stop(self) -> None:
        """Terminate the server gracefully and reap it."""
        self._end(signal.SIGTERM)

    def restart(self) -> None:
        """Kill (if running) and start again on the same port."""
        self.kill()
        self.start()

    def close(self) -> None:
        """Stop the server and remove its working directory."""
        self.stop()
        self._dir.cleanup()

    def _end(self, sig: int) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def _read_log(self) -> str:
        try:
            return self._log.read_text(errors="replace")[-4000:]
        except OSError:
            return "(no log)"

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
