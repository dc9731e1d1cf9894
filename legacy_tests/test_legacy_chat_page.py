"""The chat page on the 0.1-style server (``examples/legacy_chat``), in headless Chromium.

It runs the deprecated facade, so it lives here and goes with it in 0.3.

That server has no ``chat:<name>`` topic (no rooms with history): it answers the page's
join with 4404, and the page falls back to ``room:<name>``, where two people still meet
and talk, with the 0.1 events (members / joined / sent).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.demo.browser import ARTIFACTS, ROOT, WAIT_MS, chromium, enter_room, require_chromium
from tests.support import free_port

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@pytest.fixture
def legacy_url() -> Iterator[str]:
    require_chromium()
    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")) if p
    )
    log = (ARTIFACTS / "demo-legacy.log").open("w")
    command = [sys.executable, "-m", "uvicorn", "examples.legacy_chat.app:app"]
    proc = subprocess.Popen(
        [*command, "--port", str(port), "--ws", "websockets-sansio"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, "the legacy chat exited; see artifacts/demo-legacy.log"
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the legacy chat did not come up"
            time.sleep(0.1)
        yield url
    finally:
        proc.kill()
        proc.wait(timeout=10)
        log.close()


def test_the_page_falls_back_to_plain_rooms_on_the_0_1_server(legacy_url: str) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    with chromium() as browser:
        alice = browser.new_context().new_page()
        bob = browser.new_context().new_page()
        errors: list[str] = []
        for page in (alice, bob):
            page.on("pageerror", lambda error: errors.append(str(error)))
        enter_room(alice, legacy_url, "alice", "lobby")
        enter_room(bob, legacy_url, "bob", "lobby")
        alice_log = alice.get_by_test_id("messages")
        expect(alice_log.locator('[data-kind="joined"] .text')).to_have_text(["bob joined"])
        expect(bob.get_by_test_id("member-list").locator("li")).to_have_count(2)
        box = bob.get_by_test_id("message-input")
        box.fill("hello, 0.1")
        box.press("Enter")
        expect(alice_log.locator('[data-kind="message"] .text')).to_have_text(["hello, 0.1"])
        expect(bob.locator('[data-kind="mine"] .text')).to_have_text(["hello, 0.1"])
        for page in (alice, bob):  # the 4404 of the fallback is not shown as an error
            expect(page.locator('[data-kind="error"]')).to_have_count(0)
        assert errors == []
