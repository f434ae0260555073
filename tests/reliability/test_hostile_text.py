"""Hostile instructions and responses in Debian chromium: scripts, event handlers, ``javascript:`` links and
HTML inside markdown show as text and never run; a 1 MB single line does not freeze the page."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from sparse_feedback.ui.render import LONG_RUN
from tests.appserver import ROOT
from tests.browser.chromium import browser, rating_as_alice  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.reliability, pytest.mark.browser, pytest.mark.timeout(240)]
ARTIFACTS = ROOT / "test-artifacts"
HOSTILE = [
    '<script>alert("script")</script> after script',
    '<img src=x onerror="alert(\'img\')"> after img',
    '[click me](javascript:alert("link")) and <a href="javascript:alert(\'a\')">anchor</a> after links',
    '**bold** <iframe src="javascript:alert(\'frame\')"></iframe> <svg onload=alert("svg")></svg> '
    '<details open ontoggle=alert("details")>x</details> [x](JaVaScRiPt:alert("case")) after html',
]
MEGA_LINE = "Z" * 1_000_000  # one line, no spaces: the worst case for wrapping and markdown


def _setup(store):
    generation = pd.DataFrame([
        ("Rate this <script>alert('instruction')</script> **carefully**", "<img src=x onerror=alert('input')>",
         HOSTILE),
        ("A long one", "", [MEGA_LINE, "short and plain"]),
    ], columns=["instruction", "input", "responses"], dtype=object)
    store.create_project_from_generation(generation, "hostile", overlap=1)


def _responsive(page, bound: float = 2.0) -> float:
    """Seconds for a round trip into the page's JavaScript; the page is frozen if this exceeds ``bound``."""
    start = time.monotonic()
    assert page.evaluate("() => 1 + 1") == 2
    took = time.monotonic() - start
    assert took < bound, f"page took {took:.1f} s to answer"
    return took


@pytest.mark.slow
def test_hostile_text_renders_inert_and_a_megabyte_line_does_not_freeze_the_page(browser, tmp_path):
    from playwright.sync_api import expect

    with rating_as_alice(browser, tmp_path, _setup) as (page, store, dialogs):
        progress, response = page.locator("#rate-progress"), page.locator("#rate-response")
        panel = page.locator(".sf-text")
        expect(panel.first).to_contain_text("<script>alert('instruction')</script>")
        for n, text in enumerate(HOSTILE):
            tail = text.rsplit(" after ", 1)[1]
            expect(response).to_contain_text(f"after {tail}")
            assert panel.locator("script, img, iframe, svg, details, object, embed").count() == 0, text
            assert page.locator("[onerror], [onload], [ontoggle]").count() == 0, text
            hrefs = page.locator(".sf-text a").evaluate_all("els => els.map(e => e.getAttribute('href') || '')")
            assert not any(h.strip().lower().startswith("javascript") for h in hrefs), hrefs
            if n == 0:
                expect(response).to_contain_text('<script>alert("script")</script>')
            page.screenshot(path=str(ARTIFACTS / f"hostile-{n + 1}.png"))
            start = time.monotonic()
            page.keyboard.press("4")
            expect(progress).to_contain_text(f"{n + 1} done", timeout=60_000)


        # The megabyte line: shown (cut for display), and the page still answers and takes a click.
        expect(response).to_contain_text("more characters not shown", timeout=60_000)
        shown_after = time.monotonic() - start
        expect(response).to_contain_text("Z" * LONG_RUN)
        assert shown_after < 5, f"the megabyte line took {shown_after:.1f} s to show"
        took = _responsive(page)
        page.screenshot(path=str(ARTIFACTS / "hostile-megabyte-line.png"))
        start = time.monotonic()
        page.locator("#rate-3").click()
        expect(progress).to_contain_text("5 done", timeout=10_000)
        click_took = time.monotonic() - start
        _responsive(page)

        page.get_by_role("tab", name="Rank").click()
        left, right = page.locator("#rank-left-text"), page.locator("#rank-right-text")
        expect(left).to_contain_text("after", timeout=10_000)
        assert page.locator(".sf-text").locator("script, img, iframe, svg, details").count() == 0
        assert dialogs == [], f"a dialog fired: {dialogs}"
        assert len(store.human_ratings("hostile", "alice")) == 5
    print(f"1 MB line shown in {shown_after * 1000:.0f} ms; round trip after it: {took * 1000:.0f} ms; "
          f"click to the next item: {click_took * 1000:.0f} ms")
