"""Screens that don't mislead, in Debian chromium: what the public demo opens on and how its tabs read, and what an
admin, a researcher and an annotator's new answers do to the Rate, dashboard, Admin, Import and Export tabs.

Each test walks one browser session and collects every screen that misleads before failing, so one run names all
of them (each is a separate promise of issue 27, item 4)."""

import pandas as pd
import pytest

from sparse_feedback.ui import exports
from tests.appserver import ROOT, USERS, running_app
from tests.browser.chromium import browser, signed_in_page  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]
ARTIFACTS = ROOT / "test-artifacts"
WIDE = {"width": 1600, "height": 1000}  # every tab in the tab bar

TRACES = """(el) => { const p = el.querySelector('.js-plotly-plot');
  return p && p.data ? p.data.map((t) => t.type + ':' + (t.name || '')) : null; }"""
BACKGROUND = "(el) => getComputedStyle(el).backgroundColor"


def _open(page, tab: str, settle_ms: int = 1500) -> None:
    page.get_by_role("tab", name=tab, exact=True).click()
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('.eta-bar, .progress-text, .wrap.pending')",
                           timeout=60_000)
    page.wait_for_timeout(settle_ms)


def _text(page, selector: str) -> str:
    found = page.locator(selector)
    return found.first.inner_text() if found.count() else ""


def _visible(page, selector: str) -> bool:
    return page.locator(selector).first.is_visible()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"screens-{name}.png"), full_page=True)


def test_the_public_demo_opens_on_the_papers_sample_and_its_tabs_do_not_mislead(browser, tmp_path):
    problems = []
    with running_app(tmp_path, users=None, extra_env={"SPARSE_FEEDBACK_PUBLIC": "1"}) as (url, _):
        page = browser.new_page(viewport=WIDE)
        page.goto(url)
        page.get_by_role("tab", name="Rate", exact=True).wait_for(timeout=60_000)
        page.wait_for_timeout(4000)  # the sign-in fills run after load
        project = page.locator("#project input").input_value()
        if project != "paper":
            problems.append(f"10: the public demo opens on {project!r}, not the paper's sample")
        _open(page, "Rate")
        buttons = page.locator("#rate-1, #rate-4, #rate-7")
        colours = [b.evaluate(BACKGROUND) for b in buttons.all()]
        if len(set(colours)) != 1:
            problems.append(f"5: rate buttons 1 / 4 / 7 are drawn {colours} before any answer")
        _open(page, "Consistency")
        headline = _text(page, "#consistency-headline")
        if "56.41 %" not in headline:
            problems.append(f"10: Consistency opens on {headline[:80]!r}, not the paper's 56.41 %")
        if _visible(page, "#consistency-grid") or "Every source pairing: this project has one source" not in headline:
            problems.append("2: a one-cell 'every source pairing' heatmap instead of a sentence")
        _open(page, "Best-of-n", 2500)
        view = _text(page, "#bon-view")
        if "Tie: the reward models pick #1 and #2" not in view or "tie for first" not in view:
            problems.append(f"1: candidates #1 and #2 (one text) read as {view[:300]!r}")
        page.locator("#project input").click()
        page.get_by_role("option", name="demo", exact=True).click()
        page.wait_for_timeout(500)
        _open(page, "Bias", 2500)
        traces = page.locator("#bias-length").evaluate(TRACES)
        if not traces or "bar:LLM · rankings: equal 83 %" not in traces:
            problems.append(f"3: the demo's rankings line at 0 % shows no equal share: {traces}")
        _shot(page, "public-bias")
        page.close()
    assert problems == []


def _answer(store, annotator: str, protocol: str, n: int, choice) -> int:
    """Up to ``n`` answers of ``annotator`` in the demo project; how many were given."""
    for done in range(n):
        task = store.next_task("demo", annotator, protocol)
        if task is None:
            return done
        store.submit(annotator, task.assignment_id, choice, submit_id=task.submit_id)
    return n


