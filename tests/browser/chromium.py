"""Debian chromium under Playwright for the browser tests: the launch flags, a fixture, signing in."""

from __future__ import annotations

import shutil
from contextlib import contextmanager

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    exe = shutil.which("chromium")
    if exe is None:
        pytest.fail("Debian chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def signed_in_page(browser, url: str, user: str, dialogs: list):
    """A new page signed in as ``user`` (password ``<user>-pw``); any dialog is recorded and dismissed."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url)
    page.locator("input[name=username], input[type=text]").first.fill(user)
    page.locator("input[type=password]").first.fill(f"{user}-pw")
    page.keyboard.press("Enter")
    return page


@contextmanager
def rating_as_alice(browser, tmp_path, setup, timeout: float = 30_000):
    """The app on ``tmp_path`` (``setup(store)`` first) with alice signed in and her first rating task shown;
    yields (page, store, dialogs). Screenshots go to ``test-artifacts/``, made here."""
    from playwright.sync_api import expect

    from tests.appserver import ROOT, running_app

    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    dialogs: list = []
    with running_app(tmp_path, setup=setup) as (url, store):
        page = signed_in_page(browser, url, "alice", dialogs)
        expect(page.locator("#rate-progress")).to_contain_text("0 done", timeout=timeout)
        yield page, store, dialogs
