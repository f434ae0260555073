"""A crowd participant in Debian chromium: enters by a study link (public Space mode), answers a quota that includes
gold tasks, sees the completion code and is sent on to the completion URL; the same participant id continues
instead of restarting; a wrong token is refused with no session. With password accounts the link skips the login
page (which a visitor without one still gets). Screenshots go to test-artifacts/."""

import pytest

from sparse_feedback.store.schema import rating_tasks
from sparse_feedback.study import links
from tests.appserver import ROOT, small_generation
from tests.browser.chromium import browser  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]
ARTIFACTS = ROOT / "test-artifacts"
QUOTA = 6


def _setup(store):
    store.create_project_from_generation(small_generation(12, 2), "crowd", overlap=2)
    with store.db.read() as conn:
        first = conn.execute(rating_tasks.select().order_by(rating_tasks.c.id).limit(4)).all()
    store.set_gold("crowd", "boss", [("ratings", t.id, "5") for t in first])
    store.set_study_settings("crowd", "boss", gold_every=3)


def test_a_participant_enters_by_link_answers_the_quota_with_gold_and_gets_the_code(browser, tmp_path):
    from playwright.sync_api import expect

    from tests.appserver import running_app

    ARTIFACTS.mkdir(exist_ok=True)
    env = {"SPARSE_FEEDBACK_PUBLIC": "1", "SPARSE_FEEDBACK_PUBLIC_PROJECTS": "crowd"}
    with running_app(tmp_path, users=None, setup=_setup, extra_env=env) as (url, store):
        done_url = f"{url.rstrip('/')}/?completed=yes"  # the platform's completion page, here the app itself
        token = links.create_link(store, "crowd", "boss", QUOTA, "C0DE42", done_url).token
        entry = f"{url.rstrip('/')}/?study={token}&PROLIFIC_PID=pp-123&STUDY_ID=st&SESSION_ID=se"
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(entry)
        progress = page.locator("#rate-progress")
        expect(progress).to_contain_text(f"Study: 0 of {QUOTA}", timeout=30_000)
        expect(page.locator("#whoami")).to_contain_text("Welcome to the study")
        assert not page.get_by_role("tab", name="Import").is_visible()
        for n in range(1, 4):
            page.locator("#rate-4").click()
            expect(progress).to_contain_text(f"Study: {n} of {QUOTA}")
        page.screenshot(path=str(ARTIFACTS / "study-01-participant-halfway.png"), full_page=True)
        page.close()

        again = browser.new_page(viewport={"width": 1280, "height": 900})
        again.goto(entry)  # the same participant id: continues, never restarts
        progress = again.locator("#rate-progress")
        expect(progress).to_contain_text(f"Study: 3 of {QUOTA}", timeout=30_000)
        for n in range(4, QUOTA + 1):
            again.locator("#rate-4").click()
            expect(progress).to_contain_text(f"Study: {n} of {QUOTA}")
        task = again.locator("#rate-task")
        expect(task).to_contain_text("Your completion code is C0DE42")
        again.screenshot(path=str(ARTIFACTS / "study-02-completion-code.png"), full_page=True)
        again.wait_for_url(done_url, timeout=15_000, wait_until="commit")
        again.close()

        answers = store.study_answers("crowd")
        assert len(answers) == QUOTA and answers["annotator"].nunique() == 1
        assert answers["gold"].notna().sum() == QUOTA // 3  # one gold in every three served
        assert "pp-123" not in answers["annotator"].iloc[0]  # the participant id is never the shown name
        assert store.study_links("crowd")["completed"].tolist() == [1]

        wrong = browser.new_page(viewport={"width": 1280, "height": 900})
        wrong.goto(f"{url.rstrip('/')}/?study=not-the-token&PROLIFIC_PID=pp-999")
        expect(wrong.locator("#whoami")).to_contain_text("not valid", timeout=30_000)
        assert not wrong.locator("#rate-progress").is_visible()
        wrong.screenshot(path=str(ARTIFACTS / "study-03-wrong-token.png"), full_page=True)
        assert len(store.study_answers("crowd")) == QUOTA and len(store.study_links("crowd")) == 1
        assert store.study_links("crowd")["participants"].tolist() == [1]  # no session for the refused one


def test_with_password_accounts_a_study_link_skips_the_login_page_and_a_second_entry_continues(browser, tmp_path):
    from playwright.sync_api import expect

    from tests.appserver import running_app

    ARTIFACTS.mkdir(exist_ok=True)
    with running_app(tmp_path, setup=_setup) as (url, store):  # password accounts (alice, root, ...)
        token = links.create_link(store, "crowd", "boss", QUOTA, "PW0RD1").token
        entry = f"{url.rstrip('/')}/?study={token}&PROLIFIC_PID=pp-77&STUDY_ID=st&SESSION_ID=se"
        visitor = browser.new_page(viewport={"width": 1280, "height": 900})
        visitor.goto(url)  # no link: the login page, and nothing of the app
        expect(visitor.locator("input[type=password]").first).to_be_visible(timeout=30_000)
        assert not visitor.locator("#rate-progress").is_visible()
        visitor.close()
        for done in (0, 2):  # a fresh browser each time: the link alone brings the participant back
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(entry)
            progress = page.locator("#rate-progress")
            expect(progress).to_contain_text(f"Study: {done} of {QUOTA}", timeout=30_000)
            assert page.locator("input[type=password]").count() == 0
            expect(page.locator("#whoami")).to_contain_text("Welcome to the study")
            assert not page.get_by_role("tab", name="Admin").is_visible()
            for n in (done + 1, done + 2):
                page.locator("#rate-4").click()
                expect(progress).to_contain_text(f"Study: {n} of {QUOTA}")
            if done == 0:
                page.screenshot(path=str(ARTIFACTS / "study-04-password-mode-participant.png"), full_page=True)
            page.close()
        answers = store.study_answers("crowd")
        assert len(answers) == 4 and answers["annotator"].nunique() == 1
        assert answers["annotator"].iloc[0] == links.participant_name(1, "pp-77")
