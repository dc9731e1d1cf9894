"""What the Chromium tests of the chat demo share: the demo server, the browser, entering a room.

The demo runs as ``python -m examples.chat --port <free>`` in a subprocess, exactly as the
README tells a newcomer to start it.  Playwright for Python drives Debian's
``/usr/bin/chromium`` (never a downloaded browser).

Without ``/usr/bin/chromium`` a test using these is skipped, or fails when ``CI`` is set:
CI must install it (``apt-get install chromium``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.redis_server import RedisServer, require_redis_server
from tests.support import free_port, require

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 15_000  # how long a page may take to show an expected state


class DemoServer:
    """``python -m examples.chat`` in a subprocess, startable again on the same port."""

    def __init__(self, port: int, *, args: Sequence[str] = (), name: str = "demo-server") -> None:
        self.port = port
        self.args = list(args)
        self.url = f"http://127.0.0.1:{port}/"
        self.proc: subprocess.Popen[str] | None = None
        self.log = ARTIFACTS / f"{name}.log"

    def start(self) -> None:
        env = dict(os.environ)
        paths = [str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        with self.log.open("a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "examples.chat", "--port", str(self.port), *self.args],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        assert self.proc.stdout is not None
        first_line = self.proc.stdout.readline()
        assert self.url in first_line, f"the demo should print its URL first, got {first_line!r}"
        deadline = time.monotonic() + 30
        while True:  # wait until uvicorn answers
            assert self.proc.poll() is None, f"the demo exited; see {self.log}"
            try:
                if httpx.get(self.url, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"the demo did not come up; see {self.log}"
            time.sleep(0.1)

    def kill(self) -> None:
        """Kill the server abruptly (SIGKILL), as a crash or a lost host would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait(timeout=10)
            assert self.proc.stdout is not None
            self.proc.stdout.close()
        self.proc = None


@contextlib.contextmanager
def demos_on_one_redis(name: str) -> Iterator[tuple[DemoServer, DemoServer]]:
    """Two demo processes (``--redis``) on one fresh redis-server, logs ``<name>-1/2``;
    both processes and the server stopped on every path."""
    require_chromium()
    ARTIFACTS.mkdir(exist_ok=True)
    with RedisServer(require_redis_server()) as redis:
        args = ["--redis", redis.url]
        one = DemoServer(free_port(), args=args, name=f"{name}-1")
        two = DemoServer(free_port(), args=args, name=f"{name}-2")
        for server in (one, two):
            server.log.write_text("")
        try:
            one.start()
            two.start()
            yield one, two
        finally:
            one.kill()
            two.kill()


def require_chromium() -> None:
    require(
        CHROMIUM.exists(),
        f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)",
    )


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium through Playwright, closed on every path."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def enter_room(page: Page, url: str, name: str, room: str) -> None:
    """Open the demo at ``url``, join ``room`` as ``name``, and wait until the page says so."""
    from playwright.sync_api import expect

    page.goto(url)
    page.get_by_test_id("name-input").fill(name)
    page.get_by_test_id("room-input").fill(room)
    page.get_by_test_id("join-button").click()
    expect(page.get_by_test_id("status")).to_have_attribute("data-state", "online")
    expect(page.get_by_test_id("current-room")).to_have_text(f"#{room}")


@pytest.fixture
def demo() -> Iterator[DemoServer]:
    """A running demo server (Chromium required first, so nothing starts for a skip)."""
    require_chromium()
    ARTIFACTS.mkdir(exist_ok=True)
    server = DemoServer(free_port())
    server.log.write_text("")
    server.start()
    try:
        yield server
    finally:
        server.kill()
