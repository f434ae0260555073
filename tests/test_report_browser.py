"""report.html opened from disk (file://) in headless Debian chromium: every plot renders, no network used."""

import shutil
from pathlib import Path

import pytest
from dash_files import report_args, report_inputs

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.mark.slow
def test_report_plots_render_in_chromium_from_a_file(cli, tmp_path):
    exe = shutil.which("chromium")
    if exe is None:
        pytest.fail("Debian chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    out = tmp_path / "report.html"
    assert cli(*report_args(report_inputs(tmp_path), out)).returncode == 0
    ARTIFACTS.mkdir(exist_ok=True)
    requests = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("request", lambda r: requests.append(r.url))
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(out.as_uri())
        page.wait_for_selector(".plotly .main-svg", timeout=30_000)
        plots = page.locator(".js-plotly-plot")
        n_plots = plots.count()
        rendered = page.locator(".js-plotly-plot .main-svg").count()
        heat_cells = page.locator(".js-plotly-plot .hm, .js-plotly-plot image").count()
        bars = page.locator(".js-plotly-plot .bars .point").count()
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        browser.close()
    assert not errors
    assert n_plots >= 8 and rendered >= n_plots  # each plot draws at least one svg layer
    assert heat_cells >= 1 and bars >= 4
    assert all(u.startswith(("file:", "data:", "blob:", "about:")) for u in requests), requests
