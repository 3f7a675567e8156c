"""Headless Chromium from Debian, driven by Playwright (never a downloaded browser)."""

import shutil

import pytest

from tests.live_server import LiveServer, separate_database

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def demo_server():
    database_url = separate_database("browser")
    server = LiveServer(database_url, demo=True).wait(timeout=240)
    server.database_url = database_url  # for fixtures that add to the demo (tests/browser/showcase.py)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()
