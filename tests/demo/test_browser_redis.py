"""The chat demo on the Redis bus, two processes behind two ports, two pages in Chromium.

alice's page talks to one ``python -m examples.chat --redis URL`` process, bob's to
another, both on one redis-server: each page lists both members and gets the other's
messages.  Then bob's process is killed (SIGKILL): alice's page shows bob gone within
the presence bound (6 s by default), with no restart of anything.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.demo.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, DemoServer, demos_on_one_redis

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

WAIT_MS = 20_000
BOUND_S = 6.0  # RedisPresence's default: dead_after 5 s + heartbeat_interval 1 s


@pytest.fixture
def two_demos() -> Iterator[tuple[DemoServer, DemoServer]]:
    with demos_on_one_redis("demo-redis") as pair:
        yield pair


def test_members_span_two_processes_and_a_killed_ones_users_leave(
    two_demos: tuple[DemoServer, DemoServer],
) -> None:
    from playwright.sync_api import Page, expect, sync_playwright

    one, two = two_demos

    def enter(page: Page, url: str, name: str) -> None:
        page.goto(url)
        page.get_by_test_id("name-input").fill(name)
        page.get_by_test_id("room-input").fill("lobby")
        page.get_by_test_id("join-button").click()
        expect(page.get_by_test_id("status")).to_have_attribute("data-state", "online")

    def members(page: Page) -> list[str]:
        items = page.get_by_test_id("member-list").locator("li")
        return [str(u) for u in items.evaluate_all("lis => lis.map(li => li.dataset.user)")]

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            alice = browser.new_context().new_page()
            bob = browser.new_context().new_page()
            errors: list[str] = []
            for page in (alice, bob):
                page.on("pageerror", lambda error: errors.append(str(error)))
            enter(alice, one.url, "alice")
            enter(bob, two.url, "bob")
            for page in (alice, bob):
                expect(page.get_by_test_id("member-list").locator("li")).to_have_count(2)
                assert members(page) == ["alice", "bob"]
            alice_log = alice.get_by_test_id("messages")
            expect(alice_log.locator('[data-kind="joined"] .text')).to_have_text(["bob joined"])

            bob.get_by_test_id("message-input").fill("hello across processes")
            bob.get_by_test_id("message-input").press("Enter")
            expect(alice_log.locator('[data-kind="message"] .text')).to_have_text(
                ["hello across processes"]
            )
            alice.screenshot(path=str(ARTIFACTS / "chat-redis-alice.png"))

            two.kill()  # SIGKILL: bob's process cleans nothing up
            killed = time.monotonic()
            expect(alice.get_by_test_id("member-list").locator("li")).to_have_count(1)
            took = time.monotonic() - killed
            assert members(alice) == ["alice"]
            expect(alice_log.locator('[data-kind="left"] .text').last).to_have_text("bob left")
            print(f"\nbob left alice's page {took:.1f}s after his process was killed")
            assert took < BOUND_S + 10  # a deadlock guard, not a speed claim
            alice.screenshot(path=str(ARTIFACTS / "chat-redis-after-kill.png"))
            assert errors == []
        finally:
            browser.close()
