"""Each role in Debian chromium: what it sees (tabs, controls), what it may do (a refusal is one clear line, never
a red "Error" badge per component), the keyboard and focus rules of the annotation tabs, and the comment, flags,
history and edit flows. Screenshots go to test-artifacts/."""

import re

import pytest

from tests.appserver import ROOT, USERS, running_app, small_generation
from tests.browser.chromium import browser, signed_in_page  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]
ARTIFACTS = ROOT / "test-artifacts"
DASHBOARDS = ["Consistency", "Disagreements", "Agreement", "Bias", "Win-rates"]
ALL_TABS = ["Rate", "Rank", "Import", "Export", "LLM", "Admin", *DASHBOARDS, "Train", "Best-of-n"]
SEES = {
    "root": ALL_TABS,
    "res": ["Rate", "Rank", "Export", *DASHBOARDS, "Train", "Best-of-n"],
    "alice": ["Rate", "Rank"],
    "vic": [*DASHBOARDS, "Best-of-n"],
}
WIDE = {"width": 1600, "height": 1000}  # every tab fits in the tab bar (none folded into its overflow menu)


def _setup(store):
    store.create_project_from_generation(small_generation(2, 3), "web", overlap=1)


def error_badges(page) -> int:
    """Gradio's per-component "Error" badges that are showing (the toast's own title is not one)."""
    return page.evaluate("""() => [...document.querySelectorAll('span.error')].filter(
        e => !e.className.includes('toast') && !e.closest('.hide') && e.offsetParent !== null).length""")


def tabs(page) -> list[str]:
    return [t.inner_text().strip() for t in page.get_by_role("tab").all() if t.is_visible()]


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"roles-{name}.png"), full_page=True)


def _page(browser, url, user, dialogs):
    page = signed_in_page(browser, url, user, dialogs)
    page.set_viewport_size(WIDE)
    return page


def test_each_role_sees_its_tabs_and_a_refusal_is_one_line_without_badges(browser, tmp_path):
    from playwright.sync_api import expect

    users = USERS + ",vic:vic-pw:viewer,res:res-pw:researcher"
    dialogs = []
    with running_app(tmp_path, users=users, setup=_setup) as (url, store):
        for user, expected in SEES.items():
            page = _page(browser, url, user, dialogs)
            expect(page.locator("#whoami")).to_contain_text(f"Signed in as {user}", timeout=20_000)
            expect(page.get_by_role("tab", name=expected[0], exact=True)).to_be_visible()
            page.wait_for_timeout(500)
            assert tabs(page) == expected, user
            _shot(page, user)
            if user in ("root", "res"):  # the audit trail is an admin's: a researcher is not offered it
                page.get_by_role("tab", name="Export").click()
                page.get_by_label("What").click()
                audit = page.get_by_role("option", name="audit trail: every version of every answer")
                expect(page.get_by_role("option", name="trl pairs")).to_be_visible()
                assert audit.count() == (1 if user == "root" else 0), user
                page.keyboard.press("Escape")
                assert error_badges(page) == 0
            if user == "vic":  # no annotation controls at all, and the keys do nothing
                assert not page.locator("#rate-3").is_visible() and not page.locator("#rate-comment").is_visible()
                page.keyboard.press("3")
                page.wait_for_timeout(800)
                assert store.human_ratings("web").empty and error_badges(page) == 0
            page.close()
        assert dialogs == []


def test_enter_moves_focus_to_the_task_and_keys_never_type_or_fire_early(browser, tmp_path):
    from playwright.sync_api import expect

    dialogs = []
    with running_app(tmp_path, users=None, setup=_setup) as (url, store):
        page = browser.new_page(viewport=WIDE)
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(url)
        progress = page.locator("#rate-progress")
        expect(progress).to_contain_text("type your name", timeout=20_000)
        page.locator("body").click(position={"x": 5, "y": 5})
        page.keyboard.press("3")  # no name yet: nothing happens, no badge, no toast
        page.wait_for_timeout(1000)
        assert store.human_ratings("web").empty and error_badges(page) == 0
        # No refusal from the annotation handlers (a dashboard's own failure on open is not this test's subject).
        assert page.locator(".toast-body").filter(has_text=re.compile("name|project|task|answer")).count() == 0

        name = page.locator("#annotator-name textarea, #annotator-name input").first
        name.click()
        name.fill("sam")
        page.keyboard.press("Enter")
        expect(progress).to_contain_text("sam · ratings: 0 done")
        expect(page.locator("#rate-task")).to_be_focused()
        page.keyboard.press("3")
        expect(progress).to_contain_text("1 done")
        assert name.input_value() == "sam"  # the "3" answered the task, it did not join the name

        comment = page.locator("#rate-comment textarea, #rate-comment input").first
        comment.click()
        page.keyboard.type("4 stars would be kind")  # typed into the comment, not a rating
        page.wait_for_timeout(500)
        expect(progress).to_contain_text("1 done")
        page.keyboard.press("Escape")
        expect(page.locator("#rate-task")).to_be_focused()
        page.locator("#rate-flags").get_by_text("Unclear").click()
        page.keyboard.press("5")  # a key works after ticking a flag
        expect(progress).to_contain_text("2 done")
        expect(comment).to_have_value("")
        rows = store.human_ratings("web", "sam")
        assert rows[["rating", "comment", "flags"]].values.tolist() == [[3, "", ""], [5, "4 stars would be kind",
                                                                                       "unclear"]]
        assert error_badges(page) == 0 and dialogs == []
        _shot(page, "keyboard-focus")


