"""The chat demo's recovery on rejoin, in headless Chromium over real processes.

On Redis: alice's page talks to one ``python -m examples.chat --redis URL`` process, bob's
to another, on one redis-server.  Alice's process is killed (SIGKILL); bob says three
things and an announcement is posted while her page is disconnected; her process starts
again on the same port, her page reconnects and rejoins from the last position it saw,
and shows exactly what she missed, marked, in order, once each, then live messages.

In memory: the single server restarts and loses its history (a new epoch), so the page
says some messages may be missing instead of pretending nothing was.

Screenshots go to ``artifacts/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.demo.browser import (
    ARTIFACTS,
    DemoServer,
    chromium,
    demos_on_one_redis,
    enter_room,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

WAIT_MS = 20_000
RECONNECT_WAIT_MS = 40_000  # the page's backoff tops out at 15 s between attempts
GAP = "Some messages may be missing"

# Every line of the log as (kind, missed, text): what a reader sees, in order.
_LOG_JS = """items => items.map(li => [
  li.dataset.kind, li.dataset.missed === "true",
  (li.querySelector(".text") || li).textContent.trim(),
])"""


@pytest.fixture
def two_demos() -> Iterator[tuple[DemoServer, DemoServer]]:
    with demos_on_one_redis("demo-recovery") as pair:
        yield pair


def log(page: Page) -> list[tuple[str, bool, str]]:
    rows: list[Any] = page.get_by_test_id("messages").locator("li").evaluate_all(_LOG_JS)
    return [(str(kind), bool(missed), str(text)) for kind, missed, text in rows]


def say(page: Page, text: str) -> None:
    from playwright.sync_api import expect

    box = page.get_by_test_id("message-input")
    expect(box).to_be_enabled()
    box.fill(text)
    box.press("Enter")


def chat_lines(page: Page) -> list[tuple[str, bool, str]]:
    """The messages, own messages, announcements and recovery markers, in order."""
    kinds = {"message", "mine", "announce", "missed-divider", "gap"}
    return [row for row in log(page) if row[0] in kinds]


def test_a_page_recovers_what_it_missed_while_its_process_was_down(
    two_demos: tuple[DemoServer, DemoServer],
) -> None:
    from playwright.sync_api import expect

    one, two = two_demos
    expect.set_options(timeout=WAIT_MS)
    with chromium() as browser:
        alice = browser.new_context(viewport={"width": 1100, "height": 760}).new_page()
        bob = browser.new_context().new_page()
        errors: list[str] = []
        for page in (alice, bob):
            page.on("pageerror", lambda error: errors.append(str(error)))
        enter_room(alice, one.url, "alice", "lobby")
        enter_room(bob, two.url, "bob", "lobby")
        for page in (alice, bob):
            expect(page.get_by_test_id("member-list").locator("li")).to_have_count(2)
        alice_log = alice.get_by_test_id("messages")
        bob_log = bob.get_by_test_id("messages")

        say(bob, "before the crash")
        expect(alice_log.locator('[data-kind="message"] .text')).to_have_text(["before the crash"])
        say(alice, "alice was here")  # her own message: stored, and seen by her page once
        expect(alice_log.locator('[data-kind="mine"] .text')).to_have_text(["alice was here"])
        expect(bob_log.locator('[data-kind="message"] .text')).to_have_text(["alice was here"])

        one.kill()  # SIGKILL: alice's page loses its connection
        expect(alice.get_by_test_id("status")).to_have_attribute("data-state", "offline")
        missed = ["missed one", "missed two", "missed three"]
        for text in missed:
            say(bob, text)
        expect(bob_log.locator('[data-kind="mine"] .text')).to_have_text(
            ["before the crash", *missed]
        )
        announced = httpx.post(f"{two.url}rooms/lobby/announce", json={"text": "missed news"})
        assert announced.status_code == 200
        expect(bob_log.locator('[data-kind="announce"] .text')).to_have_text(["missed news"])

        one.start()  # the same port; the history is in Redis
        expect(alice.get_by_test_id("banner")).to_be_hidden(timeout=RECONNECT_WAIT_MS)
        expect(alice.get_by_test_id("status")).to_have_attribute("data-state", "online")
        expect(alice_log.locator('[data-missed="true"]')).to_have_count(4)
        expect(alice.get_by_test_id("member-list").locator("li")).to_have_count(2)
        alice.screenshot(path=str(ARTIFACTS / "chat-recovered.png"))

        assert chat_lines(alice) == [
            ("message", False, "before the crash"),
            ("mine", False, "alice was here"),
            ("missed-divider", False, "Missed while you were away: 4 messages"),
            ("message", True, "missed one"),
            ("message", True, "missed two"),
            ("message", True, "missed three"),
            ("announce", True, "missed news"),
        ]
        # Then live again, unmarked, both ways.
        say(bob, "live again")
        expect(alice_log.locator('[data-kind="message"] .text').last).to_have_text("live again")
        say(alice, "I am back")
        expect(bob_log.locator('[data-kind="message"] .text').last).to_have_text("I am back")
        expect(alice_log.locator('[data-kind="mine"] .text').last).to_have_text("I am back")
        assert chat_lines(alice)[-2:] == [
            ("message", False, "live again"),
            ("mine", False, "I am back"),
        ]
        assert [row for row in log(alice) if row[0] == "gap"] == []
        # Bob never left: nothing of his is marked, nothing repeated.
        assert [row for row in chat_lines(bob) if row[1] or row[0] == "missed-divider"] == []
        assert errors == []


def test_after_an_in_memory_restart_the_page_says_messages_may_be_missing(
    demo: DemoServer,
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    with chromium() as browser:
        alice = browser.new_context(viewport={"width": 1100, "height": 760}).new_page()
        bob = browser.new_context().new_page()
        errors: list[str] = []
        for page in (alice, bob):
            page.on("pageerror", lambda error: errors.append(str(error)))
        enter_room(alice, demo.url, "alice", "lobby")
        enter_room(bob, demo.url, "bob", "lobby")
        alice_log = alice.get_by_test_id("messages")
        say(bob, "said before the restart")
        expect(alice_log.locator('[data-kind="message"] .text')).to_have_text(
            ["said before the restart"]
        )
        expect(alice_log.locator('[data-kind="gap"]')).to_have_count(0)

        demo.kill()
        expect(alice.get_by_test_id("status")).to_have_attribute("data-state", "offline")
        demo.start()  # a new process: every room starts a new epoch, nothing to replay
        for page in (alice, bob):
            expect(page.get_by_test_id("banner")).to_be_hidden(timeout=RECONNECT_WAIT_MS)
            notice = page.get_by_test_id("messages").locator('[data-kind="gap"] .text')
            expect(notice).to_have_count(1)
            expect(notice).to_contain_text(GAP)
            expect(page.locator('[data-kind="system"] .text').last).to_have_text("Rejoined #lobby.")
        alice.screenshot(path=str(ARTIFACTS / "chat-history-lost.png"))
        assert alice_log.locator('[data-kind="missed-divider"]').count() == 0

        # The page carries on from the new epoch: a later short absence would recover.
        say(bob, "after the restart")
        expect(alice_log.locator('[data-kind="message"] .text')).to_have_text(
            ["said before the restart", "after the restart"]
        )
        assert errors == []
