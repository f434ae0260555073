"""The app in Debian chromium (headless, Playwright): sign in, rate and rank with the keyboard, see the
LLM's verdict, reload and keep progress, hostile text inert. Screenshots go to test-artifacts/."""

import pytest

from sparse_feedback import formats
from tests.appserver import ROOT, small_generation
from tests.browser.chromium import browser, rating_as_alice  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]
ARTIFACTS = ROOT / "test-artifacts"


def _setup(store):
    store.create_project_from_generation(small_generation(2, 3, xss=True), "web", overlap=1)
    gen = store.items_frame("web")
    store.import_llm_ratings("web", formats.rating_tasks(gen).rename(columns={"response": "output"}).assign(rating=3), "judge-x")
    ranks = formats.ranking_tasks(gen).rename(columns={"response1": "output1", "response2": "output2"})
    store.import_llm_rankings("web", ranks.assign(feedback="(a)"), "judge-x")


@pytest.mark.slow
def test_annotate_with_the_keyboard_in_chromium(browser, tmp_path):
    from playwright.sync_api import expect

    with rating_as_alice(browser, tmp_path, _setup, timeout=20_000) as (page, store, dialogs):
        progress = page.locator("#rate-progress")

        # Hostile text: shown as typed, nothing executed, no element injected.
        response = page.locator("#rate-response")
        expect(response).to_contain_text('<script>alert("xss")</script>')
        expect(response).to_contain_text("onerror")
        assert response.locator("script, img, iframe").count() == 0
        assert page.locator("a[href^='javascript']").count() == 0
        page.screenshot(path=str(ARTIFACTS / "01-rate-xss-inert.png"), full_page=True)

        for n, key in enumerate("567", start=1):
            page.keyboard.press(key)
            expect(progress).to_contain_text(f"{n} done")
        expect(page.locator("#rate-result")).to_contain_text("LLM (judge-x)")
        expect(page.locator("#rate-result")).to_contain_text("You: 7/7")
        page.screenshot(path=str(ARTIFACTS / "02-rated-three-with-llm.png"), full_page=True)
        assert store.human_ratings("web", "alice")["rating"].tolist() == [5, 6, 7]

        page.get_by_role("tab", name="Rank").click()
        rank_progress = page.locator("#rank-progress")
        expect(rank_progress).to_contain_text("0 done")
        page.locator("body").click(position={"x": 5, "y": 5})
        page.keyboard.press("ArrowLeft")
        expect(rank_progress).to_contain_text("1 done")
        expect(page.locator("#rank-result")).to_contain_text("LLM (judge-x")
        page.screenshot(path=str(ARTIFACTS / "03-ranked-with-llm.png"), full_page=True)
        ranked = store.human_rankings("web", "alice")
        assert len(ranked) == 1 and ranked["feedback"].iloc[0] in ("(a)", "(b)")

        page.reload()
        expect(page.locator("#rate-progress")).to_contain_text("3 done", timeout=20_000)
        page.screenshot(path=str(ARTIFACTS / "04-after-reload.png"), full_page=True)
        page.keyboard.press("u")  # undo works from the keyboard too
        expect(page.locator("#rate-progress")).to_contain_text("2 done")
        assert dialogs == [], f"a dialog fired: {dialogs}"
