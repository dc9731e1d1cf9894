"""Fixtures for the Phoenix suites: the official phoenix.js client, installed once.

The client is the npm package ``phoenix`` at the exact version pinned in
``tests/phoenix/package.json`` / ``package-lock.json``, with ``ws`` as its transport.  It is
installed into ``tests/phoenix/node_modules`` (gitignored) by ``npm ci`` the first time a
test needs it.  Without ``node``/``npm`` those tests fail when ``CI`` is set, else skip.
"""

from __future__ import annotations

import contextlib
import json
import queue
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import require

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "driver.mjs"
WAIT = 15.0
"""Seconds to wait for an expected event before failing (a deadlock guard, not a timing
assertion: every wait ends as soon as the event arrives)."""


def _unavailable(reason: str) -> None:
    require(False, reason)


@pytest.fixture(scope="session")
def node() -> str:
    """The ``node`` binary, with ``tests/phoenix/node_modules`` installed."""
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        _unavailable(
            "node and npm are needed to run the phoenix.js client (apt install nodejs npm)"
        )
    assert node is not None and npm is not None
    if not (HERE / "node_modules" / "phoenix" / "package.json").exists():
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            _unavailable(f"npm ci failed in {HERE}:\n{done.stdout}\n{done.stderr}")
    return node


class NodeClient:
    """One ``node driver.mjs`` process: send it commands, wait for the events it prints.

    Every event is kept in :attr:`events`, in the order the client observed it.
    """

    def __init__(self, node: str, driver: Path = DRIVER) -> None:
        self.proc = subprocess.Popen(
            [node, str(driver)],
            cwd=HERE,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.events: list[dict[str, Any]] = []
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._used: set[int] = set()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.wait(ev="ready")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(json.loads(line))
        self._queue.put(None)

    def send(self, op: str, **fields: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        self.proc.stdin.flush()

    def wait(
        self, predicate: Callable[[dict[str, Any]], bool] | None = None, **match: Any
    ) -> dict[str, Any]:
        """The first event, not returned by an earlier ``wait``, that has all the ``match``
        fields (and satisfies ``predicate``); waits for it if it has not arrived yet."""

        def ok(event: dict[str, Any]) -> bool:
            return all(event.get(k) == v for k, v in match.items()) and (
                predicate is None or predicate(event)
            )

        for i, event in enumerate(self.events):
            if i not in self._used and ok(event):
                self._used.add(i)
                return event
        while True:
            try:
                item = self._queue.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError(
                    f"no event matching {match} within {WAIT}s; saw {self.events}"
                ) from None
            if item is None:
                stderr = self.proc.stderr.read() if self.proc.stderr else ""
                raise AssertionError(f"the node driver exited; saw {self.events}\n{stderr}")
            if item.get("ev") == "fatal":
                raise AssertionError(f"the node driver failed: {item}")
            self.events.append(item)
            if ok(item):
                self._used.add(len(self.events) - 1)
                return item

    def mark_seen(self) -> None:
        """Make every event received so far unavailable to later ``wait`` calls (for
        waiting on a state that an earlier event may already have shown)."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)
                break
            self.events.append(item)
        self._used.update(range(len(self.events)))

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.send("exit")
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


@pytest.fixture
def phoenix_js(node: str) -> Iterator[NodeClient]:
    """A phoenix.js driver process (see ``driver.mjs``)."""
    client = NodeClient(node)
    try:
        yield client
    finally:
        client.close()
