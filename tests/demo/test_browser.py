"""The chat demo as a person sees it: real uvicorn, two pages in headless Chromium.

The demo runs as ``python -m examples.chat --port <free>`` in a subprocess, exactly as the
README tells a newcomer to start it.  Playwright for Python drives Debian's
``/usr/bin/chromium`` (never a downloaded browser).  Screenshots go to ``artifacts/``.

Without ``/usr/bin/chromium`` the test is skipped, or fails when ``CI`` is set: CI must
install it (``apt-get install chromium``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from tests.support import free_port, require

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
RECONNECT_WAIT_MS = 40_000  # the page's backoff tops out at 15 s between attempts

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


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


@pytest.fixture
def demo() -> Iterator[DemoServer]:
    require_chromium()  # before starting anything
    ARTIFACTS.mkdir(exist_ok=True)
    server = DemoServer(free_port())
    server.log.write_text("")
    server.start()
    try:
        yield server
    finally:
        server.kill()


def require_chromium() -> None:
    require(
        CHROMIUM.exists(),
        f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)",
    )


def test_two_people_chat_and_survive_a_server_restart(demo: DemoServer) -> None:
    from playwright.sync_api import Page, ViewportSize, expect, sync_playwright

    def enter(page: Page, name: str, room: str) -> None:
        page.goto(demo.url)
        page.get_by_test_id("name-input").fill(name)
        page.get_by_test_id("room-input").fill(room)
        page.get_by_test_id("join-button").click()
        expect(page.get_by_test_id("status")).to_have_attribute("data-state", "online")
        expect(page.get_by_test_id("current-room")).to_have_text(f"#{room}")

    def say(page: Page, text: str) -> None:
        box = page.get_by_test_id("message-input")
        expect(box).to_be_enabled()
        box.fill(text)
        box.press("Enter")

    def members(page: Page) -> list[str]:
        names = (
            page.get_by_test_id("member-list")
            .locator("li")
            .evaluate_all("items => items.map(li => li.dataset.user)")
        )
        return [str(name) for name in names]

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            size: ViewportSize = {"width": 1100, "height": 720}
            alice = browser.new_context(viewport=size).new_page()
            bob = browser.new_context(viewport=size).new_page()
            page_errors: list[str] = []  # uncaught exceptions in the page's JavaScript
            for page in (alice, bob):
                page.on("pageerror", lambda error: page_errors.append(str(error)))

            # Both join the lobby; alice sees bob arrive, bob sees who is in.
            enter(alice, "alice", "lobby")
            enter(bob, "bob", "lobby")
            alice_log = alice.get_by_test_id("messages")
            bob_log = bob.get_by_test_id("messages")
            expect(alice_log.locator('[data-kind="joined"] .text')).to_have_text(["bob joined"])
            expect(bob.get_by_test_id("member-list").locator("li")).to_have_count(2)
            assert members(bob) == ["alice", "bob"]
            expect(alice.get_by_test_id("member-list").locator("li")).to_have_count(2)

            # A message from bob shows up on alice's page, and as bob's own on his.
            say(bob, "Hello from bob — ça va?")
            expect(alice_log.locator('[data-kind="message"] .text')).to_have_text(
                ["Hello from bob — ça va?"]
            )
            expect(bob_log.locator('[data-kind="mine"] .text')).to_have_text(
                ["Hello from bob — ça va?"]
            )
            expect(bob_log.locator('[data-kind="message"]')).to_have_count(0)
            say(alice, "Hi bob! Try the announce endpoint.")
            expect(bob_log.locator('[data-kind="message"] .text')).to_have_text(
                ["Hi bob! Try the announce endpoint."]
            )

            # A server-side publish from the HTTP endpoint reaches both pages.
            response = httpx.post(
                f"{demo.url}rooms/lobby/announce", json={"text": "Demo day at 3 pm"}
            )
            assert response.status_code == 200
            for page in (alice, bob):
                expect(page.locator('[data-kind="announce"] .text')).to_have_text(
                    ["Demo day at 3 pm"]
                )
            alice.screenshot(path=str(ARTIFACTS / "chat-alice.png"))
            bob.screenshot(path=str(ARTIFACTS / "chat-bob.png"))

            # The server dies: both pages say so and count down to a reconnect.
            demo.kill()
            for page in (alice, bob):
                expect(page.get_by_test_id("banner")).to_be_visible()
                expect(page.get_by_test_id("banner-text")).to_contain_text(
                    "Disconnected — reconnecting"
                )
                expect(page.get_by_test_id("status")).to_have_attribute("data-state", "offline")
            alice.screenshot(path=str(ARTIFACTS / "chat-disconnected.png"))

            # It comes back on the same port: the pages reconnect and rejoin by themselves.
            demo.start()
            for page in (alice, bob):
                expect(page.get_by_test_id("banner")).to_be_hidden(timeout=RECONNECT_WAIT_MS)
                expect(page.get_by_test_id("status")).to_have_attribute("data-state", "online")
                expect(page.get_by_test_id("member-list").locator("li")).to_have_count(2)
                expect(page.locator('[data-kind="system"] .text').last).to_have_text(
                    "Rejoined #lobby."
                )
            say(alice, "We are back.")
            expect(bob_log.locator('[data-kind="message"] .text').last).to_have_text("We are back.")
            alice.screenshot(path=str(ARTIFACTS / "chat-reconnected.png"))

            # Leaving is seen by the other side.
            bob.get_by_test_id("leave-button").click()
            expect(alice_log.locator('[data-kind="left"] .text').last).to_have_text("bob left")
            expect(alice.get_by_test_id("member-list").locator("li")).to_have_count(1)
            expect(bob.get_by_test_id("current-room")).to_have_text("Not in a room")
            assert page_errors == []
        finally:
            browser.close()
