"""The screenshot tour: the real app on a fresh data home (the shipped demo projects), every tab a role sees
opened at 1,400 px in headless Debian chromium, a screenshot of each and what reads badly on open.

Used by ``tests/browser/test_tour.py`` (asserts) and ``assets/tour/make_tour.py`` (writes the README's PNGs).
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.appserver import ROOT, running_app
from tests.browser.chromium import CHROMIUM_ARGS

WIDTH = 1400
USERS = "root:root-pw:admin,rita:rita-pw:researcher"
# (role, account or None for an anonymous visitor in public mode)
ROLES = (("admin", "root"), ("researcher", "rita"), ("visitor", None))

# Collected in the page: every table's header and cells, every plot's trace count, error badges.
PROBE = """(panel) => {
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const scroller = (el) => {
    for (let e = el.parentElement; e && e !== panel; e = e.parentElement) {
      if (['auto', 'scroll'].includes(getComputedStyle(e).overflowX)) return e;
    }
    return panel;
  };
  const tables = [...panel.querySelectorAll('table')].filter(visible).map((t) => ({
    label: ((t.closest('.block') || {}).querySelector && (t.closest('.block').querySelector('label, .label') || {}).textContent) || '',
    header: [...t.querySelectorAll('thead th')].map((th) => th.textContent.replace('⋮', '').trim()),
    cells: [...t.querySelectorAll('tbody td')].slice(0, 400).map((td) => td.textContent.trim()),
    overflow: Math.max(0, scroller(t).scrollWidth - scroller(t).clientWidth),
    // Cells whose own text is drawn in a monospace face (Gradio's default for the rows it shows: divs of a
    // virtual body beside the table, which only sizes the columns).
    mono: [...(t.closest('.virtual-table-viewport') || t).querySelectorAll('.virtual-row *, tbody td *')]
      .filter((e) => [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())
        && /mono/i.test(getComputedStyle(e).fontFamily)).length,
  }));
  const plots = [...panel.querySelectorAll('.js-plotly-plot')].filter(visible).map((p) => ({
    label: (p.closest('.block') || p).getAttribute('id') || '', traces: p.data ? p.data.length : 0}));
  const errors = [...panel.querySelectorAll('.error, .toast-body.error')].filter(visible).map((e) => e.innerText);
  const numbers = [...panel.querySelectorAll('input[type=number]')].filter(visible)
    .map((i) => ({label: (i.closest('label') || {}).innerText || '', value: i.value}));
  const buttons = [...panel.querySelectorAll('button')].filter(visible).map((b) => b.innerText.trim());
  const view = panel.querySelector('#bon-view');
  // The text of named blocks further down than the panel's first 4,000 characters reach.
  const named = Object.fromEntries(['crossed-flag', 'crossed-table', 'leaderboard-flag', 'leaderboard-table']
    .map((id) => [id, (panel.querySelector('#' + id) || {}).innerText || '']));
  return {tables, plots, errors, buttons, numbers, width: panel.scrollWidth, client: panel.clientWidth, named,
          bon_view: view ? view.innerText.trim().slice(0, 200) : '', text: panel.innerText.slice(0, 4000)};
}"""


TEAM = ("ana", "ben", "cho")  # simulated annotators of the signed-in tour's demo project


def team_setup(store) -> None:
    """The shipped demo projects, then three simulated annotators who answered every task of ``demo`` (ratings
    near the LLM's, rankings following their own ratings with some noise), so the Agreement tab has people to
    compare. The public tour shows the demo projects as shipped."""
    from sparse_feedback.formats import read_rating_feedback
    from sparse_feedback.store.demo import DEMO_NAME, ensure_demo

    demo = ROOT / "assets" / "demo"
    ensure_demo(store, demo)
    store.set_overlap(DEMO_NAME, len(TEAM))
    llm = read_rating_feedback(demo / "llm_ratings.csv")
    llm_rating = {(r.instruction, r.output): int(r.rating) for r in llm.itertuples()}
    rng = np.random.default_rng(14)
    for annotator in TEAM:
        mine = {}

        def rate(instruction, response):
            key = (instruction, response)
            if key not in mine:
                mine[key] = int(np.clip(llm_rating.get(key, 4) + rng.choice([-1, 0, 0, 1]), 1, 7))
            return mine[key]

        for protocol in ("ratings", "rankings"):
            task = store.next_task(DEMO_NAME, annotator, protocol)
            while task is not None:
                if protocol == "ratings":
                    choice = rate(task.instruction, task.response)
                else:
                    gap = rate(task.instruction, task.left) - rate(task.instruction, task.right)
                    choice = "left" if gap > 0 else "right" if gap < 0 else "equal"
                    if rng.random() < 0.15:
                        choice = str(rng.choice(["left", "right", "equal"]))
                store.submit(annotator, task.assignment_id, choice, submit_id=task.submit_id)
                task = store.next_task(DEMO_NAME, annotator, protocol)
    reading_times(store, DEMO_NAME)


def reading_times(store, project: str, fast_every: int = 40) -> None:
    """Answers submitted at once get reading times (4-40 s, one in ``fast_every`` under 2 s), and answers under
    2 s are flagged, so the Admin tab's Human study panel shows what a real study's would."""
    from sqlalchemy import select, update

    from sparse_feedback.store.schema import annotations

    rng = np.random.default_rng(21)  # its own draws: the answers above stay as they were
    with store.db.write() as conn:
        for n, answer in enumerate(conn.execute(select(annotations.c.id).order_by(annotations.c.id)).scalars()):
            seconds = rng.uniform(0.4, 1.8) if n % fast_every == fast_every - 1 else rng.uniform(4, 40)
            conn.execute(update(annotations).where(annotations.c.id == answer).values(seconds=round(seconds, 1)))
    store.set_study_settings(project, "root", fast_seconds=2)


@dataclass
class Shot:
    role: str
    tab: str
    path: Path | None
    probe: dict = field(default_factory=dict)


def tab_names(page) -> list[str]:
    return [t.inner_text().strip() for t in page.get_by_role("tab").all() if t.is_visible()]


def open_tab(page, name: str, settle_ms: int = 2500) -> dict:
    """Click tab ``name``, wait for the app to go idle, and probe its panel."""
    page.get_by_role("tab", name=name, exact=True).click()
    page.wait_for_timeout(300)
    with contextlib.suppress(Exception):
        page.wait_for_function("() => !document.querySelector('.eta-bar, .progress-text, .wrap.pending')",
                               timeout=60_000)
    page.wait_for_timeout(settle_ms)
    panel = page.locator("[role=tabpanel]:visible").first
    return panel.evaluate(PROBE)


def _pages(browser, role: str, user: str | None, url: str):
    page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
    page.goto(url)
    if user:
        page.locator("input[name=username], input[type=text]").first.fill(user)
        page.locator("input[type=password]").first.fill(f"{user}-pw")
        page.keyboard.press("Enter")
    page.get_by_role("tab", name="Rate", exact=True).wait_for(timeout=60_000)
    page.wait_for_timeout(4000)  # the sign-in fills (project, tabs, dashboards) run after load
    return page


def take(page, role: str, out: Path | None, only: tuple[str, ...] = ()) -> list[Shot]:
    shots = []
    for tab in tab_names(page):
        if only and tab not in only:
            continue
        probe = open_tab(page, tab)
        path = None
        if out is not None:
            path = out / f"{role}-{tab.lower().replace(' ', '-')}.png"
            page.screenshot(path=str(path), full_page=True)
        shots.append(Shot(role, tab, path, probe))
    return shots


# Panels shown opened, beyond the tabs as they open: (role, shot name, its tab, the accordion's elem_id).
PANELS = (("admin", "Human study", "Admin", "study-panel"),)


def take_panels(page, role: str, out: Path, only: tuple[str, ...] = ()) -> list[Shot]:
    """Each of :data:`PANELS` for ``role``: its tab opened, the accordion opened, a screenshot of the accordion."""
    shots = []
    for _, name, tab, elem_id in [p for p in PANELS if p[0] == role and (not only or p[1] in only)]:
        open_tab(page, tab, settle_ms=300)
        panel = page.locator(f"#{elem_id}")
        panel.locator("button.label-wrap").first.click()
        page.wait_for_timeout(2500)
        path = out / f"{role}-{name.lower().replace(' ', '-')}.png"
        panel.screenshot(path=str(path))
        shots.append(Shot(role, name, path))
    return shots


def tour(tmp_path: Path, out: Path | None = None, roles=ROLES, only: tuple[str, ...] = (),
         panels: bool = False) -> list[Shot]:
    """Every tab of every role in ``roles``; screenshots under ``out`` when given (and with ``panels``, of the
    opened :data:`PANELS` too)."""
    exe = shutil.which("chromium")
    if exe is None:
        raise RuntimeError("Debian chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    shots: list[Shot] = []
    signed = [(r, u) for r, u in roles if u]
    public = [(r, u) for r, u in roles if not u]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        try:
            if signed:
                with running_app(tmp_path / "signed", users=USERS, setup=team_setup) as (url, _):
                    for role, user in signed:
                        page = _pages(browser, role, user, url)
                        shots += take(page, role, out, only)
                        shots += take_panels(page, role, out, only) if panels and out is not None else []
            if public:
                with running_app(tmp_path / "public", users=None, extra_env={"SPARSE_FEEDBACK_PUBLIC": "1"}) \
                        as (url, _):
                    for role, _ in public:
                        shots += take(_pages(browser, role, None, url), role, out, only)
        finally:
            browser.close()
    return shots
