"""The chat demo on a phone: 390 x 844 CSS pixels (an iPhone 12 to 14), in headless Chromium.

In a busy room (four members, the message list full) the members card with its Leave
button and the header's status must be on screen: inside the viewport, not clipped by a
scrolling ancestor nor covered, and the status on one line, not cut.  The screenshot is
saved in the test's ``tmp_path``.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.demo.browser import WAIT_MS, DemoServer, chromium, enter_room

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

PHONE = {"width": 390, "height": 844}

# Where an element's box lies against the viewport, and whether the element is what the
# page shows at its centre and at the middle of each edge (2 px in): a clipped, covered
# or scrolled-away part fails the hit test.
_ON_SCREEN_JS = """el => {
  const r = el.getBoundingClientRect();
  const inside = r.left >= 0 && r.top >= 0
    && r.right <= window.innerWidth && r.bottom <= window.innerHeight;
  const points = [
    [(r.left + r.right) / 2, (r.top + r.bottom) / 2],
    [(r.left + r.right) / 2, r.top + 2], [(r.left + r.right) / 2, r.bottom - 2],
    [r.left + 2, (r.top + r.bottom) / 2], [r.right - 2, (r.top + r.bottom) / 2],
  ];
  const hidden = points.filter(([x, y]) => {
    const hit = document.elementFromPoint(x, y);
    return !(hit && (hit === el || el.contains(hit)));
  });
  return {inside, hidden, box: [r.left, r.top, r.right, r.bottom]};
}"""

# The status's text as laid out: how many line boxes it takes, and whether it overflows.
_TEXT_LINES_JS = """el => {
  const range = document.createRange();
  range.selectNodeContents(el);
  const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
  return {lines: tops.size, cut: el.scrollWidth > el.clientWidth, text: el.textContent};
}"""


def test_members_card_leave_button_and_status_fit_a_phone(demo: DemoServer, tmp_path: Path) -> None:
    from playwright.sync_api import Locator, expect

    def assert_on_screen(what: str, locator: Locator) -> None:
        seen = locator.evaluate(_ON_SCREEN_JS)
        assert seen["inside"], f"{what} is not inside the 390x844 viewport: {seen['box']}"
        assert not seen["hidden"], f"{what} is clipped or covered at {seen['hidden']}"

    expect.set_options(timeout=WAIT_MS)
    with chromium() as browser:
        phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
        page_errors: list[str] = []
        phone.on("pageerror", lambda error: page_errors.append(str(error)))
        enter_room(phone, demo.url, "alexandra", "lobby")
        for name in ("bob", "carol", "dmitri"):
            enter_room(browser.new_context().new_page(), demo.url, name, "lobby")
        members = phone.get_by_test_id("member-list").locator("li")
        expect(members).to_have_count(4)
        for n in range(12):  # enough to fill the message list on a phone
            response = httpx.post(
                f"{demo.url}rooms/lobby/announce", json={"text": f"Announcement {n}"}
            )
            assert response.status_code == 200
        expect(phone.locator('[data-kind="announce"]')).to_have_count(12)

        phone.screenshot(path=str(tmp_path / "chat-phone-390.png"))

        assert_on_screen("the members card", phone.locator("section.members"))
        assert_on_screen("the Leave button", phone.get_by_test_id("leave-button"))
        assert_on_screen("the header status", phone.get_by_test_id("status"))
        status = phone.get_by_test_id("status").evaluate(_TEXT_LINES_JS)
        assert status == {"lines": 1, "cut": False, "text": "online as alexandra"}
        # The page itself does not scroll sideways.
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert page_errors == []