def test_an_annotator_edits_an_earlier_answer_and_the_old_version_is_kept(browser, tmp_path):
    from playwright.sync_api import expect

    dialogs = []
    def setup(store):
        _setup(store)
        store.create_project_from_generation(small_generation(1, 2), "zz-other", overlap=1)

    with running_app(tmp_path, setup=setup) as (url, store):
        page = _page(browser, url, "alice", dialogs)
        progress = page.locator("#rate-progress")
        expect(progress).to_contain_text("0 done", timeout=20_000)
        page.locator("body").click(position={"x": 5, "y": 5})
        for n, key in enumerate("26", start=1):
            page.keyboard.press(key)
            expect(progress).to_contain_text(f"{n} done")

        page.get_by_text("Your answers: see and edit").first.click()
        expect(page.locator("#rate-history-note")).to_contain_text("2 answers")
        pick = page.get_by_label("Answer to edit")
        pick.click()
        page.get_by_role("option").filter(has_text="· 2 ·").click()
        expect(page.locator("#rate-history-item")).to_contain_text("Question number")
        page.locator("#rate-history-choice").get_by_text("7", exact=True).click()
        page.keyboard.press("3")  # keys never answer the task from inside the edit form
        page.locator("#rate-history-flags").get_by_text("Harmful").click()
        page.locator("#rate-history-comment textarea, #rate-history-comment input").first.fill("misread it at first")
        page.locator("#rate-history-save").click()
        expect(page.locator("#rate-history-message")).to_contain_text("Saved as version 2")
        expect(progress).to_contain_text("2 done")
        _shot(page, "history-edit")

        assert sorted(store.human_ratings("web", "alice")["rating"]) == [6, 7]
        trail = store.audit_trail("web")
        assert trail[["value", "version", "current"]].values.tolist() == [["2", 1, False], ["6", 1, True],
                                                                           ["7", 2, True]]
        assert trail["comment"].tolist()[-1] == "misread it at first" and trail["flags"].tolist()[-1] == "harmful"

        page.locator("#rate-history-save").click()  # a second click changes nothing
        expect(page.locator("#rate-history-message")).to_contain_text("Nothing changed")
        assert len(store.audit_trail("web")) == 3 and error_badges(page) == 0 and dialogs == []

        page.locator("#project input").click()  # another project: its (no) answers, an empty form
        page.get_by_role("option", name="zz-other", exact=True).click()
        expect(page.locator("#rate-history-note")).to_contain_text("No answers yet")
        expect(page.locator("#rate-history-item")).not_to_contain_text("Question number")
        assert error_badges(page) == 0 and dialogs == []


def test_a_public_visitor_browses_and_annotates_only_in_the_sandbox(browser, tmp_path):
    from playwright.sync_api import expect

    env = {"SPARSE_FEEDBACK_PUBLIC": "1", "SPARSE_FEEDBACK_PUBLIC_PROJECTS": "web"}
    dialogs = []
    with running_app(tmp_path, users=None, setup=_setup, extra_env=env) as (url, store):
        page = browser.new_page(viewport=WIDE)
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(url)
        expect(page.locator("#whoami")).to_contain_text("Public demo", timeout=20_000)
        progress = page.locator("#rate-progress")
        expect(progress).to_contain_text("0 done")
        assert tabs(page) == ["Rate", "Rank", *DASHBOARDS, "Best-of-n"]
        assert not page.locator("#annotator-name").is_visible()
        page.locator("#rate-comment textarea, #rate-comment input").first.fill("just trying")
        page.locator("#rate-4").click()
        expect(progress).to_contain_text("1 done")
        sandbox = store.human_ratings("web (sandbox)")
        assert sandbox[["rating", "comment"]].values.tolist() == [[4, "just trying"]]
        assert store.human_ratings("web").empty
        page.get_by_text("Your answers: see and edit").first.click()
        expect(page.locator("#rate-history-note")).to_contain_text("1 answer")
        assert error_badges(page) == 0 and dialogs == []
        _shot(page, "visitor")
