"""The researcher tabs in the real app, driven in headless Debian chromium: the consistency heatmap
renders, and clicking a disagreement shows the pair with its raw judge answers. Screenshots go to
test-artifacts/."""

import shutil

import pytest
from dash_files import generation_of, judge_order_rows

from sparse_feedback.analysis.synthetic import synthetic_feedback
from tests.appserver import ROOT, running_app

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def _setup(store):
    frames = synthetic_feedback(n_instructions=4, n_responses=4, annotators=())
    store.create_project_from_generation(generation_of(frames["llm_ratings"]), "study")
    store.import_llm_ratings("study", frames["llm_ratings"], "judge-model")
    store.import_llm_rankings("study", judge_order_rows(frames["llm_rankings"]), "judge-model")


@pytest.mark.slow
def test_researcher_tabs_render_and_the_explorer_opens_a_pair(tmp_path):
    exe = shutil.which("chromium")
    if exe is None:
        pytest.fail("Debian chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with running_app(tmp_path, setup=_setup) as (url, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.locator("input[name=username], input[type=text]").first.fill("root")
        page.locator("input[type=password]").first.fill("root-pw")
        page.keyboard.press("Enter")
        page.get_by_role("tab", name="Consistency").click()
        page.locator("#consistency-show").click()
        expect(page.locator("#consistency-headline")).to_contain_text("over 24 pairs", timeout=30_000)
        page.wait_for_selector("#consistency-heatmap .main-svg", timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "dash-consistency.png"), full_page=True)

        page.get_by_role("tab", name="Disagreements").click()
        page.locator("#disagree-find").click()
        expect(page.locator("#disagree-info")).to_contain_text("page 1 of", timeout=30_000)
        page.locator("#disagree-table [role=gridcell]").nth(3).click()  # the first row's instruction
        detail = page.locator("#disagree-detail")
        expect(detail).to_contain_text("raw_answer_ab", timeout=30_000)
        expect(detail).to_contain_text("Output (")
        page.screenshot(path=str(ARTIFACTS / "dash-disagreement.png"), full_page=True)
        browser.close()
