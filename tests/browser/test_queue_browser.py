"""The Admin tab's queue strategy section in Debian chromium: an admin sees the next items and why each was chosen,
chooses another strategy, and the reasons follow once its background job has stored the new order."""

import pytest

from sparse_feedback.jobs.selection import run_selection
from tests.appserver import ROOT, running_app
from tests.browser.chromium import browser, signed_in_page  # noqa: F401 (a fixture)
from tests.test_queue_app import _setup as planted

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]


def _setup(store):
    planted(store)
    store.set_queue_strategy("p", "disagreement")
    run_selection(store, "p")


def visible(page, text: str):
    """The first shown element holding ``text`` (the table also keeps hidden copies of its cells)."""
    return page.get_by_text(text).locator("visible=true").first


def test_the_admin_tab_says_why_each_next_item_was_chosen(browser, tmp_path):
    from playwright.sync_api import expect

    dialogs = []
    with running_app(tmp_path, setup=_setup) as (url, store):
        page = signed_in_page(browser, url, "root", dialogs)
        page.set_viewport_size({"width": 1600, "height": 1000})
        expect(page.locator("#whoami")).to_contain_text("Signed in as root", timeout=20_000)
        page.get_by_role("tab", name="Admin", exact=True).click()
        section = page.get_by_text("Next items and why each was chosen")
        expect(section).to_be_visible(timeout=20_000)
        expect(visible(page, "LLM orders disagree ((a) shown first, (b) shown second); LLM ratings 7 vs 3")
               ).to_be_visible(timeout=20_000)
        expect(page.locator("p", has_text="Strategy disagreement: 18 tasks ordered, stored")).to_be_visible()
        (ROOT / "test-artifacts").mkdir(exist_ok=True)
        page.screenshot(path=str(ROOT / "test-artifacts" / "admin-queue.png"), full_page=True)

        page.get_by_label("Strategy").click()
        page.get_by_role("option", name="coverage").click()
        page.get_by_role("button", name="Use this strategy").click()
        expect(page.get_by_text("being computed (job")).to_be_visible(timeout=20_000)
        for _ in range(60):
            if store.queue_strategy("p")["computed_strategy"] == "coverage":
                break
            page.wait_for_timeout(1000)
        page.get_by_role("button", name="Refresh").last.click()
        expect(visible(page, "its instruction has 0 human answer(s)")).to_be_visible(timeout=20_000)
        assert not dialogs
