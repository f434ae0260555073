"""Adjudicating a disagreement in Debian chromium (a researcher selects a pair, enters a label with a reason, and
the store gets a new ``adjudicated`` row under their signed-in name), and through gradio_client (a researcher
limited to one project is refused on another)."""

import pytest

from sparse_feedback.store.demo import ensure_demo
from tests.appserver import ROOT, running_app
from tests.browser.chromium import browser, signed_in_page  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]
USERS = "root:root-pw:admin,res:res-pw:researcher:demo"
A, B = "ratings · LLM", "rankings · LLM"


def _setup(store):
    ensure_demo(store, ROOT / "assets" / "demo")


def test_a_researcher_adjudicates_a_selected_pair_in_the_browser_and_is_refused_elsewhere(browser, tmp_path):
    from gradio_client import Client
    from playwright.sync_api import expect

    with running_app(tmp_path, users=USERS, setup=_setup) as (url, store):
        page = signed_in_page(browser, url, "res", [])
        page.set_viewport_size({"width": 1400, "height": 1000})
        page.get_by_role("tab", name="Disagreements", exact=True).click()
        expect(page.locator("#disagree-info")).to_contain_text("rows", timeout=60_000)
        page.locator("#disagree-table [role=gridcell]").nth(3).click()  # the first row's instruction
        expect(page.locator("#disagree-detail")).to_contain_text("Not adjudicated yet", timeout=30_000)
        form = page.locator("#disagree-adjudication")
        form.get_by_label("enter a label").check()
        form.get_by_label("(b) output 2 is better").check()
        form.get_by_label("Reason").fill("output 2 answers the question")
        page.locator("#disagree-adjudicate").click()
        expect(page.locator("#disagree-decided")).to_contain_text("Adjudicated as (b) (entered)", timeout=30_000)
        decided = store.adjudicated_rankings("demo")
        assert decided[["adjudicator", "accepted", "reason"]].values.tolist() == [
            ["res", "entered", "output 2 answers the question"]]
        ARTIFACTS = ROOT / "test-artifacts"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "adjudication.png"), full_page=True)

        client = Client(url, auth=("res", "res-pw"), verbose=False)
        args = ["", A, B, "", 0, 1, "judgement A vs B", False, 0, "accept A's label", None, "checked"]
        with pytest.raises(Exception, match="not one of yours"):
            client.predict("", "paper", *args[1:], api_name="/adjudicate")
        message, *_ = client.predict("", "demo", *args[1:], api_name="/adjudicate")
        assert message.startswith("Adjudicated as")  # the same pair decided again: a second row revising the first
        assert len(store.adjudication_trail("demo")) == 2 and store.adjudicated_rankings("demo")["accepted"].tolist() \
            == [A]
        assert store.adjudicated_rankings("paper").empty