def test_staff_see_no_task_until_they_ask_and_dashboards_import_and_export_tell_the_truth(browser, tmp_path):
    problems, dialogs = [], []
    users = USERS + ",res:res-pw:researcher"
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("instruction,input,output1,output2,feedback\nSay hi.,,hi,hello,(a)\nSay hi.,,hi,hey,equal\n"
                     "Say yo.,,yo,yoyo,(b)\n")
    with running_app(tmp_path, users=users) as (url, store):  # the shipped demo projects, LLM feedback only
        root = signed_in_page(browser, url, "root", dialogs)
        root.set_viewport_size(WIDE)
        root.locator("#whoami").filter(has_text="Signed in as root").wait_for(timeout=30_000)
        root.wait_for_timeout(3000)
        res = signed_in_page(browser, url, "res", dialogs)
        res.set_viewport_size(WIDE)
        res.locator("#whoami").filter(has_text="Signed in as res").wait_for(timeout=30_000)
        res.wait_for_timeout(3000)
        held = {(who, p): store.progress("demo", who, p).open for who in ("root", "res")
                for p in ("ratings", "rankings")}
        if any(held.values()):
            problems.append(f"6: opening the app holds tasks for staff: {held}")
        if not _visible(root, "#rate-myself") or "Tasks go to annotators" not in _text(root, "#rate-task"):
            problems.append("6: an admin's Rate tab offers no 'Annotate myself'")
        else:
            root.locator("#rate-myself").click()
            root.wait_for_timeout(1500)
            if store.progress("demo", "root", "ratings").open != 1 or not _text(root, "#rate-response").strip():
                problems.append("6: 'Annotate myself' did not hand the admin a task")

        _open(res, "Consistency")
        _open(res, "Agreement")
        before = _text(res, "#agreement-note")
        rated = _answer(store, "alice", "ratings", 40, 5)  # new answers while the researcher's page is open
        _answer(store, "alice", "rankings", 20, "left")
        _open(res, "Consistency")
        if not _visible(res, "#consistency-grid") or "one source" in _text(res, "#consistency-headline"):
            problems.append("4: Consistency still shows one source after alice's answers")
        _open(res, "Agreement")
        after = _text(res, "#agreement-note")
        if before == after or "1 annotator, 1 LLM judge." not in after:
            problems.append(f"4: Agreement did not refresh on open: {before!r} then {after!r}")
        _shot(res, "researcher-agreement")

        _open(root, "Admin")
        coverage = _text(root, "#admin-coverage")
        if "Each task needs 1 answer (overlap 1)" not in coverage or "1 answers" in coverage:
            problems.append(f"7: the coverage line reads {coverage!r}")
        _open(root, "Import")
        root.locator("input[type=file]").first.set_input_files(str(pairs))
        root.wait_for_timeout(1500)
        root.get_by_role("button", name="Preview", exact=True).first.click()
        root.locator("#import-message").filter(has_text="Read as").wait_for(timeout=20_000)
        message = _text(root, "#import-message")
        if "3 pairs with 3 labels" not in message:
            problems.append(f"8: the Import preview reads {message!r}")
        _open(root, "Export")
        if root.locator("#export-preview-button").count():
            root.locator("#export-preview-button").click()
            root.locator("#export-preview-line").filter(has_text="rows").wait_for(timeout=20_000)
        line, shown = _text(root, "#export-preview-line"), _text(root, "#export-preview")
        written = pd.read_csv(exports.export_file(store, "demo", "ratings", "human", "csv", tmp_path)[0])
        flat = lambda t: " ".join(str(t).split())  # noqa: E731 (a cell shows a line break as a space)
        missing = [t for t in written["output"].head(5) if flat(t) not in flat(shown)]
        if f"The export writes {rated} rows" not in line or len(written) != rated or missing:
            problems.append(f"9: the Export preview reads {line!r}; rows of the file not shown: {missing}")
        _shot(root, "admin-export")
        root.close()
        res.close()
    assert problems == [] and dialogs == []
