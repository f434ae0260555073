"""Issue 22 in Debian chromium: an admin pushes an export to the (fake) Hub from the Export tab and reads the one
line that says so; a researcher, who may export files, is not offered the push. Screenshots go to test-artifacts/."""

import io

import pandas as pd
import pytest

from sparse_feedback import formats
from sparse_feedback.formats.cards import DATA_PATH
from tests.appserver import ROOT, USERS, running_app, small_generation
from tests.browser.chromium import browser, signed_in_page  # noqa: F401 (a fixture)
from tests.hub_fixtures import hub_in_process  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]
ARTIFACTS = ROOT / "test-artifacts"


def _setup(store):
    store.create_project_from_generation(small_generation(2, 3), "web", overlap=1)
    store.import_llm_ratings("web", formats.rating_tasks(store.items_frame("web"))
                             .rename(columns={"response": "output"}).assign(rating=3), "judge-z")


def test_an_admin_pushes_an_export_to_the_hub_from_the_export_tab_and_a_researcher_is_not_offered_it(
        browser, hub_in_process, tmp_path):
    from playwright.sync_api import expect

    hub, dialogs = hub_in_process, []
    with running_app(tmp_path, users=USERS + ",res:res-pw:researcher", setup=_setup) as (url, store):
        page = signed_in_page(browser, url, "root", dialogs)
        expect(page.locator("#whoami")).to_contain_text("Signed in as root", timeout=20_000)
        page.get_by_role("tab", name="Export").click()
        expect(page.locator("#export-hub-push")).to_be_visible(timeout=10_000)
        page.get_by_label("Source").click()
        page.get_by_role("option", name="llm", exact=True).click()
        page.locator("#export-hub-repo textarea, #export-hub-repo input").first.fill("tester/web-ratings")
        page.locator("#export-hub-push").click()
        expect(page.locator("#export-message")).to_contain_text("pushed web ratings (llm)", timeout=30_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "hub-export-push.png"), full_page=True)
        rows = pd.read_parquet(io.BytesIO(hub.files("tester/web-ratings")[DATA_PATH]))
        assert len(rows) == 6 and set(rows["rating"]) == {3}
        page.close()

        page = signed_in_page(browser, url, "res", dialogs)
        expect(page.locator("#whoami")).to_contain_text("Signed in as res", timeout=20_000)
        page.get_by_role("tab", name="Export").click()
        expect(page.get_by_role("button", name="Export", exact=True)).to_be_visible(timeout=10_000)
        page.wait_for_timeout(1000)  # the after-sign-in fill has run
        assert not page.locator("#export-hub-push").is_visible()
        page.close()
    assert dialogs == []
