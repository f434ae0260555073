"""Debian chromium under Playwright for the browser tests: the launch flags, a fixture, signing in."""

from __future__ import annotations

import shutil

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
